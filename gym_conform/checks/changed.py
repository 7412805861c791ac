"""Changed-only runs: which server folders a git change touches, and why (`--gym-changed-since REF`).

A server is selected when a changed file is inside its folder, or is a file its configs name (an included
config, a dataset, a model config: any string in its `configs/*.yaml` naming an existing path of the
repository, followed through included configs). Every server is selected when a change touches what all of
them depend on: shared code under a root but outside every server folder, a top-level `conftest.py` or
packaging/pytest configuration file, or the framework packages (`nemo_gym/`, `gym_conform/`). Other changes
(docs, CI files) select nothing. Reads YAML with a safe loader; never imports anything.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gym_conform.checks.discovery import DEFAULT_ROOT_NAMES, config_files, find_server_folders
from gym_conform.core.yaml_safe import safe_load
from gym_conform.errors import GymConformError

# Changes to these (at the repository's top level) can change every server's results.
GLOBAL_FILES = frozenset(
    {
        "pyproject.toml",
        "setup.py",
        "setup.cfg",
        "uv.lock",
        "poetry.lock",
        "pytest.ini",
        "tox.ini",
        "conftest.py",
    }
)
GLOBAL_PREFIXES = ("requirements",)  # requirements.txt, requirements-dev.txt, ...
GLOBAL_DIRS = frozenset({"nemo_gym", "gym_conform"})
_SKIPPED_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", "build", "dist"})
_GIT_TIMEOUT = 60.0


class ChangedSinceError(GymConformError):
    """The changed files could not be listed (not a git repository, unknown ref, no common history)."""

    code = "changed.git"


@dataclass
class Selection:
    """The servers a change selects, each with the reason; `everything` says why all are selected."""

    top: Path  # the git work tree's top; folders and files are relative to it
    ref: str
    base: str  # the merge base of `ref` and HEAD the change is measured from
    changed: list[str]
    servers: list[str]  # every server folder found (repository-relative)
    selected: dict[str, str] = field(default_factory=dict)
    everything: str | None = None
    unmatched: list[str] = field(default_factory=list)

    def includes(self, folder: Path) -> bool:
        """Return whether the server folder is to be run (a folder outside the work tree always is)."""
        relative = _relative(folder, self.top)
        return self.everything is not None or relative in self.selected or relative not in self.servers

    def lines(self) -> list[str]:
        """Return what was selected and why, as the run's header prints it."""
        head = f"gym-conform: changed since {self.ref} (merge base {self.base[:12]}): {len(self.changed)} file(s)"
        if self.everything is not None:
            return [f"{head}; all {len(self.servers)} server(s) selected: {self.everything}"]
        lines = [f"{head}; {len(self.selected)} of {len(self.servers)} server(s) selected"]
        lines += [f"  {folder}: {reason}" for folder, reason in self.selected.items()]
        if self.unmatched:
            shown = ", ".join(self.unmatched[:5]) + (", ..." if len(self.unmatched) > 5 else "")
            lines.append(f"  {len(self.unmatched)} changed file(s) select no server: {shown}")
        return lines

    def to_json(self) -> dict[str, object]:
        """Return the selection as the JSON report lists it."""
        return {
            "ref": self.ref,
            "base": self.base,
            "changed_files": self.changed,
            "everything": self.everything,
            "selected": self.selected,
            "unmatched": self.unmatched,
        }


def git_changes(repo: Path, ref: str) -> tuple[Path, str, list[str]]:
    """Return the work tree's top, the merge base of `ref` and HEAD, and every file changed since it.

    Changed means: committed since the merge base (as a pull request's diff), staged, unstaged, or untracked
    and not ignored.
    """
    top = Path(_git(repo, "rev-parse", "--show-toplevel").strip())
    base = _git(top, "merge-base", ref, "HEAD").strip()
    changed = _git(top, "diff", "--name-only", "-z", "--no-renames", base, "--").split("\0")
    changed += _git(top, "ls-files", "--others", "--exclude-standard", "-z").split("\0")
    return top, base, sorted({name for name in changed if name})


