"""Values a config leaves to its user (`???`, `${oc.env:VAR}`, `${key}` set in env.yaml): placeholders and needs.

NeMo Gym fills them from env.yaml, the environment or the command line when a server runs. A check of a
checkout has none of those, so instead of stopping at the first unset value, each one becomes a placeholder
string and a `config.needs_value` problem that says what the run needs (never a defect of the folder).
"""

from __future__ import annotations

import os
import re
from typing import Any

from gym_conform.core.config.directives import MISSING_VALUE
from gym_conform.core.config.merge import has_interpolation
from gym_conform.core.config.omega import omegaconf_errors
from gym_conform.core.config.sourcemap import KeyPath, SourceMap, dotted_path
from gym_conform.errors import ConfigError

NEEDS_VALUE = "config.needs_value"
UNSET_MARK = "<unset: "
PLACEHOLDER = UNSET_MARK + "{key}>"
_UNSET_KEY = re.compile(r"Interpolation key '([^']+)' not found")
_UNSET_VARIABLE = re.compile(r"Environment variable '([^']+)' not found")
_MAX_ROUNDS = 8


def _leaves(tree: Any, prefix: KeyPath = ()) -> list[tuple[KeyPath, Any]]:
    """Return (key path, value) of every scalar leaf."""
    if isinstance(tree, dict):
        items = list(tree.items())
    elif isinstance(tree, list):
        items = list(enumerate(tree))
    else:
        return [(prefix, tree)]
    return [leaf for key, value in items for leaf in _leaves(value, (*prefix, key))]


def _set(tree: Any, key_path: KeyPath, value: Any) -> None:
    node = tree
    for part in key_path[:-1]:
        node = node[part]
    node[key_path[-1]] = value


def fill_unset(tree: dict, sourcemap: SourceMap) -> list[ConfigError]:
    """Replace, in place, each `???` and each interpolation of an unset key or variable with a placeholder.

    Returns one `config.needs_value` error per replaced value. A malformed interpolation is left as it is
    (resolving reports it as a defect).
    """
    needs: list[ConfigError] = []
    for key_path, value in _leaves(tree):
        if isinstance(value, str) and value == MISSING_VALUE:
            _set(tree, key_path, PLACEHOLDER.format(key=dotted_path(key_path)))
            needs.append(_needs(key_path, sourcemap, "is '???' (required, no value)", f"++{dotted_path(key_path)}"))
    if _fill_simple(tree, sourcemap, needs):
        return needs
    from omegaconf import OmegaConf

    # Replacing a value can make another resolvable (or reveal the next unset one): a few rounds settle it.
    for _ in range(_MAX_ROUNDS):
        if not has_interpolation(tree):
            break
        try:
            config = OmegaConf.create(tree)
        except omegaconf_errors():
            break  # a malformed interpolation: resolving reports it with its file and line
        replaced = False
        for key_path, value in _leaves(tree):
            if not (isinstance(value, str) and "${" in value):
                continue
            try:
                node: Any = config
                for part in key_path:
                    node = node[part]
            except omegaconf_errors() as exc:
                text = str(exc)
                key, variable = _UNSET_KEY.search(text), _UNSET_VARIABLE.search(text)
                if key is None and variable is None:
                    continue
                if key is not None:
                    what = f"references '{key.group(1)}', which no loaded config sets"
                    fix = f"++{key.group(1)}"
                else:
                    assert variable is not None
                    what = f"reads environment variable '{variable.group(1)}', which is not set"
                    fix = f"export {variable.group(1)}"
                _set(tree, key_path, PLACEHOLDER.format(key=dotted_path(key_path)))
                needs.append(_needs(key_path, sourcemap, what, fix))
                replaced = True
        if not replaced:
            break
    return needs


_INTERPOLATION = re.compile(r"\$\{([^${}]*)\}")
_KEY_REF = re.compile(r"[A-Za-z_][\w\-]*(?:\.[\w\-]+)*")
_ENV_REF = re.compile(r"oc\.env:([A-Za-z_]\w*)(,.*)?")


def _fill_simple(tree: dict, sourcemap: SourceMap, needs: list[ConfigError]) -> bool:
    """Decide unset values without OmegaConf when every interpolation is `${a.b}` or `${oc.env:VAR[,default]}`.

    Returns False (nothing changed) when some interpolation has another form; OmegaConf then decides.
    """
    leaves = [(key_path, value) for key_path, value in _leaves(tree) if isinstance(value, str) and "${" in value]
    plans: list[tuple[KeyPath, str, str]] = []
    for key_path, value in leaves:
        references = _INTERPOLATION.findall(value)
        if not references or _INTERPOLATION.sub("", value).count("${"):
            return False  # nested or unclosed: not simple
        for reference in references:
            env = _ENV_REF.fullmatch(reference)
            if env is not None:
                if env.group(2) is None and env.group(1) not in os.environ:
                    what = f"reads environment variable '{env.group(1)}', which is not set"
                    plans.append((key_path, what, f"export {env.group(1)}"))
                    break
                continue
            if not _KEY_REF.fullmatch(reference):
                return False
            if not _present(tree, reference.split(".")):
                plans.append((key_path, f"references '{reference}', which no loaded config sets", f"++{reference}"))
                break
    for key_path, what, fix in plans:
        _set(tree, key_path, PLACEHOLDER.format(key=dotted_path(key_path)))
        needs.append(_needs(key_path, sourcemap, what, fix))
    return True


def _present(tree: Any, parts: list[str]) -> bool:
    node = tree
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return node != MISSING_VALUE


def _needs(key_path: KeyPath, sourcemap: SourceMap, what: str, fix: str) -> ConfigError:
    return ConfigError(
        f"needs value: '{dotted_path(key_path)}' {what}",
        code=NEEDS_VALUE,
        location=sourcemap.locate(key_path),
        hint=f"NeMo Gym takes it from env.yaml, the environment or the command line when the server runs "
        f"({fix}=<value>); not a defect of this config",
    )
