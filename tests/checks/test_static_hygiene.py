"""Tests for the data hygiene parts of `leakage` (tasks in train data) and `license` (the README's data license)."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped, FolderContext
from gym_conform.checks.static_data import check_leakage
from gym_conform.checks.static_hygiene import licenses_named
from gym_conform.checks.static_license import check_license
from tests.checks import README, ROWS, build_server, make_row, write_lines

TRAIN = "resources_servers/alpha/data/train.jsonl"


def failure(check, folder, root) -> CheckFailed:
    with pytest.raises(CheckFailed) as raised:
        check(FolderContext(folder, root=root))
    return raised.value


def test_train_rows_that_repeat_example_or_validation_tasks_are_each_named(tmp_path):
    folder = build_server(tmp_path)
    validation = make_row(40)
    write_lines(folder / "data" / "validation.jsonl", [make_row(30), validation])
    shouted = {**validation, "responses_create_params": {"input": [{"role": "user", "content": "  WHAT IS 40+40? "}]}}
    write_lines(folder / "data" / "train.jsonl", [make_row(10), ROWS[2], make_row(11), shouted])

    problems = failure(check_leakage, folder, tmp_path).problems

    assert [(p.code, p.location.path, p.location.line) for p in problems] == [
        ("data.train_overlap_example", TRAIN, 2),
        ("data.train_overlap_validation", TRAIN, 4),
    ]
    assert problems[0].message == (
        "this train row repeats the example row at resources_servers/alpha/data/example.jsonl:3 "
        "(the same responses_create_params)"
    )
    assert problems[1].message.endswith("validation.jsonl:2 (the same prompt up to whitespace and case)")


def test_distinct_train_rows_pass_and_missing_train_data_skips(tmp_path):
    folder = build_server(tmp_path)
    with pytest.raises(CheckSkipped, match=r"no validation data present locally \(.*\), nor train data"):
        check_leakage(FolderContext(folder, root=tmp_path))

    write_lines(folder / "data" / "train.jsonl", [make_row(n) for n in range(10, 20)])
    check_leakage(FolderContext(folder, root=tmp_path))


def test_a_readme_data_license_that_contradicts_the_yaml_fails_at_the_yaml_line(tmp_path):
    folder = build_server(tmp_path, readme=README.replace("Data: Apache 2.0", "Data: MIT (see the dataset card)"))

    problems = failure(check_license, folder, tmp_path).problems

    assert [(p.code, p.location.path, p.location.line) for p in problems] == [
        ("license.readme_mismatch", "resources_servers/alpha/configs/alpha.yaml", 22),
        ("license.readme_mismatch", "resources_servers/alpha/configs/alpha.yaml", 26),
    ]
    assert problems[0].message == (
        "the train dataset is licensed 'Apache 2.0' here, but resources_servers/alpha/README.md:19 says "
        "`Data: MIT (see the dataset card)`"
    )


def test_a_readme_that_agrees_in_another_spelling_passes_and_one_without_a_data_line_is_not_compared(tmp_path):
    folder = build_server(tmp_path, readme=README.replace("Data: Apache 2.0", "Data: Apache-2.0 for all splits"))
    check_license(FolderContext(folder, root=tmp_path))

    bare = build_server(tmp_path / "b", readme=README.replace("Data: Apache 2.0", "See the dataset card."))
    check_license(FolderContext(bare, root=tmp_path / "b"))


def test_licenses_named_takes_whole_spellings_only():
    assert licenses_named("CC-BY-4.0 (train), Apache 2.0 (validation)") == {
        "Creative Commons Attribution 4.0 International",
        "Apache 2.0",
    }
    assert licenses_named("CC BY-SA 4.0") == {"CC BY-SA 4.0"}
    assert licenses_named("submitted by the authors") == set()
