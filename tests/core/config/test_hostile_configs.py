"""Hostile configs: include cycles, self-referencing interpolation, alias bombs, oversized files: located errors, fast."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gym_conform.core.config.loader import load_config
from gym_conform.core.yaml_safe import MAX_NODES, YamlTooLargeError, safe_load
from gym_conform.errors import ConfigError, GymConformError


def write(root: Path, name: str, text: str) -> str:
    (root / name).write_text(text)
    return name


def load(root: Path, *paths: str):
    return load_config({"config_paths": list(paths)}, roots=[root])


def steps(message: str) -> list[str]:
    """The file names of an include cycle's chain, in order."""
    return [Path(step).name for step in message.split("include cycle: ")[1].split(" -> ")]


def only_error(caught: pytest.ExceptionInfo) -> ConfigError:
    problems = caught.value.problems
    assert len(problems) == 1, [p.render() for p in problems]
    return problems[0]


def test_a_config_that_includes_itself(tmp_path):
    write(tmp_path, "self.yaml", "a: 1\nconfig_paths: [self.yaml]\n")

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "self.yaml")

    problem = only_error(caught)
    assert problem.code == "config.include_cycle"
    assert problem.location.path.endswith("self.yaml")
    assert (problem.location.line, problem.location.field) == (2, "config_paths[0]")
    assert steps(problem.message) == ["self.yaml", "self.yaml"]
    assert "remove this entry" in problem.hint


def test_a_cycle_through_three_configs_names_every_step(tmp_path):
    write(tmp_path, "a.yaml", "config_paths: [b.yaml]\n")
    write(tmp_path, "b.yaml", "config_paths: [c.yaml]\n")
    write(tmp_path, "c.yaml", "x: 1\nconfig_paths: [a.yaml]\n")

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "a.yaml")

    problem = only_error(caught)
    assert problem.code == "config.include_cycle"
    assert problem.location.path.endswith("c.yaml") and problem.location.line == 2
    assert steps(problem.message) == ["a.yaml", "b.yaml", "c.yaml", "a.yaml"]


def test_a_shared_include_is_not_a_cycle(tmp_path):
    write(tmp_path, "base.yaml", "x: 1\n")
    write(tmp_path, "a.yaml", "config_paths: [base.yaml]\n")
    write(tmp_path, "b.yaml", "config_paths: [base.yaml]\n")

    assert load(tmp_path, "a.yaml", "b.yaml").data["x"] == 1


@pytest.mark.parametrize(
    "text", ["a: ${a}\n", "a: ${b}\nb: ${c}\nc: ${a}\n", "a:\n  b: ${a}\n"], ids=["self", "ring", "parent"]
)
def test_a_self_referencing_interpolation(tmp_path, text):
    write(tmp_path, "x.yaml", text)

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "x.yaml")

    problems = caught.value.problems
    assert problems and all(p.code == "config.interpolation_cycle" for p in problems), [p.render() for p in problems]
    assert all(p.location.line for p in problems)
    assert "refers to itself" in problems[0].message and "plain value" in problems[0].hint


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for index in range(1, levels):
        name, previous = chr(ord("a") + index), chr(ord("a") + index - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_before_it_is_built(tmp_path):
    write(tmp_path, "bomb.yaml", billion_laughs())  # 9**9 = 387 million strings once expanded

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "bomb.yaml")

    problem = only_error(caught)
    assert problem.code == "config.yaml_too_large"
    assert f"more than {MAX_NODES:,} nodes" in problem.message
    assert 5 <= problem.location.line <= 9  # the level where the expansion passed the limit
    with pytest.raises(YamlTooLargeError):
        safe_load(billion_laughs())  # the project's other YAML reads refuse it the same way


def test_a_recursive_alias_is_refused(tmp_path):
    write(tmp_path, "loop.yaml", "a: &a [1, *a]\n")

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "loop.yaml")

    assert only_error(caught).code == "config.yaml_too_large"
    assert "contains it" in only_error(caught).message


def test_aliases_of_a_normal_size_still_load(tmp_path):
    write(tmp_path, "ok.yaml", "base: &base {x: 1, y: [1, 2]}\nfirst: *base\nsecond: *base\n")

    assert load(tmp_path, "ok.yaml").data["second"] == {"x": 1, "y": [1, 2]}


def test_an_oversized_config_file_is_not_read(tmp_path):
    with open(tmp_path / "huge.yaml", "wb") as handle:
        handle.truncate(2 << 30)

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "huge.yaml")

    assert only_error(caught).code == "config.yaml_too_large"


def test_a_config_path_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it for reading would wait for a writer forever

    with pytest.raises(GymConformError) as caught:
        load(tmp_path, "pipe.yaml")

    problem = only_error(caught)
    assert problem.code == "file.not_regular" and "FIFO" in problem.message
    assert problem.location.field == "config_paths[0]"
