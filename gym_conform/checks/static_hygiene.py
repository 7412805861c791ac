"""Data hygiene a training run suffers from: example or validation tasks inside train data (part of `leakage`)
and a dataset license in the YAML that the README's licensing section contradicts (part of `license`).

Both read files only (static level) and go beyond NeMo Gym's own rules (reported with `--gym-strict`).
Prompts are compared exactly (the same `responses_create_params`) and normalized (the prompt's texts with
whitespace collapsed and case folded), across every dataset the folder's configs declare. A train or
validation dataset with a Hugging Face source has its YAML license compared with the repo's dataset card too,
the copy in the local Hub cache only (the static level makes no network call; `ng_prepare_data
+should_download=true` caches the card of every dataset it downloads); an uncached card is noted, not fetched.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from gym_conform.checks.context import DatasetEntry, FolderContext
from gym_conform.checks.probes import prompt_text
from gym_conform.checks.static_data import fingerprint, validation_files
from gym_conform.checks.static_readme import SECTIONS, headings
from gym_conform.core.dataset_card import hub_repo
from gym_conform.core.excerpt import excerpt, quoted
from gym_conform.core.jsonl import iter_jsonl_lines
from gym_conform.core.licenses import VALID_LICENSES, license_spellings, suggest_license
from gym_conform.errors import GymConformError, Location, Problem

MAX_SHOWN = 50
_DATA_LINE = re.compile(r"^\W*data\W*:\s*(.+)$", re.IGNORECASE)
_LICENSED_TYPES = ("train", "validation")


@dataclass(frozen=True)
class Seen:
    """Where a task was first seen: its kind (example, validation), file as shown and line."""

    kind: str
    path: str
    line: int


def normalized_prompt(row: dict) -> str | None:
    """Return the row's prompt texts with whitespace collapsed and case folded (None when it has none)."""
    text = " ".join(prompt_text(row).split()).casefold()
    return text or None


def declared_files(ctx: FolderContext, kind: str) -> list[Path]:
    """Return the datasets of type `kind` the folder's configs declare, plus data/<kind>.jsonl, without repeats."""
    if kind == "validation":
        return validation_files(ctx)
    paths = [ctx.resolve_data_path(e.jsonl_fpath) for e in _all_entries(ctx) if e.type == kind and e.jsonl_fpath]
    paths.append(ctx.data_dir / f"{kind}.jsonl")
    unique: dict[Path, Path] = {}
    for path in paths:
        if ctx.refused_read(path) is None:  # nothing outside the repository (static level), no FIFO or device
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def _all_entries(ctx: FolderContext) -> list[DatasetEntry]:
    entries: list[DatasetEntry] = []
    for config in ctx.config_files:
        try:
            entries += ctx.dataset_entries(config)
        except GymConformError:
            if config == ctx.primary_config_file:
                raise
    return entries


def _rows(path: Path) -> list[tuple[int, dict]]:
    rows = []
    for line, text in iter_jsonl_lines(path):
        try:
            row = json.loads(text)
        except ValueError:
            continue  # a malformed row is ng_prepare_data's to report
        if isinstance(row, dict):
            rows.append((line, row))
    return rows


def train_overlap_problems(ctx: FolderContext) -> tuple[list[Problem], int] | None:
    """Return the train rows that repeat an example or validation task (the first MAX_SHOWN, and how many in all).

    Compared exactly (the same responses_create_params) and up to whitespace and case of the prompt's texts;
    None when no train data is present locally.
    """
    present = [path for path in declared_files(ctx, "train") if path.is_file()]
    if not present:
        return None
    exact: dict[str, Seen] = {}
    loose: dict[str, Seen] = {}
    sources = [("example", ctx.example_path, ctx.example_rows)] if ctx.example_path.is_file() else []
    sources += [("validation", path, _rows(path)) for path in declared_files(ctx, "validation") if path.is_file()]
    for kind, path, rows in sources:
        for line, row in rows:
            seen = Seen(kind, ctx.show(path), line)
            key, text = fingerprint(row), normalized_prompt(row)
            if key is not None:
                exact.setdefault(key, seen)
            if text is not None:
                loose.setdefault(text, seen)
    problems: list[Problem] = []
    total = 0
    for path in present:
        for line, row in _rows(path):
            key = fingerprint(row)
            match, how = (exact.get(key), "the same responses_create_params") if key is not None else (None, "")
            if match is None:
                text = normalized_prompt(row)
                match, how = (loose.get(text), "the same prompt up to whitespace and case") if text else (None, "")
            if match is None:
                continue
            total += 1
            if len(problems) < MAX_SHOWN:
                problems.append(_overlap_problem(ctx.show(path), line, match, how))
    return problems, total


