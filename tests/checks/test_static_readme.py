"""Tests for the `readme` check: presence, needed sections, documented row fields."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSettings, FolderContext, Level
from gym_conform.checks.static_readme import check_readme, headings
from tests.checks import README, build_server, make_row


def failure(folder, root) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check_readme(FolderContext(folder, CheckSettings(level=Level.STATIC), root=root))
    return raised.value


def test_a_complete_readme_passes(tmp_path):
    check_readme(FolderContext(build_server(tmp_path), root=tmp_path))


def test_a_missing_readme_fails(tmp_path):
    (problem,) = failure(build_server(tmp_path, readme=None), tmp_path).problems

    assert problem.code == "readme.missing"
    assert problem.location.path == "resources_servers/alpha/README.md"
    assert "# Licensing information" in problem.hint


def test_a_readme_without_a_licensing_section_fails(tmp_path):
    readme = README.split("# Licensing information")[0]

    (problem,) = failure(build_server(tmp_path, readme=readme), tmp_path).problems

    assert problem.code == "readme.section_missing"
    assert problem.message.startswith("no licensing section")
    assert "`# Licensing information`" in problem.hint


def test_headings_inside_code_fences_do_not_count():
    text = "# Data\n\n```bash\n# Description\n```\n\n~~~\n## Licensing\n~~~\n"

    assert headings(text) == [(1, "Data")]


def test_setext_headings_count():
    assert headings("Overview\n========\n\nLicense\n---\n") == [(1, "Overview"), (4, "License")]


def test_nemo_gym_heading_variants_count(tmp_path):
    readme = "## Overview\n\nx `expected_answer`\n\n## Dataset\n\n## Licensing\n"

    check_readme(FolderContext(build_server(tmp_path, readme=readme), root=tmp_path))


def test_every_row_field_the_readme_never_mentions_is_reported(tmp_path):
    rows = [make_row(n, difficulty="easy", _ng_task_index=n) for n in range(5)]

    (problem,) = failure(build_server(tmp_path, rows=rows), tmp_path).problems

    assert problem.code == "readme.row_field"
    assert "'difficulty'" in problem.message
    assert problem.location.line == 10
