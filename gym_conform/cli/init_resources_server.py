"""`ng_init_resources_server`: create a new resources-server folder that passes the conformance suite as is."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from gym_conform.cli.common import EXIT_OK, EXIT_USAGE, options_from_args, render_help, run, wants_help
from gym_conform.core.config.schema import Domain
from gym_conform.errors import GymConformError
from gym_conform.scaffold import NAME_RULE, ScaffoldResult, folder_from_entrypoint, scaffold_resources_server

PROG = "ng_init_resources_server"
SUMMARY = (
    "Create resources_servers/NAME with a working example environment: app.py (a verify() that scores the\n"
    "final answer), configs/NAME.yaml, README.md, 5 example rows with their metrics and reference rollouts,\n"
    "tests and verifier cases. Everything is written or nothing is; an existing folder is never touched.\n"
    f"NAME rule: {NAME_RULE}."
)
EXAMPLES = [
    "ng_init_resources_server +entrypoint=resources_servers/my_env",
    "ng_init_resources_server +entrypoint=resources_servers/unit_conversion +domain=math",
]


class InitOptions(BaseModel):
    """Options of one `ng_init_resources_server` run."""

    model_config = ConfigDict(extra="ignore")

    entrypoint: str = Field(
        description=(
            "The folder to create, from the repository root: resources_servers/NAME.\n"
            "NAME must be a lowercase Python identifier (e.g. my_env)."
        )
    )
    domain: Domain = Field(
        default=Domain.OTHER.value,
        validate_default=True,
        description="The task domain written to the config, one of: " + ", ".join(d.value for d in Domain) + ".",
    )


def command(argv: Sequence[str]) -> int:
    """Parse arguments and scaffold; a bad command line exits 2, an existing folder exits 1."""
    if wants_help(argv):
        print(render_help(PROG, SUMMARY, InitOptions, EXAMPLES, config_overrides=False))
        return EXIT_OK
    try:
        options = options_from_args(argv, InitOptions, PROG)
        folder = folder_from_entrypoint(options.entrypoint)
    except GymConformError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_USAGE
    result = scaffold_resources_server(folder, domain=options.domain)
    print(_created_message(options.entrypoint.strip().rstrip("/"), result))
    return EXIT_OK


def _created_message(entrypoint: str, result: ScaffoldResult) -> str:
    name = result.folder.name
    files = "\n".join(f"  {entrypoint}/{file}" for file in result.files)
    return (
        f"Created {result.folder} with:\n{files}\n\n"
        "Next steps:\n"
        f"  1. Put your task's grading logic in {entrypoint}/app.py and test it in tests/test_app.py.\n"
        f"  2. Fill in the TODO(you) parts of README.md and the description and value in configs/{name}.yaml.\n"
        "  3. Replace data/example.jsonl with 5 of your rows, delete data/example_metrics.json, recompute it:\n"
        f'     ng_prepare_data "+config_paths=[{entrypoint}/configs/{name}.yaml]" '
        f"+output_dirpath=data/{name} +mode=example_validation\n"
        "     Then refresh data/example_rollouts.jsonl: edit each line's row and response output, and run\n"
        f"     ng_replay_rollouts +entrypoint={entrypoint} +update=true\n"
        f"  4. pytest {entrypoint}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    run(command, argv)


if __name__ == "__main__":
    main()
