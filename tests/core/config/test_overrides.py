"""Hydra-style override parsing: the seeds' syntax, value types, and clear errors."""

from __future__ import annotations

import pytest

from gym_conform.core.config.overrides import parse_overrides, parse_value
from gym_conform.errors import ConfigError, ProblemsFound


def test_seed_syntax() -> None:
    parsed = parse_overrides(
        ["+config_paths=[a.yaml,b/c.yaml]", "+output_dirpath=data/test", "+mode=example_validation"]
    )
    assert parsed == {
        "config_paths": ["a.yaml", "b/c.yaml"],
        "output_dirpath": "data/test",
        "mode": "example_validation",
    }


def test_nested_dotted_keys_build_nested_dicts() -> None:
    parsed = parse_overrides(
        [
            "++policy_model.responses_api_models.vllm_model.uses_reasoning_parser=false",
            "+responses_create_params.temperature=0.6",
        ]
    )
    assert parsed["policy_model"]["responses_api_models"]["vllm_model"]["uses_reasoning_parser"] is False
    assert parsed["responses_create_params"]["temperature"] == 0.6


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("3", 3),
        ("1e-3", 0.001),
        ("null", None),
        ("", ""),
        ("${a.b}", "${a.b}"),
        ("{x: 1}", {"x": 1}),
    ],
)
def test_values_are_typed_like_hydra(text: str, value: object) -> None:
    assert parse_value(text) == value


def test_config_paths_given_twice_are_merged() -> None:
    parsed = parse_overrides(["+config_paths=[a.yaml]", "+config_paths=[b.yaml,a.yaml]"])
    assert parsed["config_paths"] == ["a.yaml", "b.yaml"]


def test_double_plus_forces_the_last_value() -> None:
    assert parse_overrides(["+mode=a", "++mode=b"]) == {"mode": "b"}


def test_plain_key_without_plus_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_overrides(["mode=train_preparation"])
    assert caught.value.hint == "to add it, write +mode=train_preparation"


def test_every_malformed_argument_is_reported() -> None:
    with pytest.raises(ProblemsFound) as caught:
        parse_overrides(["+mode", "+a..b=1", "+ok=1"])
    fields = [p.location.field for p in caught.value.problems]
    assert fields == ["+mode", "+a..b=1"]


def test_duplicate_plain_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match="more than once"):
        parse_overrides(["+mode=a", "+mode=b"])


def test_only_true_and_false_are_booleans_as_in_hydra():
    assert parse_value("off") == "off" and parse_value("no") == "no" and parse_value("on") == "on"
    assert parse_value("true") is True and parse_value("False") is False
