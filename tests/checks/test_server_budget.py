"""Tests for `verify_budget`: a verify slower than the budget fails with the figure measured; fast ones pass."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed
from gym_conform.checks.server_budget import check_verify_budget
from tests.checks.server_apps import BOXED, app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")
EXAMPLE = "resources_servers/alpha/data/example.jsonl"


def slow_on_row_4(seconds: float) -> str:
    # Row 2 of the fixtures asks for 2+2; only its gold answer is slow, so one call in ten is over the budget.
    return f'import time\nif text == "\\\\boxed{{4}}":\n    time.sleep({seconds})\n' + BOXED


def test_a_fast_verify_passes(tmp_path):
    ctx = context(server_folder(tmp_path), tmp_path)

    check_verify_budget(ctx)

    assert ctx.notes == []


def test_a_5_second_verify_fails_the_default_budget_with_the_measured_figure(tmp_path):
    folder = server_folder(tmp_path, app(slow_on_row_4(5.0)))

    with pytest.raises(CheckFailed) as raised:
        check_verify_budget(context(folder, tmp_path))

    (problem,) = raised.value.problems
    assert (problem.code, problem.location.path, problem.location.line) == ("verify_budget.slow", EXAMPLE, 2)
    seconds = float(problem.message.split()[2])
    assert seconds >= 5.0
    assert problem.message.splitlines()[0] == f"verify took {seconds:.2f} s, over the budget of 3 s"
    assert '"expected_answer": "4"' in problem.message.splitlines()[-1]


def test_the_budget_is_a_setting(tmp_path):
    folder = server_folder(tmp_path, app(slow_on_row_4(0.3)))
    check_verify_budget(context(folder, tmp_path))

    with pytest.raises(CheckFailed, match="over 0.1 s"):
        check_verify_budget(context(folder, tmp_path, verify_budget=0.1))
