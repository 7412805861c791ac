"""Tests for NeMo Gym's _inherit_from / _copy / _delete_key directives."""

import pytest

from gym_conform.core.config.directives import apply_directives
from gym_conform.errors import ConfigError, Location, ProblemsFound

GENERIC = {"resources_servers": {"math_with_judge": {"entrypoint": "app.py", "domain": "math", "judge": "x"}}}


def test_inherit_from_string_moves_the_source_node():
    tree, moves = apply_directives({"generic": GENERIC, "specific": "${inherit_from:generic}"})
    assert tree == {"specific": GENERIC}
    assert moves == [(("specific",), ("generic",))]


def test_inherit_from_key_merges_sibling_overrides_over_the_source():
    tree, _ = apply_directives(
        {
            "generic": GENERIC,
            "specific": {
                "_inherit_from": "generic",
                "resources_servers": {"math_with_judge": {"domain": "other"}},
            },
        }
    )
    assert "generic" not in tree
    assert tree["specific"]["resources_servers"]["math_with_judge"] == {
        "entrypoint": "app.py",
        "domain": "other",
        "judge": "x",
    }


def test_copy_keeps_the_source():
    tree, _ = apply_directives({"generic": GENERIC, "a": "${copy:generic}", "b": {"_copy": "generic"}})
    assert tree["generic"] == GENERIC
    assert tree["a"] == GENERIC
    assert tree["b"] == GENERIC


def test_several_nodes_may_inherit_from_the_same_source():
    tree, _ = apply_directives({"g": {"v": 1}, "a": {"_inherit_from": "g"}, "b": {"_inherit_from": "g", "w": 2}})
    assert tree == {"a": {"v": 1}, "b": {"v": 1, "w": 2}}


def test_dotted_source_paths_reach_nested_nodes():
    tree, _ = apply_directives({"outer": {"inner": {"v": 1}}, "x": "${copy:outer.inner}"})
    assert tree["x"] == {"v": 1}


def test_delete_key_removes_the_named_keys_after_inheriting():
    tree, _ = apply_directives(
        {"g": {"a": 1, "b": 2, "c": 3}, "s": {"_inherit_from": "g", "_delete_key": "a, b", "d": 4}}
    )
    assert tree == {"s": {"c": 3, "d": 4}}


def test_delete_key_of_an_absent_key_is_an_error_with_a_suggestion():
    with pytest.raises(ConfigError) as info:
        apply_directives({"s": {"judge_model": 1, "_delete_key": "judge_modl"}})
    assert info.value.code == "config.delete_key_not_found"
    assert "judge_model" in info.value.hint


def test_missing_source_path_is_reported_with_a_suggestion():
    with pytest.raises(ConfigError) as info:
        apply_directives({"math_with_judge": {}, "s": {"_inherit_from": "math_with_jugde"}})
    assert info.value.code == "config.inherit_not_found"
    assert "'math_with_jugde'" in info.value.message
    assert "Did you mean 'math_with_judge'?" in info.value.hint
    assert info.value.location.field == "s._inherit_from"


def test_every_broken_directive_is_reported():
    with pytest.raises(ProblemsFound) as info:
        apply_directives({"a": "${inherit_from:nope}", "b": {"_copy": "also.nope"}})
    assert [p.code for p in info.value.problems] == ["config.inherit_not_found"] * 2


def test_a_node_cannot_inherit_from_itself_or_a_parent():
    with pytest.raises(ConfigError) as info:
        apply_directives({"a": {"b": {"_copy": "a"}}})
    assert info.value.code == "config.inherit_cycle"


def test_mutual_copies_are_a_cycle_not_an_endless_loop():
    with pytest.raises(ProblemsFound) as info:
        apply_directives({"a": {"x": {"_copy": "b"}}, "b": {"y": {"_copy": "a"}}})
    assert {p.code for p in info.value.problems} == {"config.inherit_cycle"}


def test_locate_callback_places_errors():
    seen = []

    def locate(path):
        seen.append(path)
        return Location("cfg.yaml", 9, ".".join(map(str, path)))

    with pytest.raises(ConfigError) as info:
        apply_directives({"s": "${inherit_from:nope}"}, locate)
    assert (info.value.location.path, info.value.location.line) == ("cfg.yaml", 9)
    assert seen == [("s",)]


def test_other_interpolations_are_left_alone():
    tree, moves = apply_directives({"a": "${b}", "b": "x ${inherit_from:c} y"})
    assert tree == {"a": "${b}", "b": "x ${inherit_from:c} y"}
    assert moves == []


def test_overrides_that_clash_with_the_inherited_shape_are_reported():
    with pytest.raises(ConfigError) as info:
        apply_directives({"g": {"items": [1, 2]}, "s": {"_inherit_from": "g", "items": {"a": 1}}})
    assert info.value.code == "config.directive"


def test_inheriting_a_scalar_with_overrides_is_reported():
    with pytest.raises(ConfigError) as info:
        apply_directives({"g": 5, "s": {"_inherit_from": "g", "x": 1}})
    assert info.value.code == "config.directive"
