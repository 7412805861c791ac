"""`gym-conform check`: the static level of the conformance suite, guaranteed to run no code of the repository.

The command a CI job for untrusted pull requests runs. It starts pytest in an isolated Python (`-I`: neither
the working directory nor PYTHON* variables on the path) with no ini file of the repository (`-c /dev/null`),
no conftest.py (`--noconftest`), no plugin but gym-conform's (and pytest-xdist's with `-n`: entry-point
autoload off), no cache written, at `--gym-level static`, where the plugin collects no file but the server
folders it reads itself. Options that would undo any of that are refused before pytest starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from gym_conform.checks.discovery import DEFAULT_ROOT_NAMES
from gym_conform.cli.common import EXIT_USAGE

PROG = "gym-conform check"
HELP = f"""\
usage: {PROG} [PATH ...] [pytest and --gym-* options]

Run the conformance suite's static level on the repository in the working directory, with the guarantee
that no code of it runs: no conftest.py, no ini file (pytest.ini, tox.ini, setup.cfg, pyproject.toml), no
test module or __init__.py, no pytest plugin but gym-conform's (and pytest-xdist's with -n), and every
file read is a regular file inside the repository. This is the command for CI jobs on untrusted pull
requests (`gym-conform init-ci` writes one). PATH defaults to resources_servers/ and environments/.

It is `pytest -c /dev/null --rootdir . --noconftest -p no:cacheprovider --gym-level static PATH...` in an
isolated Python with plugin autoload off. Refused: -c, --rootdir, --confcutdir, -p PLUGIN (-p no:NAME is
fine), -o/--override-ini of keys that are not gym_*, --pyargs, --doctest-modules, --gym-level other than
static, --gym-model-url, --gym-vllm-serve. Exit code: pytest's (0 all passed, 1 failures, 2 interrupted or
refused, 4 usage error, 5 nothing collected).

examples:
  {PROG}
  {PROG} resources_servers/my_env -n auto --gym-report reports/static.json --junitxml reports/static.xml
"""
# Options that take their value as the next argument, and that this command refuses (they load code or config).
_REFUSED = {
    "-c": "an ini file of the repository can add plugins and options (addopts, pythonpath)",
    "--config-file": "an ini file of the repository can add plugins and options (addopts, pythonpath)",
    "--rootdir": "the rootdir is the working directory, the repository",
    "--confcutdir": "no conftest.py is loaded at all",
    "--pyargs": "it imports packages to find their paths",
    "--doctest-modules": "it imports every Python module",
    "--gym-model-url": "a live run is not a static one",
    "--gym-vllm-serve": "a live run is not a static one",
}
_XDIST = ("-n", "--numprocesses", "--dist", "-d", "--tx", "--maxprocesses", "--maxworkerrestart")
# Common options whose value is the next argument (so that value is not taken for a path to check).
_VALUED = frozenset(
    {"-k", "-m", "-n", "-o", "--dist", "--junitxml", "--junit-xml", "--gym-report", "--gym-html", "--gym-root"}
    | {"--gym-changed-since", "--deselect", "--ignore", "--ignore-glob", "-W", "--maxfail"}
)
_ENV_DROPPED = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


class Refused(ValueError):
    """A command-line argument that would let code of the repository run."""


def _split(argument: str) -> tuple[str, str | None]:
    """Return `--name=value` as (name, value), anything else as (argument, None)."""
    if argument.startswith("--") and "=" in argument:
        name, value = argument.split("=", 1)
        return name, value
    return argument, None


def refusal(args: Sequence[str]) -> str | None:
    """Return why the arguments cannot be run with the guarantee, or None when they can."""
    args = list(args)
    for index, argument in enumerate(args):
        name, value = _split(argument)
        following = args[index + 1] if index + 1 < len(args) else ""
        if name in _REFUSED:
            return f"{name} is refused: {_REFUSED[name]}"
        if name == "-p" or (argument.startswith("-p") and len(argument) > 2):
            plugin = value if value is not None else (argument[2:] or following)
            if not plugin.startswith("no:"):
                return f"-p {plugin} is refused: only gym-conform's plugin is loaded (-p no:NAME is fine)"
        if name in ("-o", "--override-ini"):
            setting = value if value is not None else following
            if not setting.startswith("gym_"):
                return (
                    f"{name} {setting} is refused: only gym_* ini keys may be set (an ini key such as addopts or "
                    "pythonpath can load code)"
                )
        if name == "--gym-level":
            level = value if value is not None else following
            if level != "static":
                return f"--gym-level {level} is refused: this command runs the static level only"
    return None


def pytest_command(args: Sequence[str], repository: Path) -> list[str]:
    """Return the pytest command line (an isolated Python) for `args`, with the server roots when no path is given."""
    command = [sys.executable, "-I", "-m", "pytest", "-c", os.devnull, "--rootdir", str(repository)]
    command += ["--noconftest", "-p", "no:cacheprovider", "-p", "gym_conform"]
    if any(_split(argument)[0] in _XDIST or argument.startswith("-n") for argument in args):
        command += ["-p", "xdist"]
    command += ["--gym-level", "static"]
    named = [
        argument
        for index, argument in enumerate(args)
        if not argument.startswith("-") and (index == 0 or args[index - 1] not in _VALUED)
    ]
    if not any("::" in argument or (repository / argument).exists() for argument in named):
        command += sorted(name for name in DEFAULT_ROOT_NAMES if (repository / name).is_dir())
    return command + list(args)


def child_environment() -> dict[str, str]:
    """Return the environment of the pytest process: no plugin autoload, no extra options or plugins."""
    env = {key: value for key, value in os.environ.items() if key not in _ENV_DROPPED}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def command(argv: Sequence[str]) -> int:
    """Run the static level with the guarantee; return pytest's exit code (2 when an argument is refused)."""
    args = list(argv)
    if any(argument in ("-h", "--help") for argument in args):
        print(HELP, end="")
        return 0
    reason = refusal(args)
    if reason is not None:
        print(f"error: {PROG}: {reason} [check.refused_option]", file=sys.stderr)
        print(f"    hint: drop it; `{PROG} --help` lists what is refused and why", file=sys.stderr)
        return EXIT_USAGE
    repository = Path.cwd()
    process = subprocess.Popen(pytest_command(args, repository), cwd=repository, env=child_environment())
    forwarded = {}
    for each in (signal.SIGINT, signal.SIGTERM):
        # Ctrl-C reaches the whole process group anyway; SIGTERM (a CI runner's) is passed on to pytest.
        forwarded[each] = signal.signal(each, lambda signum, _frame: process.send_signal(signum))
    try:
        return process.wait()
    finally:
        for each, handler in forwarded.items():
            signal.signal(each, handler)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    sys.exit(command(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
