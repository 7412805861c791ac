"""Tests for mapping config key paths back to YAML files and lines."""

import pytest

from gym_conform.core.config.sourcemap import Source, SourceMap, dotted_path, load_yaml, plain_source
from gym_conform.errors import ConfigError

YAML_TEXT = """\
server:
  resources_servers:
    impl:
      entrypoint: app.py
      datasets:
      - name: train
        license: MIT
      - name: example
"""


def test_dotted_path_renders_list_indices_in_brackets():
    assert dotted_path(["a", "datasets", 0, "license"]) == "a.datasets[0].license"
    assert dotted_path([]) == ""


def test_load_yaml_returns_safe_load_data_and_line_of_every_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(YAML_TEXT)
    data, source = load_yaml(path)
    assert data["server"]["resources_servers"]["impl"]["datasets"][1] == {"name": "example"}
    base = ("server", "resources_servers", "impl")
    assert source.lines[(*base, "entrypoint")] == 4
    assert source.lines[(*base, "datasets", 0)] == 6
    assert source.lines[(*base, "datasets", 0, "license")] == 7
    assert source.lines[(*base, "datasets", 1, "name")] == 8


def test_load_yaml_refuses_python_tags(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert info.value.code == "config.yaml"


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb:\n  c: [1, 2\nd: 3\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert info.value.code == "config.yaml"
    assert info.value.location.path == str(path)
    assert info.value.location.line == 4
    assert "Invalid YAML" in info.value.message


def test_locate_prefers_the_layer_merged_last():
    sourcemap = SourceMap([Source("a.yaml", {("x",): 1, ("x", "y"): 2}), Source("b.yaml", {("x",): 5, ("x", "y"): 6})])
    location = sourcemap.locate(["x", "y"])
    assert (location.path, location.line, location.field) == ("b.yaml", 6, "x.y")


def test_locate_falls_back_to_nearest_ancestor_but_keeps_the_full_field():
    sourcemap = SourceMap([Source("a.yaml", {("d",): 3, ("d", 0): 4})])
    location = sourcemap.locate(["d", 0, "license"])
    assert (location.path, location.line, location.field) == ("a.yaml", 4, "d[0].license")


def test_a_list_belongs_to_the_layer_that_set_it_last():
    # b.yaml replaces the whole list, so a.yaml's `license` line must not be reported for it.
    lower = Source("a.yaml", {("d",): 1, ("d", 0): 2, ("d", 0, "license"): 3})
    upper = Source("b.yaml", {("d",): 10, ("d", 0): 11})
    location = SourceMap([lower, upper]).locate(["d", 0, "license"])
    assert (location.path, location.line) == ("b.yaml", 11)


def test_locate_follows_nodes_moved_by_directives():
    sourcemap = SourceMap([Source("a.yaml", {("src",): 1, ("src", "k"): 2, ("dst",): 7})], moves=[(("dst",), ("src",))])
    location = sourcemap.locate(["dst", "k"])
    assert (location.path, location.line, location.field) == ("a.yaml", 2, "dst.k")


def test_command_line_layer_has_a_label_but_no_lines():
    source = plain_source("<command line>", {"a": {"b": [1, {"c": 2}]}})
    location = SourceMap([source]).locate(["a", "b", 1, "c"])
    assert (location.path, location.line) == ("<command line>", None)


def test_unknown_key_gives_only_the_field():
    location = SourceMap([]).locate(["nope", "x"])
    assert (location.path, location.line, location.field) == (None, None, "nope.x")