def _overlap_problem(path: str, line: int, seen: Seen, how: str) -> Problem:
    if seen.kind == "example":
        hint = "drop the row from train or pick another example row: a task trained on inflates the example scores"
    else:
        hint = "drop the row from train (or from validation): validation scores of trained-on tasks measure recall"
    message = f"this train row repeats the {seen.kind} row at {seen.path}:{seen.line} ({how})"
    return Problem(f"data.train_overlap_{seen.kind}", message, Location(path, line), hint)


# Licenses ---------------------------------------------------------------------------------------------------------


def readme_data_licenses(text: str) -> tuple[int, str, set[str]] | None:
    """Return the README licensing section's `Data:` line (line, text) and the accepted licenses it names."""
    found = headings(text)
    words = SECTIONS[2].words
    start = next((line for line, heading in found if words & set(re.findall(r"[a-z]+", heading.casefold()))), None)
    if start is None:
        return None
    end = next((line for line, _ in found if line > start), None)
    lines = text.splitlines()
    for number in range(start + 1, (end or len(lines) + 1)):
        match = _DATA_LINE.match(lines[number - 1])
        if match:
            value = match.group(1).strip()
            return number, value, licenses_named(value)
    return None


def licenses_named(text: str) -> set[str]:
    """Return the accepted license strings `text` names (any spelling, whole words), else its nearest one."""
    named = set()
    for valid in VALID_LICENSES:
        for spelling in license_spellings(valid):
            if re.search(rf"(?<![\w-]){re.escape(spelling)}(?![\w-])", text, re.IGNORECASE):
                named.add(valid)
    if not named:
        near = suggest_license(text)
        if near is not None:
            named.add(near)
    return named


def license_readme_problems(ctx: FolderContext) -> list[Problem]:
    """Return every train/validation dataset whose YAML license is not one the README's `Data:` line names.

    Nothing is compared (no problem) without a README, a licensing section with a `Data:` line naming a
    license gym-conform recognises, or configs that load: the other checks report those.
    """
    if not ctx.readme_path.is_file() or ctx.refused_read(ctx.readme_path) is not None:
        return []  # the readme check reports a README that is not read
    readme = readme_data_licenses(ctx.readme_path.read_text(encoding="utf-8", errors="replace"))
    if readme is None or not readme[2]:
        return []
    readme_line, value, named = readme
    try:
        entries = _all_entries(ctx)
    except GymConformError:
        return []
    shown = f"{ctx.show(ctx.readme_path)}:{readme_line}"
    problems = []
    for entry in entries:
        license_value = entry.raw.get("license") if isinstance(entry.raw, dict) else None
        if entry.type not in _LICENSED_TYPES or not isinstance(license_value, str):
            continue
        declared = license_value if license_value in VALID_LICENSES else suggest_license(license_value)
        if declared is None or declared in named:
            continue
        where = ctx.load_config_file(entry.config_file).locate((*entry.key_path, "license"))
        location = Location(ctx.show(Path(where.path)) if where.path else None, where.line, "license")
        message = (
            f"the {entry.type} dataset is licensed {quoted(license_value)} here, but {shown} says "
            f"`Data: {excerpt(value)[1:-1]}`"
        )
        hint = "make the YAML license and the README's licensing section agree (the dataset card's too)"
        problems.append(Problem("license.readme_mismatch", message, location, hint))
    return problems


def license_card_problems(ctx: FolderContext) -> list[Problem]:
    """Return every train/validation dataset whose YAML license its cached Hub dataset card contradicts.

    Only the Hub cache is read; each dataset whose card is not cached gets a note saying it was not compared.
    """
    try:
        entries = _all_entries(ctx)
    except GymConformError:
        return []
    sourced = [
        (entry, repo_id, license_value)
        for entry in entries
        if entry.type in _LICENSED_TYPES
        and (repo_id := hub_repo(entry.model)) is not None
        and isinstance(license_value := getattr(entry.model, "license", None), str)
    ]
    if not sourced:
        return []
    # Imported only here: huggingface_hub costs a static run ~0.3 s, and most folders have no hub dataset.
    from gym_conform.hub.cards import cached_card, card_problem
    from gym_conform.hub.download import hub_cache_dir

    problems = []
    for entry, repo_id, license_value in sourced:
        name = getattr(entry.model, "name", "?")
        card = cached_card(repo_id)
        if card is None:
            ctx.note(
                f"the dataset card of {repo_id} ({entry.type} dataset {name!r}) is not in the local "
                f"Hub cache ({hub_cache_dir()}), so its license was not compared with the YAML's (no network at "
                "the static level; `ng_prepare_data ... +mode=train_preparation +should_download=true` caches it)"
            )
            continue
        where = ctx.load_config_file(entry.config_file).locate((*entry.key_path, "license"))
        location = Location(ctx.show(Path(where.path)) if where.path else None, where.line, "license")
        problem = card_problem(repo_id, card, license_value, entry.type or "", location)
        if problem is not None:
            problems.append(problem)
    return problems
