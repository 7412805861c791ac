"""Tests for dataset entries: licenses, num_repeats, sources, unknown keys and the metrics dump order."""

import json

import pytest
from pydantic import ValidationError

from gym_conform.core.config.schema_datasets import BenchmarkDatasetConfig, DatasetConfig, validate_dataset

GITLAB_ID = {"dataset_name": "example_multi_step", "version": "0.0.1", "artifact_fpath": "train.jsonl"}


def dataset(**fields):
    return {"name": "train", "type": "train", "jsonl_fpath": "data/train.jsonl", "license": "MIT", **fields}


def only_issue(raw):
    model, issues = validate_dataset(raw)
    assert model is None
    assert len(issues) == 1, issues
    return issues[0]


# --- licenses ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["train", "validation"])
def test_license_is_required_for_train_and_validation(kind):
    issue = only_issue({"name": "mine", "type": kind, "jsonl_fpath": "x.jsonl"})
    assert (issue.code, issue.path) == ("license.missing", ("license",))
    assert issue.message == "A license is required for mine"
    assert "'Apache 2.0'" in issue.hint and "'GNU General Public License v3.0'" in issue.hint


def test_license_is_optional_for_example():
    model, issues = validate_dataset({"name": "example", "type": "example", "jsonl_fpath": "x.jsonl"})
    assert issues == [] and model.license is None


