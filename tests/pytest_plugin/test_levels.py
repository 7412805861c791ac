"""Levels: static runs execute no server code; checks above the level get no item, and the summary counts them."""

from __future__ import annotations

from gym_conform.checks import REGISTRY, Level
from tests.pytest_plugin.conftest import match_lines

# A server whose code cannot even be imported, and which leaves a marker file if anything imports it.
APP = """\
open({marker!r}, "w").write("imported")
import not_a_real_module_xyz
"""
# A server-level check registered the way the server checks are, so that the level gate has one to skip.
REGISTER_SERVER_CHECK = """\
from gym_conform.checks import Check, Level, register


def _load_server(ctx):
    ctx.server


register(Check("probe_server_import", Level.SERVER, "imports the server", _load_server))
"""


def broken_server(repo):
    marker = repo.path / "app_imported.txt"
    folder = repo.server()
    (folder / "app.py").write_text(APP.format(marker=str(marker)))
    repo.pytester.makeconftest(REGISTER_SERVER_CHECK)
    return marker


def test_static_level_checks_files_of_an_unimportable_server_and_collects_no_server_check(repo):
    marker = broken_server(repo)

    result = repo.static("-v", subprocess=True)

    match_lines(
        result,
        "*resources_servers/alpha::config PASSED*",
        "*resources_servers/alpha::license PASSED*",
        "*resources_servers/alpha::example_data PASSED*",
        "*resources_servers/alpha::example_metrics PASSED*",
    )
    # The conftest.py that registers probe_server_import is code of the repository: not loaded at static level.
    assert "probe_server_import" not in result.stdout.str()
    assert "::import" not in result.stdout.str()
    server = sum(1 for check in REGISTRY if check.level == Level.SERVER)
    live = sum(1 for check in REGISTRY if check.level == Level.LIVE)
    match_lines(
        result,
        f"{server + live} check(s) above --gym-level static not collected ({server} server, {live} live); "
        "run at a higher level to include them.",
    )
    result.assert_outcomes(passed=len([c for c in REGISTRY if c.level == Level.STATIC]) - 3, skipped=3)
    assert result.ret == 0
    assert not marker.exists()


def test_server_level_imports_the_server_so_the_same_folder_fails_there(repo):
    marker = broken_server(repo)

    result = repo.run(subprocess=True)

    match_lines(result, "FAILED resources_servers/alpha::probe_server_import - *")
    result.stdout.fnmatch_lines(["*app.py imports 'not_a_real_module_xyz', which is not installed*"])
    assert marker.exists()
