"""load_server_folder: configs + app.py to a live server, and a clear error for each way that can fail."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from gym_conform.errors import GymConformError, ProblemsFound, ServerError
from gym_conform.server import load_server_folder

CONFIG = """\
toy_server:
  resources_servers:
    toy:
      entrypoint: app.py
      domain: other
      threshold: 0.25
toy_agent:
  responses_api_agents:
    simple_agent:
      entrypoint: app.py
      max_steps: 4
      resources_server: {type: resources_servers, name: toy_server}
      model_server: {type: responses_api_models, name: policy_model}
"""

APP = """\
from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer, ResourcesServerConfig


class ToyConfig(ResourcesServerConfig):
    threshold: float = 0.5


class ToyServer(ResourcesServer):
    config_class = ToyConfig

    async def verify(self, body: BaseVerifyRequest) -> BaseVerifyResponse:
        return BaseVerifyResponse(**body.model_dump(), reward=REWARD)


REWARD = 1.0
"""


@pytest.fixture(autouse=True)
def isolated_imports(monkeypatch):
    """Undo the sys.path entries and modules a load adds, so tmp servers never leak into other tests."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]


def make_server(root: Path, name: str = "toy", app: str = APP, config: str = CONFIG, **files: str) -> Path:
    folder = root / "resources_servers" / name
    (folder / "configs").mkdir(parents=True)
    (folder / "configs" / f"{name}.yaml").write_text(config)
    (folder / "app.py").write_text(textwrap.dedent(app))
    for file_name, text in files.items():
        (folder / file_name).write_text(textwrap.dedent(text))
    return folder


def load_error(folder: Path, **options) -> GymConformError:
    with pytest.raises(GymConformError) as caught:
        load_server_folder(folder, **options)
    return caught.value


def test_a_server_folder_loads_with_its_config_and_module_name(tmp_path):
    folder = make_server(tmp_path)
    loaded = load_server_folder(folder)
    assert (loaded.name, loaded.implementation) == ("toy_server", "toy")
    assert loaded.config.threshold == 0.25 and loaded.config.name == "toy_server"
    assert loaded.config.domain == "other" and type(loaded.config).__name__ == "ToyConfig"
    assert loaded.config_path == folder / "configs" / "toy.yaml" and loaded.app_path == folder / "app.py"
    assert type(loaded.server).__module__ == "resources_servers.toy.app"
    assert importlib.import_module("resources_servers.toy.app").ToyServer is type(loaded.server)
    agent = next(i for i in loaded.instances if i.name == "toy_agent")
    assert agent.fields["max_steps"] == 4


def test_app_can_import_its_siblings_in_both_styles(tmp_path):
    app = APP.replace(
        "REWARD = 1.0", "from scoring import BONUS\nfrom resources_servers.toy.weights import W\nREWARD = BONUS * W"
    )
    folder = make_server(tmp_path, app=app, **{"scoring.py": "BONUS = 0.5\n", "weights.py": "W = 2\n"})
    loaded = load_server_folder(folder)
    assert sys.modules[type(loaded.server).__module__].REWARD == 1.0


def test_a_folder_outside_resources_servers_gets_a_stable_unique_module_name(tmp_path):
    folder = make_server(tmp_path).rename(tmp_path / "toy")
    first, second = load_server_folder(folder), load_server_folder(folder)
    module = type(first.server).__module__
    assert module.startswith("gym_conform_servers.toy_") and module.endswith(".app")
    assert type(second.server) is type(first.server)


def test_an_edited_app_is_imported_again(tmp_path):
    folder = make_server(tmp_path)
    first = load_server_folder(folder)
    (folder / "app.py").write_text(APP.replace("REWARD = 1.0", "REWARD = 0.0  # edited"))
    second = load_server_folder(folder)
    assert sys.modules[type(first.server).__module__].REWARD == 0.0
    assert type(second.server) is not type(first.server)


def test_a_missing_module_names_it_and_how_to_install_it(tmp_path):
    folder = make_server(tmp_path, app="import os\nimport not_a_real_pkg_xyz.sub\n" + APP)
    error = load_error(folder)
    assert error.code == "server.import" and "not_a_real_pkg_xyz" in error.message
    assert "pip install not_a_real_pkg_xyz" in error.hint and "requirements.txt" in error.hint
    assert (error.location.path, error.location.line) == (str(folder / "app.py"), 2)
    assert "Traceback" not in error.render()


