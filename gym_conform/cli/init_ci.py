"""`gym-conform init-ci`: write a GitHub Actions workflow that runs the conformance suite on pull requests."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gym_conform.cli.common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, options_from_args, render_help, run, wants_help
from gym_conform.core.files import atomic_write_text
from gym_conform.errors import GymConformError
from gym_conform.scaffold.workflow import DEFAULT_OUTPUT, WorkflowOptions, workflow_text

PROG = "gym-conform init-ci"
SUMMARY = (
    "Write a GitHub Actions workflow for the conformance suite: the static level on every pull request\n"
    "(forks included: nothing of the pull request is installed or imported, no secrets), the server level\n"
    "on trusted code (pushes, manual runs, pull requests from the repository's own branches). Pull requests\n"
    "check only the servers they change; the JSON, JUnit XML and HTML reports are uploaded as artifacts.\n"
    "An existing file is never replaced unless +overwrite=true."
)
EXAMPLES = [
    "gym-conform init-ci",
    'gym-conform init-ci +install="gym-conform==0.1.0" +branch=main +python=3.12',
]
_DEFAULTS = WorkflowOptions()


class InitCiOptions(BaseModel):
    """Options of one `gym-conform init-ci` run."""

    model_config = ConfigDict(extra="ignore")

    output: str = Field(default=DEFAULT_OUTPUT, description="The workflow file to write.")
    python: str = Field(default=_DEFAULTS.python, description="Python version of the CI runner.")
    install: str = Field(
        default=_DEFAULTS.install, description="pip requirement of gym-conform (a pinned version, a git URL)."
    )
    branch: str = Field(default=_DEFAULTS.branch, description="Pushes to this branch check every server.")
    roots: str = Field(default=_DEFAULTS.roots, description="The folder of resources servers pytest checks.")
    overwrite: bool = Field(default=False, description="Replace an existing workflow file.")

    @field_validator("python", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # A bare 3.10 is read as the number 3.1: only the quoted text is the version meant.
            raise ValueError(f'write the version as a quoted string, e.g. +python="3.12" (got the number {value})')
        return value


def command(argv: Sequence[str]) -> int:
    """Parse arguments and write the workflow; a bad command line exits 2, an existing file exits 1."""
    if wants_help(argv):
        print(render_help(PROG, SUMMARY, InitCiOptions, EXAMPLES, config_overrides=False))
        return EXIT_OK
    try:
        options = options_from_args(argv, InitCiOptions, PROG)
    except GymConformError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_USAGE
    target = Path(options.output)
    if target.exists() and not options.overwrite:
        refused = GymConformError(f"{target} exists; not replacing it", hint="pass +overwrite=true to replace it")
        print(refused.render(), file=sys.stderr)
        return EXIT_ERROR
    text = workflow_text(WorkflowOptions(options.python, options.install, options.branch, options.roots))
    atomic_write_text(target, text)
    print(
        f"Wrote {target}: job `static` on every pull request, job `server` on trusted code.\n"
        "Commit it; the reports of each run are the artifacts gym-conform-reports-static and -server."
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    run(command, argv)


if __name__ == "__main__":
    main()
