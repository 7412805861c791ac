"""At --gym-level static a file that leads out of the repository (a symlink) is refused, its content never shown."""

from __future__ import annotations

import json

import pytest

from tests.pytest_plugin.conftest import match_lines

SECRET = "hf_SECRET_VALUE_4242"


@pytest.fixture
def outside(repo):
    """A file outside the repository holding a secret, as /proc/self/environ or ~/.netrc would."""
    path = repo.path.parent / f"{repo.path.name}_outside.txt"
    path.write_text(json.dumps({"responses_create_params": {"input": SECRET}}) + "\n")
    yield path
    path.unlink()


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("data/example.jsonl", ()),
        ("README.md", ()),
        ("data/example_rollouts.jsonl", ("--gym-strict",)),  # 0.7.0 checks rollouts only in strict mode
        ("data/example_metrics.json", ()),
    ],
)
def test_a_symlink_out_of_the_repository_is_not_read_at_static_level(repo, outside, name, args):
    folder = repo.server()
    (folder / name).unlink()
    (folder / name).symlink_to(outside)

    result = repo.static("-v", *args)

    output = result.stdout.str() + result.stderr.str()
    assert SECRET not in output
    match_lines(result, f"*resources_servers/alpha/{name} leads outside the repository (to *_outside.txt)*")
    assert "[file.outside_repository]" in output
    assert result.ret == 1


def test_a_symlink_inside_the_repository_is_followed(repo):
    folder = repo.server()
    real = folder / "data" / "rows.jsonl"
    (folder / "data/example.jsonl").rename(real)
    (folder / "data/example.jsonl").symlink_to("rows.jsonl")

    result = repo.static("-v", "-k", "example_data")

    match_lines(result, "*resources_servers/alpha::example_data PASSED*")


def test_a_readme_symlink_out_of_the_repository_never_reaches_the_license_comparison(repo):
    # The license check compares the README's `Data:` line with the YAML and quotes it: it must not read it either.
    path = repo.path.parent / f"{repo.path.name}_readme.md"
    path.write_text(f"# Description\n\n# Data\n\n# Licensing information\n\nData: MIT {SECRET}\n")
    folder = repo.server()
    (folder / "README.md").unlink()
    (folder / "README.md").symlink_to(path)
    try:
        result = repo.static("-v")
    finally:
        path.unlink()

    output = result.stdout.str() + result.stderr.str()
    assert SECRET not in output
    assert "[file.outside_repository]" in output


def _fifo(path):
    import os

    path.unlink()
    os.mkfifo(path)


def _socket(path):
    import os
    import socket

    path.unlink()
    server = socket.socket(socket.AF_UNIX)
    here = os.getcwd()
    os.chdir(path.parent)  # a socket path is limited to ~100 bytes: bind it by its name
    try:
        server.bind(path.name)
    finally:
        os.chdir(here)
    return server


def _dangling(path):
    path.unlink()
    path.symlink_to("no-such-file.jsonl")


@pytest.mark.parametrize(
    ("name", "make", "kind"),
    [
        ("data/example.jsonl", _fifo, "FIFO (named pipe)"),
        ("README.md", _fifo, "FIFO (named pipe)"),
        ("data/example_metrics.json", _fifo, "FIFO (named pipe)"),
        ("data/example.jsonl", _socket, "socket"),
        ("README.md", _dangling, "dangling symlink"),
    ],
)
def test_a_special_file_in_the_folder_is_refused_before_it_is_opened_never_waited_on(repo, name, make, kind):
    folder = repo.server()
    held = make(folder / name)
    try:
        result = repo.static("-v", subprocess=True)
    finally:
        if held is not None:
            held.close()

    output = result.stdout.str()
    assert f"resources_servers/alpha/{name} is a {kind}, not a regular file; it was not read [file.not_regular]" in (
        output
    ), output[-3000:]
    assert result.ret == 1


def test_a_long_hostile_license_value_is_shown_as_a_short_escaped_excerpt(repo):
    hostile = "Apache 2.0 \u001b[31m" + "x" * 5000  # a terminal escape, then a flood
    folder = repo.server()
    config = folder / "configs" / "alpha.yaml"
    config.write_text(config.read_text().replace("license: Apache 2.0", f"license: {json.dumps(hostile)}", 1))

    result = repo.static("-v")

    output = result.stdout.str()
    assert "\x1b" not in output
    assert "x" * 100 not in output
    match_lines(result, "*license: 'Apache 2.0 \\u001b[31mxxx*…' is not a valid license [license.invalid]")
    assert result.ret == 1