def test_a_syntax_error_gives_file_and_line(tmp_path):
    folder = make_server(tmp_path, app=APP + "\ndef broken(:\n    pass\n")
    error = load_error(folder)
    assert error.code == "server.syntax"
    assert error.location.path.endswith("app.py") and error.location.line == APP.count("\n") + 2


def test_an_exception_while_importing_gives_its_type_and_message(tmp_path):
    folder = make_server(tmp_path, app=APP + "SCALE = 1 / 0\n")
    error = load_error(folder)
    assert error.code == "server.import_failed"
    assert "ZeroDivisionError: division by zero" in error.message and "Traceback" not in error.render()
    assert error.location.line == APP.count("\n") + 1


def test_two_server_classes_are_an_error_naming_both(tmp_path):
    folder = make_server(tmp_path, app=APP + "\n\nclass OtherServer(ResourcesServer):\n    pass\n")
    error = load_error(folder)
    assert error.code == "server.several_classes"
    assert "OtherServer" in error.message and "ToyServer" in error.message


def test_a_base_class_and_its_subclass_load_the_subclass(tmp_path):
    folder = make_server(tmp_path, app=APP + "\n\nclass StrictToyServer(ToyServer):\n    pass\n")
    assert type(load_server_folder(folder).server).__name__ == "StrictToyServer"


def test_an_app_without_a_server_class_is_an_error(tmp_path):
    error = load_error(make_server(tmp_path, app="X = 1\n"))
    assert error.code == "server.no_class" and "ResourcesServer" in error.hint


def test_a_server_whose_init_fails_is_reported_with_the_line(tmp_path):
    init = "\n    def __init__(self, *args, **kwargs):\n        raise ValueError('no judge configured')\n"
    folder = make_server(
        tmp_path, app=APP.replace("    config_class = ToyConfig\n", "    config_class = ToyConfig\n" + init)
    )
    error = load_error(folder)
    assert error.code == "server.init_failed" and "ValueError: no judge configured" in error.message
    assert error.location.line == 12


def test_a_config_block_the_server_rejects_points_at_the_yaml_line(tmp_path):
    folder = make_server(tmp_path, config=CONFIG.replace("threshold: 0.25", "threshold: high"))
    error = load_error(folder)
    assert isinstance(error, ProblemsFound)
    (problem,) = error.problems
    assert problem.code == "server.config"
    assert problem.location.field == "toy_server.resources_servers.toy.threshold"
    assert problem.location.path.endswith("toy.yaml") and problem.location.line == 6


def test_missing_folder_configs_and_entrypoint_are_clear_errors(tmp_path):
    assert load_error(tmp_path / "nowhere").code == "server.folder_missing"
    bare = tmp_path / "resources_servers" / "bare"
    bare.mkdir(parents=True)
    assert load_error(bare).code == "server.no_config"
    folder = make_server(tmp_path)
    (folder / "app.py").unlink()
    error = load_error(folder)
    assert error.code == "server.entrypoint_missing" and error.location.line == 4


def test_several_different_instances_must_be_picked_with_config_file(tmp_path):
    folder = make_server(tmp_path)
    other = CONFIG.replace("toy_server", "toy_strict").replace("0.25", "0.75").replace("toy_agent", "strict_agent")
    (folder / "configs" / "strict.yaml").write_text(other)
    error = load_error(folder)
    assert error.code == "server.several_instances" and "config_file" in error.hint
    assert "toy_server" in error.message and "toy_strict" in error.message
    picked = load_server_folder(folder, config_file=folder / "configs" / "strict.yaml")
    assert (picked.name, picked.config.threshold) == ("toy_strict", 0.75)


def test_the_same_instance_in_several_configs_is_one_instance(tmp_path):
    folder = make_server(tmp_path)
    (folder / "configs" / "again.yaml").write_text(CONFIG.replace("toy_agent", "another_agent"))
    assert load_server_folder(folder).name == "toy_server"


def test_configs_without_this_folders_implementation_are_an_error(tmp_path):
    folder = make_server(tmp_path, config=CONFIG.replace("    toy:", "    other_impl:"))
    error = load_error(folder)
    assert isinstance(error, ServerError) and error.code == "server.no_instance"
