"""Apply a benchmark dataset's `prompt_config` ({system?, user} templates) to each raw row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from gym_conform.core.config.loader import resolve_read_path
from gym_conform.core.yaml_safe import safe_load
from gym_conform.errors import ConfigError, DataError, Location


def prompt_transform(dataset: Any) -> Callable[[dict], dict] | None:
    """Return a row transform for a benchmark dataset with a prompt_config, else None."""
    prompt_path = getattr(dataset, "prompt_config", None)
    if getattr(dataset, "type", None) != "benchmark" or not prompt_path:
        return None
    templates = load_prompt(resolve_read_path(str(prompt_path)))

    def apply(row: dict) -> dict:
        if "input" in row.get("responses_create_params", {}):
            raise DataError(
                "row already has responses_create_params.input but the dataset also sets prompt_config",
                code="row.prompt_conflict",
                hint="remove responses_create_params.input from the rows, or drop prompt_config",
            )
        messages = []
        for role in ("system", "user"):
            if role in templates:
                messages.append({"role": role, "content": _render(templates[role], row, role)})
        row.setdefault("responses_create_params", {})["input"] = messages
        return row

    return apply


def _render(template: str, row: dict, role: str) -> str:
    try:
        return template.format_map(row)
    except KeyError as missing:
        raise DataError(
            f"the {role} prompt template uses {{{missing.args[0]}}}, which this row does not have",
            code="row.prompt_field",
            location=Location(field=str(missing.args[0])),
            hint="add the field to every row, or change the prompt template",
        ) from None


def load_prompt(path: Path) -> dict[str, str]:
    """Read a prompt YAML: a mapping with a `user` template and an optional `system` template."""
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"prompt_config not found: {path}", code="config.not_found") from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"prompt_config is not valid YAML: {error}", code="config.yaml", location=Location(str(path))
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str):
        raise ConfigError(
            "prompt_config must be a mapping with a `user` template (and optionally `system`)",
            code="config.prompt",
            location=Location(str(path)),
        )
    return {k: v for k, v in data.items() if k in ("system", "user")}
