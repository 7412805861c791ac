"""NeMo Gym's `_inherit_from` / `_copy` / `_delete_key` config directives, applied to a plain merged dict."""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable
from typing import Any

from gym_conform.core.config.merge import merge_plain_or_omegaconf
from gym_conform.core.config.omega import omegaconf_errors
from gym_conform.core.config.sourcemap import KeyPath, dotted_path
from gym_conform.errors import ConfigError, Location, combined

INHERIT_FROM_KEY = "_inherit_from"
COPY_KEY = "_copy"
DELETE_KEY_KEY = "_delete_key"
MISSING_VALUE = "???"

_STRING_DIRECTIVE = re.compile(r"\$\{(inherit_from|copy):\s*([^}]*?)\s*\}")

Locate = Callable[[KeyPath], Location]
Move = tuple[KeyPath, KeyPath]


def apply_directives(tree: dict, locate: Locate | None = None) -> tuple[dict, list[Move]]:
    """Apply every directive in `tree`; return the new tree and the (destination, source) node moves made.

    `key: ${inherit_from:a.b}` or `{_inherit_from: a.b, ...overrides}` moves node `a.b` here (merged with the
    overrides); `${copy:a.b}` / `_copy: a.b` does the same but keeps `a.b`; `_delete_key: "x, y"` deletes
    keys x and y of the dict it is in (after any inheritance). Sources are read from the config as merged,
    before any directive ran, so several nodes may inherit from the same source.
    """
    applier = _Applier(tree, locate or (lambda path: Location(field=dotted_path(path) or None)))
    result = applier.visit(tree, (), ())
    if len(applier.errors) == 1:
        raise applier.errors[0]
    if applier.errors:
        raise combined(applier.errors, summary=f"{len(applier.errors)} config directive problem(s) found")
    return result, applier.moves


