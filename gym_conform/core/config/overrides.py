"""Parse Hydra-style command-line overrides (`+k=v`, `++k=v`, `k=v`) into a nested dict."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml

from gym_conform.core.yaml_safe import safe_load
from gym_conform.errors import ConfigError, Location, ProblemsFound

_KEY = re.compile(r"^[A-Za-z_][\w\-]*(\.[A-Za-z_0-9][\w\-]*)*$")
# Keys NeMo Gym merges when given more than once (Hydra itself rejects duplicates).
_MERGED_LIST_KEYS = ("config_paths",)


def parse_value(text: str) -> Any:
    """Parse one override value the way Hydra does: YAML scalars, `[a,b]` lists, `{k: v}` maps."""
    if text == "":
        return ""
    if "${" in text:
        # Interpolations stay text; OmegaConf resolves them after merging.
        return text
    try:
        value = safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):
        return _float_or_text(value)
    if isinstance(value, bool) and text.strip().lower() not in ("true", "false"):
        return text  # YAML 1.1 reads on/off/yes/no as booleans; Hydra's grammar only true and false
    return value


def _float_or_text(value: str) -> Any:
    # PyYAML (YAML 1.1) reads `1e-3` as text; Hydra reads it as a float.
    if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value):
        return float(value)
    return value


def parse_overrides(args: Sequence[str]) -> dict:
    """Turn override arguments into one nested dict; every malformed argument is reported at once."""
    result: dict = {}
    problems: list[ConfigError] = []
    for arg in args:
        try:
            _apply(result, arg)
        except ConfigError as error:
            problems.append(error)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ProblemsFound([p for e in problems for p in e.problems], summary=f"{len(problems)} bad arguments")
    return result


def _apply(result: dict, arg: str) -> None:
    where = Location(field=arg)
    prefix = "++" if arg.startswith("++") else "+" if arg.startswith("+") else ""
    body = arg[len(prefix) :]
    if "=" not in body:
        raise ConfigError(
            f"argument '{arg}' is not of the form +key=value",
            code="config.override",
            location=where,
            hint=f"write it as +{body}=<value> (see --help)",
        )
    key, raw = body.split("=", 1)
    if not _KEY.match(key):
        raise ConfigError(
            f"'{key}' is not a valid config key",
            code="config.override",
            location=where,
            hint="keys are dotted names such as +output_dirpath=data/test or ++a.b.c=1",
        )
    value = parse_value(raw)
    parts = key.split(".")
    node = result
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"'{key}' sets a key under '{part}', which already holds a value",
                code="config.override",
                location=where,
            )
        node = child
    leaf = parts[-1]
    if leaf in node and prefix != "++":
        if key in _MERGED_LIST_KEYS and isinstance(node[leaf], list) and isinstance(value, list):
            node[leaf] = node[leaf] + [v for v in value if v not in node[leaf]]
            return
        raise ConfigError(
            f"'{key}' is given more than once",
            code="config.override",
            location=where,
            hint=f"give it once, or use ++{key}=... to force the last value",
        )
    if prefix == "" and leaf not in node:
        raise ConfigError(
            f"could not override '{key}': there is no such key yet",
            code="config.override",
            location=where,
            hint=f"to add it, write +{key}={raw}",
        )
    node[leaf] = value
