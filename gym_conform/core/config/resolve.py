"""Resolve a merged config tree: report every `???` left, and every interpolation that cannot resolve."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gym_conform.core.config.directives import MISSING_VALUE
from gym_conform.core.config.merge import has_interpolation, is_plain, plain_dict
from gym_conform.core.config.omega import omegaconf_errors
from gym_conform.core.config.simple_resolve import resolve_simple
from gym_conform.core.config.sourcemap import KeyPath, Source, SourceMap, dotted_path
from gym_conform.errors import ConfigError, Location, combined

if TYPE_CHECKING:
    from omegaconf.errors import OmegaConfBaseException

_HINT_SET_VALUE = (
    "Provide it via a CLI override, in env.yaml, or in a config passed via config_paths, e.g. ++{key}=<value>"
)


def omegaconf_error(exc: OmegaConfBaseException, source: Source | None) -> ConfigError:
    """Turn an OmegaConf exception about one layer's value into a located ConfigError without a traceback."""
    from omegaconf.errors import GrammarParseError

    key_path = _parse_full_key(str(getattr(exc, "full_key", "") or ""))
    label = source.label if source is not None else None
    line = source.lines.get(key_path) if source is not None else None
    location = Location(label, line, dotted_path(key_path) or None)
    problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, GrammarParseError):
        return ConfigError(
            f"Config value '{dotted_path(key_path)}' has a malformed interpolation: {problem}",
            code="config.interpolation",
            location=location,
            hint="Close every `${` with `}`; supported forms are ${key.path} and ${oc.env:VAR,default}.",
        )
    return ConfigError(
        f"Unsupported config value: {problem}",
        code="config.invalid_value",
        location=location,
        hint="Config values must be strings, numbers, booleans, null, lists or mappings (quote dates).",
    )


def _parse_full_key(full_key: str) -> KeyPath:
    """Split OmegaConf's `a.b[0].c` key notation into a key path."""
    return tuple(int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", full_key))


def _missing_paths(tree: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """Return the key path of every value still `???`."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = enumerate(tree)
    else:
        return []
    found: list[KeyPath] = []
    for key, value in items:
        if isinstance(value, str) and value == MISSING_VALUE:
            found.append((*prefix, key))
        else:
            found.extend(_missing_paths(value, (*prefix, key)))
    return found


def raise_on_missing_values(tree: dict, sourcemap: SourceMap) -> None:
    """Raise one ConfigError listing every `???` value left after merging, with the override that sets it."""
    missing = _missing_paths(tree)
    if not missing:
        return
    listed = []
    for key_path in missing:
        where = sourcemap.locate(key_path)
        origin = f" (set to ??? at {where.path}:{where.line})" if where.path and where.line else ""
        listed.append(f"  - {dotted_path(key_path)}{origin}")
    fixes = "\n".join(f"++{dotted_path(key_path)}=<value>" for key_path in missing)
    raise ConfigError(
        f"{len(missing)} required config value(s) are unset (still '???') after merging:\n" + "\n".join(listed),
        code="config.missing_value",
        location=sourcemap.locate(missing[0]),
        hint="Provide each one via a CLI override, in env.yaml, or in a config passed via config_paths:\n" + fixes,
    )


def _string_leaves(tree: Any, prefix: KeyPath = ()) -> list[KeyPath]:
    """Return the key path of every string value that contains an interpolation."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, list):
        items = enumerate(tree)
    else:
        return [prefix] if isinstance(tree, str) and "${" in tree else []
    return [leaf for key, value in items for leaf in _string_leaves(value, (*prefix, key))]


def resolve_tree(tree: dict, sourcemap: SourceMap) -> dict:
    """Resolve every interpolation to a plain dict, reporting each value that cannot be resolved."""
    if is_plain(tree) and not has_interpolation(tree) and not _missing_paths(tree):
        return tree  # nothing for OmegaConf to resolve (and building its nodes is most of a load's cost)
    resolved = resolve_simple(tree) if is_plain(tree) else None
    if resolved is not None:
        return resolved  # only `${a.b}` / `${oc.env:VAR}` forms, all resolvable: OmegaConf's result, faster
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        config = OmegaConf.create(tree)
    except OmegaConfBaseException as exc:
        error = omegaconf_error(exc, None)
        error.location = sourcemap.locate(_parse_full_key(str(getattr(exc, "full_key", "") or "")))
        raise error from exc
    errors: list[ConfigError] = []
    for key_path in _string_leaves(tree):
        try:
            node = config
            for part in key_path:
                node = node[part]
        except omegaconf_errors() as exc:
            errors.append(interpolation_error(exc, key_path, sourcemap))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise combined(errors, summary=f"{len(errors)} config value(s) could not be resolved")
    try:
        return plain_dict(config, resolve=True)
    except omegaconf_errors() as exc:
        raise interpolation_error(exc, (), sourcemap) from exc


def interpolation_error(exc: Exception, key_path: KeyPath, sourcemap: SourceMap | None) -> ConfigError:
    """Explain why the value at `key_path` cannot be resolved, without OmegaConf's traceback."""
    text = str(exc)
    name = dotted_path(key_path) or str(getattr(exc, "full_key", "") or "")
    location = sourcemap.locate(key_path) if sourcemap is not None else Location(field=name or None)
    key = re.search(r"Interpolation key '([^']+)' not found", text)
    if key:
        return ConfigError(
            f"Config value '{name}' references '{key.group(1)}', which is not set after merging.",
            code="config.interpolation",
            location=location,
            hint=_HINT_SET_VALUE.format(key=key.group(1)),
        )
    variable = re.search(r"Environment variable '([^']+)' not found", text)
    if variable:
        return ConfigError(
            f"Config value '{name}' reads environment variable '{variable.group(1)}', which is not set.",
            code="config.interpolation",
            location=location,
            hint=f"Export {variable.group(1)}, or give a default: ${{oc.env:{variable.group(1)},<default>}}",
        )
    if "Recursive interpolation detected" in text or "Interpolation to parent node" in text:
        return ConfigError(
            f"Config value '{name}' refers to itself: its interpolation leads back to '{name}' (directly, "
            "through other keys, or to a key that contains it), so it has no value.",
            code="config.interpolation_cycle",
            location=location,
            hint="Give one key of the cycle a plain value, or point it at a different key.",
        )
    first_line = text.splitlines()[0] if text else type(exc).__name__
    return ConfigError(
        f"Config value '{name}' could not be resolved: {first_line}",
        code="config.interpolation",
        location=location,
        hint="Supported forms are ${key.path} and ${oc.env:VAR,default}; check the spelling and braces.",
    )
