"""The `license` check: every train and validation dataset carries one of the exact license strings NeMo Gym accepts."""

from __future__ import annotations

from gym_conform.checks.base import CheckFailed
from gym_conform.checks.context import FolderContext
from gym_conform.checks.static_config import is_license_problem
from gym_conform.checks.static_hygiene import license_card_problems, license_readme_problems
from gym_conform.errors import GymConformError, Problem


def check_license(ctx: FolderContext) -> None:
    """Fail with every missing or invalid dataset license, located at its YAML file and line.

    The problems are exactly those the config schema raises (codes `license.*`); a near miss names the valid
    string. A config that does not load cannot be checked, so its load problems fail this check too. With
    `--gym-strict`, a train/validation license that the README's licensing section, or the cached Hub dataset
    card of its source, contradicts fails too.
    """
    problems: list[Problem] = []
    for path in ctx.config_files or [ctx.primary_config_file]:
        try:
            problems += [p for p in ctx.schema_problems(path) if is_license_problem(p)]
        except GymConformError as error:
            problems += error.problems
    # Beyond NeMo Gym's rules (a strict finding): the YAML license against the README's `Data:` line.
    problems += license_readme_problems(ctx)
    if ctx.settings.strict:
        # Only with --gym-strict, where it is reported: it imports huggingface_hub, a cost every static run pays.
        problems += license_card_problems(ctx)
    if problems:
        problems = list(dict.fromkeys(problems))
        raise CheckFailed(problems, summary=f"{len(problems)} dataset license problem(s) in {ctx.display}/configs")
