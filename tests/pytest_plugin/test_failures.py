"""Each defect of a server folder fails exactly the check that owns it, with file, line, message and hint."""

from __future__ import annotations

import json

from gym_conform.checks import REGISTRY, Level
from tests.checks import CONFIG, README, ROWS, make_row, metrics_text, rollout, write_lines
from tests.pytest_plugin.conftest import match_lines

STATIC_IDS = [check.id for check in REGISTRY if check.level == Level.STATIC]
GOOD_ROLLOUTS = [rollout(row) for row in ROWS]


def assert_checks(result, failed=(), skipped=("leakage", "task_data", "manifest"), folder="alpha"):
    """Assert the static checks' outcomes: `failed` fail, `skipped` skip, every other one passes (no other item)."""
    result.assert_outcomes(
        passed=len(STATIC_IDS) - len(failed) - len(skipped),
        failed=len(failed),
        skipped=len(skipped),
    )
    for check_id in failed:
        match_lines(result, f"FAILED resources_servers/{folder}::{check_id} - *")
    assert "INTERNALERROR" not in result.stdout.str()


def test_a_conforming_folder_passes_every_static_check(repo):
    repo.server()

    result = repo.static()

    assert_checks(result)
    assert result.ret == 0


def test_a_missing_readme_fails_only_readme(repo):
    repo.server(readme=None)

    result = repo.static()

    assert_checks(result, failed=["readme"])
    match_lines(
        result,
        "*_ gym-conform: resources_servers/alpha::readme _*",
        "resources_servers/alpha has no README.md",
        "resources_servers/alpha/README.md: README.md is missing [readme.missing]",
        "    hint: add README.md with *",
    )


def test_a_readme_without_licensing_fails_only_readme_with_gym_strict(repo):
    repo.server(readme=README.split("# Licensing information")[0])

    result = repo.static("--gym-strict")

    assert_checks(result, failed=["readme"])
    match_lines(result, "resources_servers/alpha/README.md: no licensing section*[readme.section_missing]")


def test_a_readme_without_licensing_passes_by_default_with_a_note(repo):
    # NeMo Gym requires a README.md, not its sections: the default set agrees with upstream.
    repo.server(readme=README.split("# Licensing information")[0])

    result = repo.static()

    assert_checks(result)
    match_lines(result, "resources_servers/alpha::readme: 1 finding(s) left to --gym-strict (readme.section_missing)")


def test_a_bad_row_fails_example_data_naming_line_field_and_fix(repo):
    bad = {"responses_create_params": {"input": [{"role": "usr", "content": "What is 3+3?"}]}, "expected_answer": "6"}
    repo.server(rows=[ROWS[0], bad, *ROWS[2:]], rollouts=GOOD_ROLLOUTS)

    result = repo.static()

    assert_checks(result, failed=["example_data"], skipped=["example_metrics", "leakage", "task_data", "manifest"])
    match_lines(
        result,
        "resources_servers/alpha/data/example.jsonl: 1 bad row(s)",
        "resources_servers/alpha/data/example.jsonl:2: responses_create_params.input[0].role: ValidationError: *",
        '    | {"responses_create_params": {"input": [{"role": "usr", *',
        '    hint: did you mean "user"?',
    )
    match_lines(result, "SKIPPED [1] resources_servers/alpha: data/example.jsonl has invalid rows*")


def test_six_rows_fail_only_example_data(repo):
    repo.server(rows=[*ROWS, make_row(6)], rollouts=GOOD_ROLLOUTS)

    result = repo.static()

    assert_checks(result, failed=["example_data"])
    match_lines(result, "*example.jsonl: expected 5 example rows but got 6 line(s) [data.example_count]")


def test_a_wrong_license_fails_only_license_naming_the_valid_string_and_yaml_line(repo):
    repo.server(train_license="CC-BY-4.0")

    result = repo.static()

    assert_checks(result, failed=["license"])
    match_lines(
        result,
        "resources_servers/alpha/configs/alpha.yaml:22: *license: 'CC-BY-4.0' is not a valid license [license.invalid]",
        "    | *license: CC-BY-4.0",
        "    hint: Use 'Creative Commons Attribution 4.0 International' *",
    )


def test_a_train_dataset_without_license_fails_only_license(repo):
    repo.server(config=CONFIG.format(name="alpha", train_license="MIT").replace("        license: MIT\n", ""))

    result = repo.static()

    assert_checks(result, failed=["license"])
    match_lines(result, "*alpha.yaml:19: *: A license is required for train [license.missing]")


