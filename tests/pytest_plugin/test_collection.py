"""Discovery and collection: node ids, selection, roots, levels and the folder's own tests."""

from __future__ import annotations

from gym_conform.checks import REGISTRY, Level
from tests.pytest_plugin.conftest import match_lines

# At static level a folder gets one item per static check; checks above the level get none.
STATIC_CHECKS = [check for check in REGISTRY if check.level == Level.STATIC]
CHECK_COUNT = len(STATIC_CHECKS)

OWN_TEST = """
def test_own_{name}():
    assert True
"""


def test_one_item_per_check_with_readable_node_ids(repo):
    repo.server()

    result = repo.static("--collect-only", "-q", "--strict-markers")

    match_lines(result, *[f"resources_servers/alpha::{check.id}" for check in STATIC_CHECKS])
    result.stdout.fnmatch_lines([f"{CHECK_COUNT} tests collected*"])
    listed = {line.rsplit("::", 1)[-1] for line in result.stdout.lines if "::" in line}
    assert listed == {check.id for check in STATIC_CHECKS}


def test_each_level_collects_the_checks_up_to_it(repo):
    repo.server()

    server = repo.run("--collect-only", "-q")
    live = repo.run("--gym-level", "live", "--collect-only", "-q")

    for result, level in ((server, Level.SERVER), (live, Level.LIVE)):
        listed = {line.rsplit("::", 1)[-1] for line in result.stdout.lines if "::" in line}
        assert listed == {check.id for check in REGISTRY if check.level <= level}


def test_every_folder_under_the_root_is_checked_and_a_path_argument_checks_one(repo):
    repo.server("alpha")
    repo.server("beta")

    assert repo.static().parseoutcomes()["passed"] == 14
    result = repo.static("resources_servers/beta", "--collect-only", "-q")

    result.stdout.fnmatch_lines(["resources_servers/beta::config", f"{CHECK_COUNT} tests collected*"])
    assert "alpha" not in result.stdout.str()


def test_k_and_deselect_select_by_node_id(repo):
    repo.server("alpha")
    repo.server("beta")

    by_keyword = repo.static("-k", "alpha and license")
    by_deselect = repo.static("--deselect", "resources_servers/alpha::readme", "--deselect", "resources_servers/beta")

    by_keyword.assert_outcomes(passed=1)
    by_keyword.stdout.fnmatch_lines([f"*1 passed, {2 * CHECK_COUNT - 1} deselected*"])
    assert by_deselect.parseoutcomes()["deselected"] == CHECK_COUNT + 1


def test_x_stops_at_the_first_failing_check(repo):
    repo.server(readme=None)

    result = repo.static("-x")

    result.assert_outcomes(passed=2, failed=1)


def test_folders_without_a_resources_server_and_folders_outside_the_roots_are_not_collected(repo):
    repo.server()
    helper = repo.path / "resources_servers" / "helpers" / "configs"
    helper.mkdir(parents=True)
    (helper / "agent.yaml").write_text("a:\n  responses_api_agents:\n    simple_agent:\n      entrypoint: app.py\n")
    other = repo.path / "vendored" / "alpha"
    other.parent.mkdir()
    (repo.path / "resources_servers" / "alpha").rename(other)
    repo.server("beta")

    result = repo.static("--collect-only", "-q")

    result.stdout.fnmatch_lines([f"{CHECK_COUNT} tests collected*"])
    assert "helpers" not in result.stdout.str() and "vendored" not in result.stdout.str()


def test_gym_root_option_and_ini_key_replace_the_default_root(repo):
    repo.server()
    (repo.path / "resources_servers").rename(repo.path / "envs")

    assert "no tests ran" in repo.static().stdout.str()
    by_option = repo.static("--gym-root", "envs", "--collect-only", "-q")
    repo.pytester.makeini("[pytest]\ngym_root = envs\n")
    by_ini = repo.static("--collect-only", "-q")

    by_option.stdout.fnmatch_lines(["envs/alpha::config"])
    by_ini.stdout.fnmatch_lines(["envs/alpha::config"])


def test_a_root_that_is_a_server_folder_is_checked(repo):
    repo.server()

    result = repo.static("--gym-root", "resources_servers/alpha", "--collect-only", "-q")

    result.stdout.fnmatch_lines(["resources_servers/alpha::config"])


def test_server_level_adds_the_folders_own_tests_after_its_checks(repo):
    folder = repo.server()
    (folder / "tests").mkdir()
    (folder / "tests" / "test_own_alpha.py").write_text(OWN_TEST.format(name="alpha"))

    server = repo.run("--collect-only", "-q")
    static = repo.static("--collect-only", "-q")

    match_lines(
        server, "resources_servers/alpha::leakage", "resources_servers/alpha/tests/test_own_alpha.py::test_own_alpha"
    )
    assert "test_own_alpha" not in static.stdout.str()


def test_a_test_file_inside_a_server_folder_can_be_selected_at_server_level(repo):
    folder = repo.server()
    (folder / "tests").mkdir()
    (folder / "tests" / "test_own_alpha.py").write_text(OWN_TEST.format(name="alpha"))

    result = repo.run("resources_servers/alpha/tests/test_own_alpha.py")

    result.assert_outcomes(passed=1)


def test_the_folders_conftest_and_init_are_not_imported_at_static_level(repo):
    folder = repo.server()
    marker = repo.path / "imported.txt"
    for code_file in (folder / "conftest.py", folder / "__init__.py", folder.parent / "__init__.py"):
        code_file.write_text(f"open({str(marker)!r}, 'a').write({code_file.name!r} + '\\n')\n")

    repo.static().assert_outcomes(passed=7, skipped=CHECK_COUNT - 7)  # leakage, task_data, manifest skip
    assert not marker.exists()

    repo.run("--collect-only")
    assert "conftest.py" in marker.read_text()
