"""Tests for the `license` check: exact license strings, required for train and validation."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, FolderContext, Level
from gym_conform.checks.static_license import check_license
from tests.checks import CONFIG, README, build_server


def run(folder, root) -> None:
    check_license(FolderContext(folder, CheckSettings(level=Level.STATIC), root=root))


def test_valid_licenses_pass(tmp_path):
    run(build_server(tmp_path), tmp_path)


def test_a_near_miss_names_the_valid_string_and_the_yaml_line(tmp_path):
    folder = build_server(tmp_path, train_license="Apache-2.0")

    with pytest.raises(CheckFailed) as raised:
        run(folder, tmp_path)

    (problem,) = raised.value.problems
    assert problem.code == "license.invalid"
    assert problem.message == "'Apache-2.0' is not a valid license"
    assert problem.hint.startswith("Use 'Apache 2.0'")
    assert problem.location.path.endswith("resources_servers/alpha/configs/alpha.yaml")
    assert problem.location.line == 22


def test_a_train_dataset_without_license_fails(tmp_path):
    text = CONFIG.format(name="alpha", train_license="MIT").replace("        license: MIT\n", "")
    folder = build_server(tmp_path, config=text)

    with pytest.raises(CheckFailed) as raised:
        run(folder, tmp_path)

    (problem,) = raised.value.problems
    assert problem.code == "license.missing"
    assert problem.message == "A license is required for train"


def test_a_config_that_does_not_load_fails_the_license_check_too(tmp_path):
    folder = build_server(tmp_path, config="a: [unclosed\n")

    with pytest.raises(CheckFailed) as raised:
        run(folder, tmp_path)

    assert [p.code for p in raised.value.problems] == ["config.yaml"]


def test_other_config_problems_are_left_to_the_config_check(tmp_path):
    config = CONFIG.format(name="alpha", train_license="MIT").replace("math", "maths", 1)
    folder = build_server(
        tmp_path, config=config, readme=README.replace("Data: Apache 2.0", "Data: MIT (train), Apache 2.0")
    )

    run(folder, tmp_path)
