"""`gym-conform`: one console script for every job; `gym-conform prepare-data ...` is `ng_prepare_data ...`.

The `ng_*` names of the seed documents come from the separate `gym-conform-ng-commands` distribution
(`ng-commands/` in this repository), because NeMo Gym installs commands of the same names.
"""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Sequence

from gym_conform import __version__

# name -> (module with `main(argv)`, its ng_* alias or "", one line of help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "prepare-data": (
        "gym_conform.cli.prepare_data",
        "ng_prepare_data",
        "validate datasets, write their metrics and collate the training files",
    ),
    "download-dataset-from-hf": (
        "gym_conform.cli.download",
        "ng_download_dataset_from_hf",
        "download a dataset file from the Hugging Face Hub",
    ),
    "init-resources-server": (
        "gym_conform.cli.init_resources_server",
        "ng_init_resources_server",
        "scaffold a resources-server folder that passes the whole suite",
    ),
    "replay-rollouts": (
        "gym_conform.cli.replay_rollouts",
        "ng_replay_rollouts",
        "re-verify a folder's recorded rollouts and report changed rewards",
    ),
    "check": (
        "gym_conform.cli.check",
        "",
        "the static checks with the guarantee that no code of the repository runs (CI on untrusted pull requests)",
    ),
    "init-ci": (
        "gym_conform.cli.init_ci",
        "",
        "write a GitHub Actions workflow: static checks on every pull request, server checks on trusted code",
    ),
}
PROG = "gym-conform"


def usage() -> str:
    """Return the list of subcommands, each with its `ng_*` alias."""
    width = max(len(name) for name in COMMANDS)
    lines = [f"usage: {PROG} COMMAND [+key=value ...]   ({PROG} COMMAND --help for its keys)", "", "commands:"]
    for name, (_, alias, text) in COMMANDS.items():
        lines.append(f"  {name.ljust(width)}  {text}" + (f" (also: {alias})" if alias else ""))
    lines += ["", "The conformance suite runs under pytest: `pytest resources_servers` (see `pytest --help`)."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: dispatch to the subcommand's own `main`."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        sys.exit(0 if args else 2)
    if args[0] == "--version":
        print(f"{PROG} {__version__}")
        sys.exit(0)
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1)
        hint = f"did you mean `{PROG} {close[0]}`?" if close else f"run `{PROG} --help` for the list"
        print(f"{PROG}: unknown command {name!r}\n  hint: {hint}", file=sys.stderr)
        sys.exit(2)
    importlib.import_module(COMMANDS[name][0]).main(rest)


if __name__ == "__main__":
    main()
