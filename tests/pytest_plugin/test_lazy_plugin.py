"""The plugin's entry point is cheap: it imports pytest and its option definitions, and loads the engine in hooks."""

from __future__ import annotations

import json
import subprocess
import sys

from gym_conform.checks.base import REGISTRY, Level
from gym_conform.pytest_plugin.options import LEVEL_NAMES

ENGINE = ("fastapi", "hypothesis", "numpy", "httpx", "pydantic", "yaml", "omegaconf", "gym_conform.checks")
# Written by the fake repository's conftest.py at the end of a run: which of ENGINE got imported.
RECORD_MODULES = """\
import json, sys

def pytest_sessionfinish(session):
    names = {names!r}
    loaded = [n for n in names if n in sys.modules]
    open("modules.json", "w").write(json.dumps(loaded))
"""


def new_modules(statement: str) -> list[str]:
    """Return the modules a fresh interpreter imports for `statement` once pytest is imported."""
    code = (
        "import json, sys\nimport pytest\nbefore = set(sys.modules)\n"
        f"{statement}\nprint(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_importing_the_entry_point_pulls_in_no_engine_module():
    loaded = new_modules("import gym_conform.pytest_plugin.plugin")

    assert not [name for name in loaded if name.split(".")[0] in ENGINE or name.startswith(ENGINE)]
    ours = [name for name in loaded if name.startswith("gym_conform")]
    assert set(ours) == {
        "gym_conform",
        "gym_conform.errors",
        "gym_conform.pytest_plugin",
        "gym_conform.pytest_plugin.plugin",
        "gym_conform.pytest_plugin.gate",
        "gym_conform.pytest_plugin.options",
        "gym_conform.pytest_plugin.static_guard",
        "gym_conform.live",
        "gym_conform.live.defaults",
    }


def test_the_option_help_names_every_level():
    assert LEVEL_NAMES == tuple(level.label for level in Level)


def test_a_project_without_server_folders_never_loads_the_engine(pytester):
    pytester.makeconftest(RECORD_MODULES.format(names=ENGINE))
    pytester.makepyfile(test_plain="def test_one():\n    assert 1 + 1 == 2\n")

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest")

    result.assert_outcomes(passed=1)
    assert json.loads((pytester.path / "modules.json").read_text()) == []


def test_a_static_run_loads_neither_the_server_nor_the_live_machinery(repo, tmp_path_factory, monkeypatch):
    repo.server()
    server_side = ("fastapi", "httpx", "hypothesis", "gym_conform.server.base", "gym_conform.live.model_setup")
    # A static run loads no conftest.py of the repository: the recorder is a plugin from outside it.
    outside = tmp_path_factory.mktemp("recorder")
    (outside / "record_modules.py").write_text(RECORD_MODULES.format(names=server_side))
    monkeypatch.setenv("PYTHONPATH", str(outside))

    result = repo.static("-p", "no:hypothesispytest", "-p", "record_modules", subprocess=True)

    # The static checks pass, but `leakage` (strict), `task_data` and `manifest` (no such files); the checks
    # above the level get no item.
    result.assert_outcomes(passed=7, skipped=3)
    assert len(REGISTRY) - sum(check.level == Level.STATIC for check in REGISTRY) > 0
    assert json.loads((repo.path / "modules.json").read_text()) == []
