"""A NeMo Gym-like tree in a temporary folder, and imports kept from leaking between tests."""

from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gym_conform.core.task_data import TaskSchema, clear_cache, load_task_schema


@dataclass
class Project:
    """A project root holding `resources_servers/<name>/task_data.py` files written by a test."""

    root: Path

    def server(self, name: str, source: str, *, base: str = "resources_servers") -> Path:
        """Write `<base>/<name>/task_data.py` (dedented) and return the server folder."""
        folder = self.root / base / name
        folder.mkdir(parents=True, exist_ok=True)
        # A regular package, so that an import by name finds this tree before any other `resources_servers`.
        (self.root / base / "__init__.py").touch()
        (folder / "__init__.py").touch()
        (folder / "task_data.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        return folder

    def both(self, folder: Path) -> tuple[TaskSchema, TaskSchema]:
        """The folder's schema read statically and imported; both must exist."""
        static = load_task_schema(folder, roots=[self.root])
        imported = load_task_schema(folder, roots=[self.root], execute=True)
        assert static is not None and imported is not None
        return static, imported

    def agree(self, folder: Path, rows: list[dict[str, Any]]) -> TaskSchema:
        """Read statically and imported: the same JSON Schema and the same issues on every row."""
        static, imported = self.both(folder)
        assert static.static and not imported.static
        assert static.json_schema() == imported.json_schema()
        assert static.legacy_fields == imported.legacy_fields
        for row in rows:
            assert static.validate_row(row) == imported.validate_row(row), row
        return static


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "repo")


@pytest.fixture(autouse=True)
def isolated_imports() -> Any:
    """Modules a test imports (execute=True) and sys.path entries are dropped afterwards; caches cleared.

    An already imported `resources_servers` package (another test's, or this repository's) is set aside, so
    that imports by name resolve in the test's own tree.
    """
    aside = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == "resources_servers"}
    modules = set(sys.modules)
    path = list(sys.path)
    clear_cache()
    yield
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.modules.update(aside)
    sys.path[:] = path
    clear_cache()
