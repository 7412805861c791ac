"""The settings a session sends its isolation worker arrive whole."""

from __future__ import annotations

import dataclasses
import json

from gym_conform.checks.base import Level
from gym_conform.checks.context import CheckSettings
from gym_conform.checks.rules import Waiver
from gym_conform.isolate.protocol import settings_from_json, settings_to_json

# What stays in the session: the live model and its run, and where the checks run (the worker sets "child").
SESSION_ONLY = {"model", "live_repeats", "save_rollouts", "live_concurrency", "server_mode"}


def test_every_setting_a_check_reads_survives_the_trip_to_the_worker() -> None:
    sent = CheckSettings(
        level=Level.STATIC,
        update_metrics=True,
        hypothesis_profile="gym-conform-ci",
        max_examples=7,
        verify_budget=0.25,
        request_timeout=4.5,
        server_url="http://127.0.0.1:9",
        judge_standin=True,
        strict=True,
        update_expected=True,
        waivers=[Waiver(folder="a", check="license", code=None, reason="why", source="pytest.ini")],
    )
    received = settings_from_json(json.loads(json.dumps(settings_to_json(sent))))
    for field in dataclasses.fields(CheckSettings):
        if field.name not in SESSION_ONLY:
            assert getattr(received, field.name) == getattr(sent, field.name), field.name
    assert received.server_mode == "child"
