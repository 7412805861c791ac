"""Tests for values a config leaves to its user: placeholders and `config.needs_value` instead of a stop."""

from __future__ import annotations

import pytest

from gym_conform.core.config.loader import load_config
from gym_conform.core.config.unset import NEEDS_VALUE, UNSET_MARK
from gym_conform.errors import ConfigError

CONFIG = """\
judge:
  resources_servers:
    judge:
      entrypoint: app.py
      url: ${oc.env:GYM_CONFORM_TEST_UNSET_URL}
      key: ${judge_api_key}
      model: ???
      copy_of_url: ${judge.resources_servers.judge.url}
      port: 8000
"""


def write(tmp_path, text=CONFIG):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_without_a_needs_list_an_unset_value_stops_the_load(tmp_path, monkeypatch):
    monkeypatch.delenv("GYM_CONFORM_TEST_UNSET_URL", raising=False)
    with pytest.raises(ConfigError):
        load_config({"config_paths": [str(write(tmp_path))]}, roots=[tmp_path])


def test_each_unset_value_becomes_a_placeholder_and_a_located_need(tmp_path, monkeypatch):
    monkeypatch.delenv("GYM_CONFORM_TEST_UNSET_URL", raising=False)
    needs: list[ConfigError] = []

    cfg = load_config({"config_paths": [str(write(tmp_path))]}, roots=[tmp_path], needs=needs)

    fields = cfg.data["judge"]["resources_servers"]["judge"]
    assert fields["port"] == 8000
    assert all(fields[key].startswith(UNSET_MARK) for key in ("url", "key", "model", "copy_of_url"))
    by_field = {e.location.field: e for e in needs}
    assert {e.code for e in needs} == {NEEDS_VALUE}
    assert by_field["judge.resources_servers.judge.model"].location.line == 7
    assert "environment variable 'GYM_CONFORM_TEST_UNSET_URL'" in by_field["judge.resources_servers.judge.url"].message
    assert "references 'judge_api_key'" in by_field["judge.resources_servers.judge.key"].message
    assert "++judge_api_key=<value>" in by_field["judge.resources_servers.judge.key"].hint


def test_a_set_variable_is_used_and_needs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GYM_CONFORM_TEST_UNSET_URL", "http://judge")
    text = CONFIG.replace("${judge_api_key}", "k").replace("???", "m")
    needs: list[ConfigError] = []

    cfg = load_config({"config_paths": [str(write(tmp_path, text))]}, roots=[tmp_path], needs=needs)

    assert needs == []
    assert cfg.data["judge"]["resources_servers"]["judge"]["copy_of_url"] == "http://judge"


def test_a_malformed_interpolation_is_still_an_error(tmp_path):
    text = CONFIG.replace("${judge_api_key}", "${judge_api_key")
    with pytest.raises(ConfigError) as raised:
        load_config({"config_paths": [str(write(tmp_path, text))]}, roots=[tmp_path], needs=[])
    assert raised.value.code == "config.interpolation"