def select_changed(repo: Path, ref: str, roots: Sequence[Path] | None) -> Selection:
    """Return the servers (under `roots`, else every `resources_servers/` and `environments/`) a change selects."""
    top, base, changed = git_changes(repo, ref)
    root_dirs = [Path(root).resolve() for root in roots] if roots is not None else list(_default_roots(top))
    folders = find_server_folders(root_dirs)
    relative = {folder: _relative(folder, top) for folder in folders}
    selection = Selection(top, ref, base, changed, sorted(relative.values()))
    dependencies = {folder: _dependencies(folder, top) for folder in folders}
    for name in changed:
        path = (top / name).resolve()
        owner = next((folder for folder in folders if path.is_relative_to(folder)), None)
        if owner is not None:
            selection.selected.setdefault(relative[owner], f"{name} changed")
            continue
        users = [folder for folder in folders if path in dependencies[folder]]
        for folder in users:
            selection.selected.setdefault(relative[folder], f"{name} changed (named by its configs)")
        if users:
            continue
        why = _everything_reason(name, path, root_dirs)
        if why is not None:
            selection.everything = selection.everything or why
        else:
            selection.unmatched.append(name)
    selection.selected = dict(sorted(selection.selected.items()))
    return selection


def _everything_reason(name: str, path: Path, roots: Sequence[Path]) -> str | None:
    """Return why a change that belongs to no server affects every server, or None when it affects none."""
    parts = Path(name).parts
    if any(path.is_relative_to(root) for root in roots):
        return f"{name} changed (shared code beside the server folders)"
    if parts and parts[0] in GLOBAL_DIRS:
        return f"{name} changed (the {parts[0]} package every server runs on)"
    if Path(name).name == "conftest.py" or (
        len(parts) == 1 and (name in GLOBAL_FILES or name.startswith(GLOBAL_PREFIXES))
    ):
        return f"{name} changed (test or packaging configuration of every server)"
    return None


def _default_roots(top: Path) -> Iterator[Path]:
    """Yield every resources_servers/ and environments/ directory of the work tree (not below another one)."""
    for current, dirs, _ in os.walk(top):
        if Path(current).name in DEFAULT_ROOT_NAMES:
            dirs.clear()
            yield Path(current).resolve()
            continue
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))


def _dependencies(folder: Path, top: Path) -> set[Path]:
    """Return the files outside `folder` its configs name (resolved), following included configs."""
    found: set[Path] = set()
    pending = list(config_files(folder))
    seen: set[Path] = set()
    while pending:
        config = pending.pop()
        if config in seen:
            continue
        seen.add(config)
        try:
            data = safe_load(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        for text in _strings(data):
            for base in (top, config.parent, folder):
                candidate = (base / text).resolve()
                if candidate.is_relative_to(top) and candidate.exists() and not candidate.is_relative_to(folder):
                    found.add(candidate)
                    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
                        pending.append(candidate)
                    break
    return found


def _strings(data: object) -> Iterator[str]:
    """Yield every string of a parsed YAML document that could be a relative path."""
    if isinstance(data, str):
        text = data.strip()
        if text and "\n" not in text and "${" not in text and not text.startswith(("/", "~")) and len(text) < 4096:
            yield text
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


def _relative(path: Path, top: Path) -> str:
    try:
        return path.resolve().relative_to(top).as_posix()
    except ValueError:
        return path.as_posix()


def _git(cwd: Path, *args: str) -> str:
    """Run one git command; a failure becomes a ChangedSinceError with git's own message and a hint."""
    command = ["git", "-C", str(cwd), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ChangedSinceError(f"cannot run git: {error}", hint="install git, or drop --gym-changed-since") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        hint = (
            "fetch the ref and enough history for a merge base (in GitHub Actions: actions/checkout with "
            "fetch-depth: 0, or `git fetch origin <branch>`)"
            if args[0] == "merge-base"
            else "run pytest inside a git work tree, or drop --gym-changed-since"
        )
        raise ChangedSinceError(f"git {' '.join(args[:2])} failed: {message}", hint=hint)
    return done.stdout