def test_stale_metrics_fail_with_the_diff_and_update_metrics_fixes_them(repo):
    document = json.loads(metrics_text("alpha", ROWS))
    document["Number of examples"] = 4
    folder = repo.server(metrics=json.dumps(document, indent=4))

    stale = repo.static()

    assert_checks(stale, failed=["example_metrics"])
    match_lines(
        stale,
        "resources_servers/alpha/data/example_metrics.json is stale",
        "*example_metrics.json: stale: 1 difference(s) from the metrics recomputed from *example.jsonl:",
        "  - Value differs at Number of examples: 4 != 5 [metrics.stale]",
        "    hint: rerun with --gym-update-metrics to rewrite it",
        "Rerun with --gym-update-metrics to rewrite stale or missing example_metrics.json files.",
    )

    updated = repo.static("--gym-update-metrics")

    assert_checks(updated)
    match_lines(updated, "resources_servers/alpha::example_metrics: updated *example_metrics.json: 1 difference(s)*")
    assert (folder / "data" / "example_metrics.json").read_text() == metrics_text("alpha", ROWS)
    assert not list((folder / "data").glob("*conflict*"))
    assert_checks(repo.static())


def test_a_conflict_file_fails_only_data_conflicts(repo):
    folder = repo.server()
    (folder / "data" / "example_metrics_conflict.json").write_text("{}")

    result = repo.static()

    assert_checks(result, failed=["data_conflicts"])
    match_lines(result, "resources_servers/alpha/data/example_metrics_conflict.json: conflict file*")


def test_four_rollouts_fail_only_example_rollouts(repo):
    repo.server(rollouts=GOOD_ROLLOUTS[:4])

    result = repo.static()

    assert_checks(result, failed=["example_rollouts"])
    match_lines(result, "*example_rollouts.jsonl: expected 5 example rollouts but got 4 line(s)*")


def test_a_malformed_rollout_line_fails_only_example_rollouts(repo):
    lines = list(GOOD_ROLLOUTS)
    lines[1] = {key: value for key, value in lines[1].items() if key != "reward"}
    repo.server(rollouts=lines)

    strict = repo.static("--gym-strict")
    default = repo.static()

    assert_checks(strict, failed=["example_rollouts"])
    match_lines(strict, "*example_rollouts.jsonl:2: reward: reward is missing [rollout.missing_reward]")
    assert_checks(default)  # 0.7.0's CI counts rollout lines and never reads them


def test_a_rollout_line_that_is_not_json_fails_example_rollouts_by_default(repo):
    folder = repo.server()
    path = folder / "data" / "example_rollouts.jsonl"
    path.write_text("".join("<PLACEHOLDER ROW>\n" for _ in range(5)))

    result = repo.static()

    assert_checks(result, failed=["example_rollouts"])
    match_lines(result, "*example_rollouts.jsonl:1: JSON parse error*[row.json]")


def test_an_example_row_in_the_validation_file_fails_only_leakage(repo):
    folder = repo.server()
    write_lines(folder / "data" / "validation.jsonl", [make_row(30), make_row(31), ROWS[2]])

    result = repo.static("--gym-strict")

    assert_checks(result, failed=["leakage"], skipped=("task_data", "manifest"))
    match_lines(
        result, "resources_servers/alpha/data/validation.jsonl:3: the example row at *example.jsonl:3 is also in *"
    )


def test_a_resources_block_that_is_not_first_fails_only_config(repo):
    text = CONFIG.format(name="alpha", train_license="Apache 2.0")
    resources, agent = text.split("alpha_simple_agent:")
    repo.server(config="alpha_simple_agent:" + agent + resources)

    result = repo.static("--gym-strict")

    assert_checks(result, failed=["config"])
    match_lines(
        result,
        "resources_servers/alpha/configs/alpha.yaml:1: alpha_simple_agent: the first block is 'alpha_simple_agent'*",
    )


def test_invalid_yaml_fails_the_config_and_the_checks_needing_it_without_crashing(repo):
    repo.server(config="alpha_resources_server:\n  resources_servers: {alpha: [\n")
    repo.server("beta")

    result = repo.static()

    failing = ["config", "license", "example_metrics"]
    result.assert_outcomes(passed=2 * len(STATIC_IDS) - len(failing) - 6, failed=len(failing), skipped=6)
    for check_id in failing:
        match_lines(result, f"FAILED resources_servers/alpha::{check_id} - *")
    match_lines(result, "resources_servers/alpha/configs/alpha.yaml:3: Invalid YAML: *[config.yaml]")
    assert result.ret == 1
