"""What a server needs from outside this machine: skipped with the reason named, never failed as its defect."""

from __future__ import annotations

import pytest

from gym_conform.checks import REGISTRY, CheckFailed, CheckSkipped
from gym_conform.errors import ServerError
from gym_conform.server import load_server_folder
from gym_conform.server.outside import outside_need
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401
from tests.server.test_loader import CONFIG, make_server

pytestmark = pytest.mark.usefixtures("isolated_imports")
LATE_IMPORT = "import gym_conform_no_such_package\nreward = 0.0"


def run_check(check_id: str, ctx) -> None:
    (check,) = [check for check in REGISTRY if check.id == check_id]
    check.run(ctx)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('ClientConnectorError("Cannot connect to host api.tavily.com:443 ssl:default")', "api.tavily.com:443"),
        ("URLError: <urlopen error [Errno -2] Name or service not known>", "does not resolve"),
        ("CalledProcessError: Command '['git', 'clone', '--depth=1', 'https://example.org/x', '/tmp/x']'", "https://"),
        ("RuntimeError: uv is required to build the venv but was not found on PATH.", "`uv`"),
        ("FileNotFoundError(2, \"No such file or directory: 'docker'\")", "`docker`"),
        (
            "ValueError(\"Sandbox provider reference 'sandbox' is not defined in the merged config. Define a\")",
            "a sandbox provider ('sandbox': a top-level `sandbox:` block",
        ),
        (
            "CalledProcessError: Command 'cd v && git clone https://github.com/o/VLMEvalKit/; fi'",
            "github.com/o/VLMEvalKit",
        ),
    ],
)
def test_outside_causes_are_named(text, named):
    assert named in outside_need(text)


@pytest.mark.parametrize(
    "text",
    [
        "IndexError('list index out of range')",
        'ClientConnectorError("Cannot connect to host 127.0.0.1:8000")',
        "FileNotFoundError(2, \"No such file or directory: 'data/answers.json'\")",
    ],
)
def test_the_servers_own_errors_are_not_outside_causes(text):
    assert outside_need(text) is None


def test_a_package_verify_imports_late_skips_the_check_with_the_package_and_the_install(tmp_path):
    folder = server_folder(tmp_path, app(LATE_IMPORT))
    (folder / "requirements.txt").write_text("gym-conform-no-such-package\n")

    with pytest.raises(CheckSkipped) as skipped:
        run_check("fuzz_verify", context(folder, tmp_path))

    assert "'gym_conform_no_such_package', which is not installed here" in skipped.value.reason
    assert f"pip install -r {folder / 'requirements.txt'}" in skipped.value.reason


def test_a_real_defect_still_fails_beside_it(tmp_path):
    folder = server_folder(tmp_path, app("first = body.response.output[0]\nreward = 0.0"))

    with pytest.raises(CheckFailed) as failed:
        run_check("fuzz_verify", context(folder, tmp_path))

    assert "IndexError" in failed.value.problems[0].message


def test_several_instances_narrow_to_the_primary_config_when_asked(tmp_path):
    folder = make_server(tmp_path)
    other = CONFIG.replace("toy_server", "toy_strict").replace("0.25", "0.75").replace("toy_agent", "strict_agent")
    (folder / "configs" / "aaa_strict.yaml").write_text(other)

    loaded = load_server_folder(folder, choose=True)

    assert (loaded.name, loaded.config.threshold) == ("toy_server", 0.25)
    (note,) = loaded.notes
    assert "2 different resources_servers instances" in note and "'toy_strict' (aaa_strict.yaml)" in note


def test_an_unset_value_of_the_servers_own_block_is_named(tmp_path):
    config = CONFIG.replace("threshold: 0.25", "threshold: 0.25\n      api_key: ${search_api_key}")
    folder = make_server(tmp_path, config=config)

    with pytest.raises(ServerError) as raised:
        load_server_folder(folder)

    assert raised.value.code == "server.needs_value"
    assert "toy_server.resources_servers.toy.api_key' references 'search_api_key'" in raised.value.message


def test_unset_values_of_other_blocks_and_dangling_references_do_not_stop_the_build(tmp_path):
    config = CONFIG.replace("max_steps: 4", "max_steps: 4\n      api_key: ???").replace(
        "threshold: 0.25", "threshold: 0.25\n      judge_model_server: {type: responses_api_models, name: judge}"
    )
    folder = make_server(tmp_path, config=config)

    loaded = load_server_folder(folder)

    assert loaded.config.threshold == 0.25
