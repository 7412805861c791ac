"""Tests for the check registry, levels and the CheckFailed / CheckSkipped outcomes."""

from __future__ import annotations

import pytest

from gym_conform.checks import REGISTRY, Check, CheckFailed, CheckSkipped, Level, checks_for, register
from gym_conform.errors import GymConformError, Problem

STATIC_IDS = [
    "config",
    "license",
    "readme",
    "example_data",
    "example_metrics",
    "example_rollouts",
    "data_conflicts",
    "leakage",
    "task_data",
    "manifest",
]


def test_static_checks_are_registered_in_display_order():
    assert [check.id for check in REGISTRY if check.level == Level.STATIC] == STATIC_IDS


def test_checks_for_a_level_include_the_levels_below_it():
    assert [check.id for check in checks_for(Level.STATIC)] == STATIC_IDS
    assert all(check.level <= Level.SERVER for check in checks_for(Level.SERVER))
    assert len(checks_for(Level.LIVE)) == len(REGISTRY)


def test_register_refuses_a_duplicate_id():
    with pytest.raises(ValueError, match="'license' is already registered"):
        register(Check("license", Level.STATIC, "again", lambda ctx: None))


def test_register_refuses_an_id_that_would_make_an_awkward_node_id():
    with pytest.raises(ValueError, match="lower-case letters"):
        register(Check("Bad Id", Level.STATIC, "bad", lambda ctx: None))


@pytest.mark.parametrize("text, level", [("static", Level.STATIC), (" Server ", Level.SERVER), ("LIVE", Level.LIVE)])
def test_level_parse(text, level):
    assert Level.parse(text) is level
    assert level.label == text.strip().lower()


def test_level_parse_names_the_choices():
    with pytest.raises(ValueError, match="use one of: static, server, live"):
        Level.parse("fast")


def test_check_failed_carries_its_problems_and_renders_them():
    problem = Problem("x.y", "it is wrong", hint="fix it")
    failed = CheckFailed([problem], summary="1 thing")

    assert isinstance(failed, GymConformError)
    assert failed.code == "check.failed"
    assert failed.problems == [problem]
    assert "it is wrong [x.y]" in failed.render()
    assert failed.render().endswith("1 thing")


def test_check_failed_needs_a_problem():
    with pytest.raises(ValueError):
        CheckFailed([])


def test_check_skipped_keeps_its_reason():
    assert CheckSkipped("no file").reason == "no file"
