"""Front-end plumbing shared by the console scripts: help text, option models, errors and exit codes."""

from __future__ import annotations

import difflib
import importlib.util
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gym_conform.core.config.overrides import parse_overrides
from gym_conform.core.files import committed_outputs, os_error
from gym_conform.errors import GymConformError, Location, Problem, ProblemsFound

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # SIGINT; SIGTERM exits 143 (128 + the signal's number, as shells report it)

# Problems with the command line itself: the command exits 2, as argparse does.
USAGE_CODES = frozenset({"config.override", "cli.option"})

# The ng_* names that nemo-gym installs too, and what NeMo Gym calls the same job.
NEMO_GYM_NAMES = {
    "ng_prepare_data": "gym dataset collate",
    "ng_download_dataset_from_hf": "gym dataset download",
    "ng_init_resources_server": "gym env init",
}

_HELP_FLAGS = {"-h", "--help", "+h=true", "+help=true", "++h=true", "++help=true"}
_TRACEBACK_FLAG = "--traceback"

Options = TypeVar("Options", bound=BaseModel)


def wants_help(argv: Sequence[str]) -> bool:
    """Return True when the user asked for help in any of the accepted spellings."""
    return any(arg in _HELP_FLAGS for arg in argv)


def render_help(
    prog: str,
    summary: str,
    options: type[BaseModel],
    examples: Sequence[str],
    *,
    config_overrides: bool = True,
) -> str:
    """Build `--help` text from the option model, so every key documented is a key accepted."""
    lines = [f"usage: {prog} +key=value [+key=value ...]", "", summary, "", "keys:"]
    for name, field in options.model_fields.items():
        required = field.is_required()
        default = "" if required else f" (default: {_show(field.default)})"
        tag = " (required)" if required else default
        lines.append(f"  +{name}=...{tag}")
        for text_line in (field.description or "").splitlines():
            lines.append(f"      {text_line}")
    if config_overrides:
        lines += [
            "",
            "Use ++key=value to force a value, and dotted keys (++a.b.c=value) to set any config value.",
        ]
    lines += ["", "Add --traceback to see a Python traceback for errors (for bug reports)."]
    if examples:
        lines += ["", "examples:"] + [f"  {e}" for e in examples]
    return "\n".join(lines)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)


def read_options(model: type[Options], config: dict, prog: str) -> Options:
    """Validate the command's own keys from the merged config; report every missing or bad key."""
    known = {k: config[k] for k in model.model_fields if k in config}
    try:
        return model.model_validate(known)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key = ".".join(str(p) for p in item["loc"])
            if item["type"] == "missing":
                message = f"missing required configuration: {key}"
                hint = f"add +{key}=<value> (see {prog} --help)"
            else:
                message = f"bad value for {key}: {item['msg']}"
                hint = f"see {prog} --help for what {key} accepts"
            problems.append(Problem("cli.option", message, Location(field=key), hint))
        raise ProblemsFound(problems, summary=f"{prog}: {len(problems)} configuration problem(s)") from None


def reject_unknown_keys(config: dict, options: type[BaseModel], prog: str) -> None:
    """Refuse keys a command does not know (a typo must not be silently ignored); suggest the likely one."""
    known = list(options.model_fields)
    problems = []
    for key in sorted(set(config) - set(known)):
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean +{close[0]}=...?" if close else f"{prog} accepts " + " ".join(f"+{k}" for k in known)
        problems.append(Problem("config.override", f"unknown key: {key}", Location(field=key), hint))
    if problems:
        raise ProblemsFound(problems, summary=f"{prog}: {len(problems)} unknown key(s) (see {prog} --help)")


def options_from_args(args: Sequence[str], options: type[Options], prog: str) -> Options:
    """Parse `+key=value` arguments into the command's option model, refusing unknown or bad keys."""
    given = parse_overrides(args)
    reject_unknown_keys(given, options, prog)
    return read_options(options, given, prog)


def note_shared_name() -> None:
    """Say on stderr which program runs when an ng_* name this process answers to belongs to nemo-gym too."""
    invoked = Path(sys.argv[0]).name
    if invoked in NEMO_GYM_NAMES and importlib.util.find_spec("nemo_gym") is not None:
        print(
            f"note: this {invoked} is gym-conform's (from gym-conform-ng-commands); nemo-gym is installed here too, "
            f"and its own is `{NEMO_GYM_NAMES[invoked]}`",
            file=sys.stderr,
        )


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived: unwinds like Ctrl-C, so every temporary file is removed on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupt(signum: int, frame: object) -> None:
    if os.getpid() != _HANDLER_PID:
        # A forked worker that has not yet installed its own handlers (it inherits this one): it owns no
        # output, so it ends at once and quietly, as the default action would, and the parent reports.
        os._exit(128 + signum)
    # Later signals are ignored while the first one unwinds: cleaning up takes milliseconds and must finish.
    for each in _STOP_SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    raise Interrupted(signum)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_HANDLER_PID = os.getpid()  # set again by `run` in the process that installs `_interrupt`


def interrupted_message(signum: int, written: int) -> str:
    """Return the one line printed when a command stops on a signal."""
    name = signal.Signals(signum).name
    if written:
        return f"interrupted by {name} after {written} output file(s) were complete; nothing was left half-written"
    return f"interrupted by {name}: nothing was written (temporary files removed, earlier outputs unchanged)"


def run(main: Callable[[list[str]], int | None], argv: Sequence[str] | None = None) -> None:
    """Run a command and exit: user errors print a clear message (no traceback) and exit non-zero.

    Any OSError becomes one line with the path and what to do; SIGINT / SIGTERM stop the command (exit 130 /
    143) with every temporary file removed.
    """
    if argv is None:
        note_shared_name()
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = _TRACEBACK_FLAG in args or os.environ.get("GYM_CONFORM_TRACEBACK") == "1"
    args = [a for a in args if a != _TRACEBACK_FLAG]
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        global _HANDLER_PID
        _HANDLER_PID = os.getpid()
        handlers = {each: signal.signal(each, _interrupt) for each in _STOP_SIGNALS}
    written = committed_outputs()
    try:
        code = main(args) or EXIT_OK
    except GymConformError as error:
        if show_traceback:
            traceback.print_exc()
        print(error.render(), file=sys.stderr)
        code = EXIT_USAGE if all(p.code in USAGE_CODES for p in error.problems) else EXIT_ERROR
    except OSError as error:
        if show_traceback:
            traceback.print_exc()
        print(os_error(error).render(), file=sys.stderr)
        code = EXIT_ERROR
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", signal.SIGINT)
        print(interrupted_message(signum, committed_outputs() - written), file=sys.stderr)
        code = 128 + signum
    finally:
        for each, handler in handlers.items():
            signal.signal(each, handler)
    sys.stdout.flush()
    sys.exit(code)
