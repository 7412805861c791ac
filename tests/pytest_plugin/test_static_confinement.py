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
