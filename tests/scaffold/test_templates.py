"""Scaffold templates: token filling, and every template using only the tokens the scaffold fills."""

from __future__ import annotations

import re

import pytest

from gym_conform.core.config.schema import Domain
from gym_conform.scaffold import templates

FILE_TEMPLATES = [
    templates.PACKAGE_INIT,
    templates.TESTS_INIT,
    templates.DATA_GITIGNORE,
    templates.APP,
    templates.CONFIG,
    templates.README,
    templates.TEST_APP,
]


def test_render_fills_every_token() -> None:
    assert templates.render("{{NAME}}_x {{CLASS}}Y {{NAME}}", NAME="a_b", CLASS="AB") == "a_b_x ABY a_b"


def test_render_refuses_a_token_without_value() -> None:
    with pytest.raises(KeyError, match="CLASS"):
        templates.render("{{NAME}} {{CLASS}}", NAME="a")


def test_templates_use_only_the_filled_tokens() -> None:
    used = {token for template in FILE_TEMPLATES for token in re.findall(r"\{\{([A-Z_]+)\}\}", template)}
    assert used == {"NAME", "CLASS", "DOMAIN", "DOMAINS"}


def test_rendered_python_templates_compile() -> None:
    for template in (templates.APP, templates.TEST_APP, templates.PACKAGE_INIT):
        source = templates.render(template, NAME="my_env", CLASS="MyEnv", DOMAIN="other", DOMAINS="")
        compile(source, "<template>", "exec")


def test_domain_list_names_all_twelve_domains() -> None:
    assert templates.domain_list().split(", ") == [d.value for d in Domain]
    assert len(Domain) == 12


def test_example_tasks_cover_both_rewards() -> None:
    assert len(templates.EXAMPLE_TASKS) == 5
    assert {task[3] for task in templates.EXAMPLE_TASKS} == {0.0, 1.0}
    kinds = {case[1] for case in templates.VERIFIER_CASES}
    assert kinds == {"full_reward", "zero_reward", "malformed"}
