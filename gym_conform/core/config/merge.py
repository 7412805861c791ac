"""Merge plain config trees the way `OmegaConf.merge` merges them, without building OmegaConf nodes.

OmegaConf spends most of a config load wrapping every value in a node. For trees of plain YAML data (string or
int keys; str, int, float, bool and None leaves; lists; dicts) its merge follows a few rules, reproduced here and
checked against OmegaConf itself by a property test. Anything else (a mapping meeting a list, a value OmegaConf
would refuse) is `Unmergeable`: callers then merge with OmegaConf, which gives its own located error.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omegaconf import Container

MISSING = "???"
_LEAF_TYPES = (str, int, float, bool, type(None))


class Unmergeable(Exception):
    """The trees hold something whose merge only OmegaConf may decide."""


def plain_dict(config: Container, resolve: bool = False) -> dict:
    """Return an OmegaConf mapping as a plain dict (a mapping's container is always one)."""
    from omegaconf import OmegaConf

    container = OmegaConf.to_container(config, resolve=resolve)
    if not isinstance(container, dict):
        raise TypeError(f"expected a mapping, got {type(container).__name__}")
    return container


def is_plain(tree: Any) -> bool:
    """Return whether `tree` holds only plain YAML data that `merge_into` handles exactly."""
    if isinstance(tree, dict):
        return all(isinstance(key, (str, int)) and not isinstance(key, bool) for key in tree) and all(
            is_plain(value) for value in tree.values()
        )
    if isinstance(tree, list):
        return all(is_plain(item) for item in tree)
    return isinstance(tree, _LEAF_TYPES)


def merge_layers(layers: list[dict]) -> dict:
    """Merge plain dicts in order (later wins, first-seen key order kept); raise Unmergeable when not plain."""
    merged: dict = {}
    for layer in layers:
        if not is_plain(layer):
            raise Unmergeable
        merge_into(merged, layer)
    return merged


def merge_plain_or_omegaconf(base: dict, layer: dict) -> dict:
    """Merge two trees into a new plain dict: here when plain, else with OmegaConf (whose errors propagate)."""
    try:
        return merge_layers([base, layer])
    except Unmergeable:
        from omegaconf import OmegaConf

        return plain_dict(OmegaConf.merge(OmegaConf.create(base), OmegaConf.create(layer)))


def has_interpolation(tree: Any) -> bool:
    """Return whether any string in `tree` holds `${` (an interpolation, or an escaped one)."""
    if isinstance(tree, dict):
        return any(has_interpolation(value) for value in tree.values())
    if isinstance(tree, list):
        return any(has_interpolation(item) for item in tree)
    return isinstance(tree, str) and "${" in tree


def merge_into(base: dict, layer: dict) -> None:
    """Merge `layer` into `base` in place with OmegaConf's rules for plain data."""
    for key, value in layer.items():
        if key not in base:
            base[key] = copy.deepcopy(value)
            continue
        current = base[key]
        if isinstance(current, str) and "${" in current and (isinstance(value, (dict, list)) or value == MISSING):
            raise Unmergeable  # OmegaConf resolves the interpolation to decide this merge; leave it to OmegaConf
        if isinstance(value, str) and value == MISSING:
            continue  # a missing value never replaces one that is set
        if isinstance(value, dict):
            if isinstance(current, list):
                raise Unmergeable
            if isinstance(current, dict):
                merge_into(current, value)
            else:
                fresh: dict = {}
                merge_into(fresh, value)
                base[key] = fresh
        elif isinstance(value, list):
            if isinstance(current, dict):
                raise Unmergeable
            base[key] = copy.deepcopy(value)
        else:
            base[key] = value