@pytest.mark.parametrize(
    ("given", "meant"),
    [
        ("Apache-2.0", "Apache 2.0"),
        ("CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
        ("mit", "MIT"),
    ],
)
def test_near_miss_license_names_the_valid_string(given, meant):
    issue = only_issue(dataset(license=given))
    assert issue.code == "license.invalid"
    assert issue.message == f"'{given}' is not a valid license"
    assert issue.hint.startswith(f"Use '{meant}' (NeMo Gym accepts these exact strings: 'Apache 2.0', 'MIT',")


def test_unrelated_license_lists_the_valid_strings_without_a_guess():
    issue = only_issue(dataset(license="BSD-3-Clause"))
    assert issue.code == "license.invalid"
    assert issue.hint.startswith("NeMo Gym accepts these exact strings: 'Apache 2.0'")


def test_invalid_license_on_an_example_dataset_is_still_invalid():
    issue = only_issue({"name": "e", "type": "example", "jsonl_fpath": "x", "license": "apache2"})
    assert issue.code == "license.invalid"


@pytest.mark.parametrize("valid", ["CC BY-SA 4.0", "TBD", "NVIDIA Internal Use Only, Do Not Distribute"])
def test_exact_license_strings_pass(valid):
    assert validate_dataset(dataset(license=valid))[1] == []


# --- num_repeats, type, unknown keys -------------------------------------------------------------------


def test_num_repeats_defaults_to_one_and_zero_is_rejected():
    assert validate_dataset(dataset())[0].num_repeats == 1
    issue = only_issue(dataset(num_repeats=0))
    assert (issue.code, issue.path) == ("dataset.num_repeats", ("num_repeats",))
    assert "got 0" in issue.message


def test_misspelt_type_suggests_the_right_one():
    issue = only_issue(dataset(type="training"))
    assert issue.code == "dataset.type"
    assert "Did you mean 'train'?" in issue.hint


def test_unknown_key_is_an_error_with_did_you_mean():
    issue = only_issue(dataset(licence="MIT"))
    assert (issue.code, issue.path) == ("dataset.unknown_key", ("licence",))
    assert issue.hint.startswith("Did you mean 'license'?")


def test_unknown_key_inside_source_suggests_a_source_field():
    issue = only_issue(dataset(source={"type": "huggingface", "repo_id": "o/r", "artifact_path": "t.jsonl"}))
    assert issue.path == ("source", "artifact_path")
    assert "Did you mean 'artifact_fpath'?" in issue.hint


def test_unknown_source_type_is_reported_at_source_type():
    issue = only_issue(dataset(source={"type": "hf", "repo_id": "o/r"}))
    assert (issue.code, issue.path) == ("dataset.source", ("source", "type"))


def test_missing_required_field_is_named():
    issue = only_issue({"name": "e", "type": "example"})
    assert (issue.code, issue.path) == ("dataset.missing_field", ("jsonl_fpath",))


def test_every_problem_of_one_entry_is_reported():
    _, issues = validate_dataset(
        {"name": "v", "type": "validation", "jsonl_fpath": "x", "num_repeats": 0, "licence": "MIT"}
    )
    assert sorted(i.code for i in issues) == ["dataset.num_repeats", "dataset.unknown_key", "license.missing"]


def test_non_mapping_entry():
    assert only_issue("train.jsonl").code == "dataset.not_mapping"


# --- sources and dumps ---------------------------------------------------------------------------------


def test_source_and_legacy_identifier_together_are_rejected():
    issue = only_issue(dataset(source={"type": "huggingface", "repo_id": "o/r"}, gitlab_identifier=GITLAB_ID))
    assert issue.code == "dataset.source_conflict"
    assert issue.path == ("source",)
    assert issue.message == (
        "Specify a dataset source once for 'train': set only one of ['source', 'gitlab_identifier']. "
        "Prefer the unified `source:` block."
    )


def test_both_legacy_identifiers_together_are_allowed_and_source_stays_empty():
    model, issues = validate_dataset(dataset(gitlab_identifier=GITLAB_ID, huggingface_identifier={"repo_id": "o/r"}))
    assert issues == []
    assert model.source is None
    assert model.gitlab_identifier.dataset_name == "example_multi_step"


def test_huggingface_source_is_mirrored_into_the_legacy_field_in_dump_order():
    model = DatasetConfig.model_validate(
        dataset(source={"type": "huggingface", "repo_id": "o/r", "artifact_fpath": "t.jsonl"})
    )
    dumped = model.model_dump(mode="json")
    assert json.dumps(dumped) == json.dumps(
        {
            "name": "train",
            "type": "train",
            "jsonl_fpath": "data/train.jsonl",
            "num_repeats": 1,
            "source": {"type": "huggingface", "repo_id": "o/r", "artifact_fpath": "t.jsonl"},
            "gitlab_identifier": None,
            "huggingface_identifier": {"repo_id": "o/r", "artifact_fpath": "t.jsonl"},
            "license": "MIT",
        }
    )


def test_legacy_gitlab_identifier_is_mirrored_into_source():
    dumped = DatasetConfig.model_validate(dataset(gitlab_identifier=GITLAB_ID)).model_dump(mode="json")
    assert json.dumps(dumped["source"]) == json.dumps({"type": "gitlab", **GITLAB_ID})
    assert json.dumps(dumped["gitlab_identifier"]) == json.dumps(GITLAB_ID)
    assert dumped["huggingface_identifier"] is None


def test_legacy_huggingface_identifier_without_artifact_is_mirrored():
    dumped = DatasetConfig.model_validate(dataset(huggingface_identifier={"repo_id": "o/r"})).model_dump(mode="json")
    assert json.dumps(dumped["source"]) == json.dumps({"type": "huggingface", "repo_id": "o/r", "artifact_fpath": None})


def test_dataset_without_source_dumps_nulls_in_order():
    dumped = DatasetConfig.model_validate({"name": "example", "type": "example", "jsonl_fpath": "e.jsonl"}).model_dump(
        mode="json"
    )
    assert list(dumped.items()) == [
        ("name", "example"),
        ("type", "example"),
        ("jsonl_fpath", "e.jsonl"),
        ("num_repeats", 1),
        ("source", None),
        ("gitlab_identifier", None),
        ("huggingface_identifier", None),
        ("license", None),
    ]


def test_direct_model_use_raises_pydantic_errors_with_the_same_messages():
    with pytest.raises(ValidationError) as info:
        DatasetConfig.model_validate(dataset(license="Apache-2.0"))
    assert "'Apache-2.0' is not a valid license" in str(info.value)


def test_benchmark_dataset_dump_order_and_no_license_needed():
    model, issues = validate_dataset(
        {
            "name": "aime24",
            "type": "benchmark",
            "jsonl_fpath": "b/d.jsonl",
            "prepare_script": "b/prepare.py",
            "num_repeats": 32,
        }
    )
    assert issues == [] and isinstance(model, BenchmarkDatasetConfig)
    # NeMo Gym 0.7.0's order, without the routing keys (agent, taskset) that metrics leave out.
    assert list(model.metrics_fields().items()) == [
        ("name", "aime24"),
        ("type", "benchmark"),
        ("jsonl_fpath", "b/d.jsonl"),
        ("prepare_script", "b/prepare.py"),
        ("prompt_config", None),
        ("num_repeats", 32),
        ("prepare_dependencies", []),
    ]


def test_benchmark_needs_its_prepare_script():
    issue = only_issue({"name": "b", "type": "benchmark", "jsonl_fpath": "b.jsonl"})
    assert issue.path == ("prepare_script",)
