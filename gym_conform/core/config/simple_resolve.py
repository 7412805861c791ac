"""Resolve a config's interpolations without OmegaConf when every one is a plain `${a.b}` or `${oc.env:VAR}`.

Building OmegaConf nodes is most of a config load's cost, and NeMo Gym's configs interpolate only in those two
forms. `resolve_simple` gives exactly what `OmegaConf.to_container(OmegaConf.create(tree), resolve=True)` gives
(a property test compares them), or None as soon as anything else appears (another resolver, a relative or
nested reference, a quoted or spaced default, a cycle, a missing key or variable), and OmegaConf decides.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any

from gym_conform.core.config.directives import MISSING_VALUE

_REFERENCE = re.compile(r"\$\{([^${}]*)\}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_ENV = re.compile(r"oc\.env:([A-Za-z_][A-Za-z0-9_]*)(?:,([0-9]+|[A-Za-z_][A-Za-z0-9_]*))?")
# OmegaConf's grammar turns these defaults into other values first ('true' gives 'True'): it decides them.
_PARSED_DEFAULTS = frozenset({"true", "false", "nan", "inf"})
_SCALARS = (str, int, float, bool)


class _NotSimple(Exception):
    """Something only OmegaConf can decide."""


def resolve_simple(tree: dict) -> dict | None:
    """Return `tree` with every interpolation resolved, or None when OmegaConf must do it."""
    try:
        return _Resolver(tree).value(tree, ())
    except _NotSimple:
        return None


class _Resolver:
    def __init__(self, tree: dict) -> None:
        self.tree = tree
        self.active: set[tuple[str, ...]] = set()

    def value(self, node: Any, path: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            if not all(isinstance(key, str) for key in node):
                raise _NotSimple
            return {key: self.value(item, (*path, key)) for key, item in node.items()}
        if isinstance(node, list):
            return [self.value(item, (*path, str(index))) for index, item in enumerate(node)]
        if isinstance(node, str):
            if node == MISSING_VALUE:
                raise _NotSimple  # OmegaConf raises on it; its error says where
            if "${" in node or "\\" in node:
                return self.text(node)
            return node
        if node is None or isinstance(node, (int, float, bool)):
            return node
        raise _NotSimple

    def text(self, text: str) -> Any:
        if "\\" in text:
            raise _NotSimple  # escaped interpolations
        whole = _REFERENCE.fullmatch(text)
        if whole is not None:
            return self.reference(whole.group(1))
        parts: list[str] = []
        position = 0
        for match in _REFERENCE.finditer(text):
            parts.append(text[position : match.start()])
            value = self.reference(match.group(1))
            if value is None or not isinstance(value, _SCALARS):
                raise _NotSimple
            parts.append(str(value))
            position = match.end()
        rest = text[position:]
        if "${" in rest or any("${" in part for part in parts[::2]):
            raise _NotSimple
        return "".join(parts) + rest

    def reference(self, body: str) -> Any:
        env = _ENV.fullmatch(body)
        if env is not None:
            variable, default = env.group(1), env.group(2)
            if variable in os.environ:
                return os.environ[variable]
            if default is None or default.lower() in _PARSED_DEFAULTS:
                raise _NotSimple  # unset without a default: OmegaConf raises (and says which variable)
            return None if default.lower() == "null" else default
        if not _KEY.fullmatch(body):
            raise _NotSimple
        path = tuple(body.split("."))
        if path in self.active:
            raise _NotSimple  # a cycle: OmegaConf explains it
        node: Any = self.tree
        for part in path:
            if not isinstance(node, dict) or part not in node:
                raise _NotSimple
            node = node[part]
        self.active.add(path)
        try:
            return copy.deepcopy(self.value(node, path))
        finally:
            self.active.discard(path)