class _Applier:
    """One pass over the tree, collecting every directive problem instead of stopping at the first."""

    def __init__(self, root: dict, locate: Locate) -> None:
        self.root = root
        self.snapshot = copy.deepcopy(root)
        self.locate = locate
        self.moves: list[Move] = []
        self.errors: list[ConfigError] = []

    def visit(self, value: Any, path: KeyPath, active: tuple[KeyPath, ...]) -> Any:
        """Return `value` with its directives applied; `active` holds sources being expanded (cycle guard)."""
        if isinstance(value, str):
            match = _STRING_DIRECTIVE.fullmatch(value.strip())
            if match is None:
                return value
            kind, source = match.groups()
            taken = self._take(source, path, keep=kind == "copy", directive_path=path, active=active)
            if taken is None:
                return value
            source_path, new_value = taken
            return self.visit(new_value, path, (*active, source_path))
        if isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = self.visit(item, (*path, index), active)
            return value
        if isinstance(value, dict):
            return self._visit_dict(value, path, active)
        return value

    def _visit_dict(self, node: dict, path: KeyPath, active: tuple[KeyPath, ...]) -> Any:
        """Expand this dict's own inherit/copy directive, then its `_delete_key`, then its children."""
        for key, keep in ((INHERIT_FROM_KEY, False), (COPY_KEY, True)):
            if key not in node:
                continue
            source = node.pop(key)
            directive_path = (*path, key)
            if not isinstance(source, str):
                self._error(
                    "config.directive",
                    f"'{key}' must be a dotted config path, got {type(source).__name__}",
                    directive_path,
                    f"Write e.g. {key}: math_with_judge",
                )
                continue
            taken = self._take(source, path, keep=keep, directive_path=directive_path, active=active)
            if taken is None:
                continue
            source_path, base = taken
            merged = self._merge(base, node, directive_path)
            if merged is None:
                continue
            if not path:
                self.root = merged  # later `_inherit_from`s must pop from the new top level
            return self.visit(merged, path, (*active, source_path))
        if DELETE_KEY_KEY in node:
            self._delete_keys(node, node.pop(DELETE_KEY_KEY), (*path, DELETE_KEY_KEY))
        for key in list(node):
            node[key] = self.visit(node[key], (*path, key), active)
        return node

    def _take(
        self, source: str, destination: KeyPath, *, keep: bool, directive_path: KeyPath, active: tuple
    ) -> tuple[KeyPath, Any] | None:
        """Return (source path, a deep copy of the source node), popping it from the tree unless `keep`."""
        source_path: KeyPath = tuple(part for part in source.split(".") if part)
        name = "_copy / ${copy:...}" if keep else "_inherit_from / ${inherit_from:...}"
        if source_path in active or source_path == destination[: len(source_path)]:
            self._error(
                "config.inherit_cycle",
                f"'{source}' cannot be used here: the {name} directive at '{dotted_path(destination)}' "
                "would include itself",
                directive_path,
                "Point the directive at a node that is neither this node, one of its parents, nor a node "
                "that refers back to it.",
            )
            return None
        found, value = _find(self.snapshot, source_path)
        if not found:
            self._error(
                "config.inherit_not_found",
                f"Path '{source}' used by {name} at '{dotted_path(destination)}' does not exist in the merged config.",
                directive_path,
                _path_hint(self.snapshot, source_path),
            )
            return None
        if not keep:
            parent_found, parent = _find(self.root, source_path[:-1])
            if parent_found and isinstance(parent, dict):
                parent.pop(source_path[-1], None)
        self.moves.append((destination, source_path))
        return source_path, copy.deepcopy(value)

    def _merge(self, base: Any, overrides: dict, directive_path: KeyPath) -> Any:
        """Merge the sibling overrides over the inherited node, as OmegaConf merges configs."""
        if not overrides:
            return base
        if base == MISSING_VALUE:
            return MISSING_VALUE  # the unset source is reported by the `???` check
        if not isinstance(base, dict):
            self._error(
                "config.directive",
                f"Cannot merge the keys next to the directive into a {type(base).__name__} value",
                directive_path,
                "Only a mapping can be inherited together with overriding keys; remove the other keys.",
            )
            return None
        try:
            return merge_plain_or_omegaconf(base, overrides)
        except omegaconf_errors() as exc:
            self._error("config.directive", f"Cannot merge the inherited node: {exc}", directive_path, None)
            return None

    def _delete_keys(self, node: dict, spec: Any, directive_path: KeyPath) -> None:
        """Delete the keys named by a `_delete_key` value ("a, b" or a list) from `node`."""
        names = spec.split(",") if isinstance(spec, str) else spec if isinstance(spec, list) else None
        if names is None:
            self._error(
                "config.directive",
                f"'{DELETE_KEY_KEY}' must be a comma-separated string of keys, got {type(spec).__name__}",
                directive_path,
                f'Write e.g. {DELETE_KEY_KEY}: "judge_model_server, should_use_judge"',
            )
            return
        for name in (str(name).strip() for name in names):
            if not name:
                continue
            if name in node:
                del node[name]
                continue
            close = difflib.get_close_matches(name, [str(key) for key in node], n=1)
            hint = f"Did you mean '{close[0]}'?" if close else "Remove it from the list."
            self._error(
                "config.delete_key_not_found",
                f"'{DELETE_KEY_KEY}' names '{name}', which is not a key of '{dotted_path(directive_path[:-1])}'",
                directive_path,
                hint,
            )

    def _error(self, code: str, message: str, path: KeyPath, hint: str | None) -> None:
        """Record one directive problem at the file and line of `path`."""
        self.errors.append(ConfigError(message, code=code, location=self.locate(path), hint=hint))


def _find(tree: Any, path: KeyPath) -> tuple[bool, Any]:
    """Return (found, value) for a dotted path of mapping keys."""
    node = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _path_hint(tree: Any, path: KeyPath) -> str:
    """Suggest the closest existing key at the level where `path` stops matching."""
    node = tree
    for depth, part in enumerate(path):
        if not isinstance(node, dict):
            break
        if part not in node:
            close = difflib.get_close_matches(part, [str(key) for key in node], n=1)
            if close:
                return f"Did you mean '{dotted_path((*path[:depth], close[0]))}'?"
            break
        node = node[part]
    return "Paths are dotted keys from the top of the merged config, e.g. _inherit_from: math_with_judge"
