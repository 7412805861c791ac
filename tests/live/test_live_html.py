"""--gym-html for a live run: the reward histogram, the mean with its interval and the rows that never vary, as
headless Chromium renders them."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.browser import rendered
from tests.live import make_repo, run_pytest, tool_results, user_text
from tests.standins.openai_server import OpenAIStandIn, Reply, chat_completion, tool_call


def test_live_charts(tmp_path):
    paris_first_turns = itertools.count()

    def model(request):
        if tool_results(request) or "Paris" not in user_text(request):
            return Reply(chat_completion("It is nice out."))
        # Paris: every other sample looks the weather up, so that row's reward varies.
        if next(paris_first_turns) % 2 == 0:
            return Reply(chat_completion(tool_calls=[tool_call("get_weather", {"city": "Paris"})]))
        return Reply(chat_completion("It is nice out."))

    root = make_repo(tmp_path, "example_single_tool_call", ini="gym_live_repeats = 3\n")
    with OpenAIStandIn(default=model) as standin:
        result = run_pytest(
            root, "--gym-model-url", standin.base_url, "--gym-model-name", "tiny",
            "--gym-report", "report.json", "--gym-html", "report.html",
        )  # fmt: skip

    assert result.returncode == 0, result.output
    live = json.loads((root / "report.json").read_text())["servers"][0]["live"]
    interval = live["mean_reward_ci95"]
    assert interval["rows"] == 5 and interval["low"] <= live["mean_reward"] <= interval["high"]
    shown = rendered(root / "report.html")

    (bars,) = shown["histograms"]
    assert [(bar["label"], bar["count"]) for bar in bars] == [("0", 13), ("1", 2)]
    # Drawn to scale: the tallest bar is 160 px, the others in proportion.
    assert [bar["height"] for bar in bars] == pytest.approx([160, 160 * 2 / 13], abs=1.0)
    assert all(bar["width"] > 0 for bar in bars)
    (mean,) = shown["means"]
    assert mean["mean"] == pytest.approx(2 / 15)
    assert (mean["low"], mean["high"]) == (pytest.approx(interval["low"]), pytest.approx(interval["high"]))
    assert "95% confidence interval" in mean["text"] and "over 5 rows" in mean["text"]
    (drawn,) = shown["intervals"]
    # The interval's line spans (high - low) of the 400 px axis; the mean's dot sits on it.
    assert drawn["line"]["width"] == pytest.approx(400 * (interval["high"] - interval["low"]), abs=1.5)
    dot_centre = drawn["dot"]["x"] + drawn["dot"]["width"] / 2
    assert drawn["line"]["x"] - 1 <= dot_centre <= drawn["line"]["x"] + drawn["line"]["width"] + 1
    assert shown["constant"] == [["2", "0", "3"], ["3", "0", "3"], ["4", "0", "3"], ["5", "0", "3"]]
