"""Tests for FolderContext: config selection and caching, example rows, paths, the event loop."""

from __future__ import annotations

import asyncio

import pytest

from gym_conform.checks import CheckSettings, CheckSkipped, FolderContext, Level
from gym_conform.checks.context import count_lines
from gym_conform.errors import ConfigError, GymConformError, ServerError
from tests.checks import CONFIG, ROWS, build_server, make_row


def context(folder, root, level=Level.STATIC, **settings) -> FolderContext:
    return FolderContext(folder, CheckSettings(level=level, **settings), root=root)


def test_display_and_show_are_relative_to_the_root(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)

    assert ctx.display == "resources_servers/alpha"
    assert ctx.show(ctx.example_path) == "resources_servers/alpha/data/example.jsonl"
    assert repr(ctx) == "FolderContext('resources_servers/alpha', level=static)"


def test_the_primary_config_is_the_one_named_after_the_folder(tmp_path):
    folder = build_server(tmp_path)
    (folder / "configs" / "aaa_variant.yaml").write_text(CONFIG.format(name="alpha", train_license="MIT"))

    assert context(folder, tmp_path).primary_config_file.name == "alpha.yaml"


def test_without_a_named_config_the_first_declaring_a_resources_server_is_primary(tmp_path):
    folder = build_server(tmp_path)
    (folder / "configs" / "alpha.yaml").rename(folder / "configs" / "zzz.yaml")
    (folder / "configs" / "aaa_model.yaml").write_text(
        "m:\n  responses_api_models:\n    x:\n      entrypoint: app.py\n"
    )

    assert context(folder, tmp_path).primary_config_file.name == "zzz.yaml"


def test_no_config_file_is_a_located_config_error(tmp_path):
    folder = tmp_path / "resources_servers" / "empty"
    folder.mkdir(parents=True)

    with pytest.raises(ConfigError) as raised:
        _ = context(folder, tmp_path).primary_config_file

    assert raised.value.code == "config.no_file"
    assert "configs/empty.yaml" in raised.value.hint


def test_a_config_error_is_raised_again_on_every_access_without_reloading(tmp_path, monkeypatch):
    folder = build_server(tmp_path, config="alpha: [unclosed\n")
    ctx = context(folder, tmp_path)
    with pytest.raises(GymConformError) as first:
        _ = ctx.config
    (folder / "configs" / "alpha.yaml").write_text(CONFIG.format(name="alpha", train_license="MIT"))
    with pytest.raises(GymConformError) as second:
        _ = ctx.config

    assert first.value is second.value
    assert first.value.code == "config.yaml"


def test_instances_and_resources_instance(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)

    assert [i.name for i in ctx.instances] == ["alpha_resources_server", "alpha_simple_agent", "policy_model"]
    assert ctx.resources_instance.name == "alpha_resources_server"


def test_dataset_entries_are_validated_one_by_one(tmp_path):
    ctx = context(build_server(tmp_path, train_license="Apache-2.0"), tmp_path)

    train, validation, example = ctx.dataset_entries()

    assert (train.type, train.model) == ("train", None)
    assert validation.model is not None and validation.model.license == "Apache 2.0"
    assert train.location.line == 19 and train.location.path.endswith("alpha.yaml")
    assert ctx.example_dataset == example


def test_points_to_and_resolve_data_path(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)

    assert ctx.points_to("resources_servers/alpha/data/example.jsonl", ctx.example_path)
    assert ctx.points_to(str(ctx.example_path), ctx.example_path)
    assert not ctx.points_to("resources_servers/alpha/data/train.jsonl", ctx.example_path)
    assert ctx.resolve_data_path("resources_servers/alpha/data/example.jsonl") == ctx.example_path


def test_example_scan_lists_every_bad_row_with_line_and_field(tmp_path):
    rows = [ROWS[0], "{not json", {"responses_create_params": {"input": [{"role": "usr", "content": "x"}]}}, ROWS[1]]
    ctx = context(build_server(tmp_path, rows=rows), tmp_path)

    scan = ctx.example_scan

    assert [line for line, _ in scan.rows] == [1, 4]
    assert [(p.location.line, p.code) for p in scan.problems] == [(2, "row.json"), (3, "row.schema")]
    assert scan.problems[1].location.field == "responses_create_params.input[0].role"
    assert scan.problems[1].location.path == "resources_servers/alpha/data/example.jsonl"
    assert ctx.example_rows == scan.rows


def test_example_scan_reports_a_field_that_mixes_numbers_and_strings(tmp_path):
    rows = [make_row(1, level=3), make_row(2, level="hard")]
    scan = context(build_server(tmp_path, rows=rows), tmp_path).example_scan

    assert [(p.location.line, p.code) for p in scan.problems] == [(2, "metrics.mixed_types")]


def test_count_lines_counts_like_nemo_gyms_ci(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text("a\n\nb")
    assert count_lines(path) == (3, [2])
    path.write_text("a\nb\n")
    assert count_lines(path) == (2, [])


def test_the_server_is_never_loaded_at_static_level(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)

    with pytest.raises(CheckSkipped, match="not loaded at --gym-level static"):
        _ = ctx.server


def test_run_async_uses_one_loop_and_close_runs_cleanups_last_first(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path, level=Level.SERVER)
    calls = []

    async def loop_id():
        return id(asyncio.get_running_loop())

    async def async_cleanup():
        calls.append("async")

    ctx.add_cleanup(lambda: calls.append("sync"))
    ctx.add_cleanup(async_cleanup)

    assert ctx.run_async(loop_id()) == ctx.run_async(loop_id())
    ctx.close()
    assert calls == ["async", "sync"]


def test_close_reraises_the_first_cleanup_error_after_running_all(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)
    calls = []

    def boom():
        raise RuntimeError("boom")

    ctx.add_cleanup(lambda: calls.append("ran"))
    ctx.add_cleanup(boom)

    with pytest.raises(RuntimeError, match="boom"):
        ctx.close()
    assert calls == ["ran"]


def test_notes_are_kept_in_order(tmp_path):
    ctx = context(build_server(tmp_path), tmp_path)
    ctx.note("one")
    ctx.note("two")

    assert ctx.notes == ["one", "two"]


def test_the_server_is_loaded_once_at_server_level_even_when_it_fails(tmp_path, monkeypatch):
    import gym_conform.server.loader as loader

    calls = []

    def broken(folder, **_options):
        calls.append(folder)
        raise ServerError("app.py imports 'nope', which is not installed", code="server.import")

    monkeypatch.setattr(loader, "load_server_folder", broken)
    ctx = context(build_server(tmp_path), tmp_path, level=Level.SERVER)

    for _ in range(2):
        with pytest.raises(ServerError, match="imports 'nope'"):
            _ = ctx.server
    assert calls == [ctx.folder]
