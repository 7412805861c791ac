"""Tests for running Hypothesis inside a check: the two profiles and the shrunk counterexample as a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from gym_conform.checks import CheckFailed, CheckSettings, FolderContext
from gym_conform.checks.properties import CI_PROFILE, DEV_PROFILE, Violation, profile_settings, run_property
from gym_conform.errors import Location

WHERE = Location("resources_servers/alpha/app.py", 3, "verify")


def context(tmp_path, **settings) -> FolderContext:
    return FolderContext(tmp_path, CheckSettings(**settings), root=tmp_path)


def test_the_ci_profile_is_reproducible_and_database_free():
    ci = settings.get_profile(CI_PROFILE)

    assert (ci.derandomize, ci.database, ci.max_examples, ci.deadline, ci.print_blob) == (True, None, 30, None, False)
    assert {HealthCheck.too_slow, HealthCheck.data_too_large} <= set(ci.suppress_health_check)


def test_the_dev_profile_runs_more_examples_and_remembers_failures():
    dev = settings.get_profile(DEV_PROFILE)

    assert dev.max_examples > settings.get_profile(CI_PROFILE).max_examples
    assert dev.database is not None and not dev.derandomize


def test_the_dev_profile_keeps_its_database_when_hypothesis_sees_a_ci_environment():
    # Hypothesis loads its own database-free "ci" profile when CI is set; ours must not inherit from it.
    probe = (
        "from hypothesis import settings\n"
        "from gym_conform.checks.properties import DEV_PROFILE\n"
        "dev = settings.get_profile(DEV_PROFILE)\n"
        "print(settings._current_profile, dev.database is not None, dev.derandomize)\n"
    )
    env = {**os.environ, "CI": "true"}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)

    assert result.stdout.split() == ["ci", "True", "False"]


def test_max_examples_from_the_settings_overrides_the_profile(tmp_path):
    chosen = profile_settings(context(tmp_path, hypothesis_profile=CI_PROFILE, max_examples=7))

    assert chosen.max_examples == 7 and chosen.derandomize
    assert Phase.explain not in chosen.phases


def test_a_violation_becomes_one_problem_with_the_shrunk_example_as_a_json_line(tmp_path):
    def at_most_ten(number: int) -> None:
        if number > 10:
            raise Violation("demo.too_big", f"{number} is above 10", json.dumps({"number": number}))

    with pytest.raises(CheckFailed) as raised:
        run_property(
            context(tmp_path, hypothesis_profile=CI_PROFILE),
            "demo",
            st.integers(0, 1000),
            at_most_ten,
            location=WHERE,
            hint="paste it",
        )

    (problem,) = raised.value.problems
    assert problem.code == "demo.too_big"
    assert problem.message.splitlines() == [
        "11 is above 10",
        "    counterexample (shrunk), one JSON line:",
        '    {"number": 11}',
    ]
    assert (problem.location, problem.hint) == (WHERE, "paste it")
    assert raised.value.summary == "demo: 11 is above 10"


def test_a_violation_may_name_its_own_location(tmp_path):
    elsewhere = Location("resources_servers/alpha/app.py", 9, "seed_session")

    def always(number: int) -> None:
        raise Violation("demo.seed", "refused", "{}", elsewhere)

    with pytest.raises(CheckFailed) as raised:
        run_property(
            context(tmp_path, hypothesis_profile=CI_PROFILE), "demo", st.integers(), always, location=WHERE, hint=""
        )

    assert raised.value.problems[0].location == elsewhere


def test_a_property_that_holds_passes_and_a_bug_in_it_is_not_hidden(tmp_path):
    ctx = context(tmp_path, hypothesis_profile=CI_PROFILE)
    run_property(ctx, "demo", st.integers(), lambda number: None, location=WHERE, hint="")

    def broken(number: int) -> None:
        raise KeyError("not a violation")

    with pytest.raises(KeyError):
        run_property(ctx, "demo", st.integers(), broken, location=WHERE, hint="")
