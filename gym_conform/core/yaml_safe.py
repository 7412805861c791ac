"""The one YAML loader of the project: PyYAML's safe loader (libyaml-backed when installed), bounded in size.

Aliases let a few lines stand for billions of nodes ("billion laughs"): PyYAML shares the aliased objects,
but every later walk (merging, source lines, validation) visits each use. So every document is composed
first and its nodes counted as they would be expanded, aliases at each use; a document over `MAX_NODES`,
or one whose alias refers to a node containing it, is refused before anything is built from it.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

# libyaml's parser builds the same nodes (with marks) as PyYAML's pure-Python one, about ten times faster;
# both construct with SafeConstructor, so no tag can run code.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Far above any real config (a large one has a few thousand nodes), far below what would exhaust memory.
MAX_NODES = 200_000


class YamlTooLargeError(yaml.MarkedYAMLError):
    """A document whose aliases expand past `MAX_NODES` nodes, or refer to a node that contains them."""


def check_expansion(node: yaml.Node, limit: int = MAX_NODES) -> int:
    """Return the number of nodes `node` stands for with every alias expanded; raise `YamlTooLargeError` early."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(current: yaml.Node) -> int:
        key = id(current)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in open_nodes:
            raise YamlTooLargeError(
                problem="an alias refers to a node that contains it (a recursive structure a config cannot hold)",
                problem_mark=current.start_mark,
            )
        open_nodes.add(key)
        total = 1
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                total += size(key_node) + size(value_node)
        elif isinstance(current, yaml.SequenceNode):
            for item in current.value:
                total += size(item)
        if total > limit:
            raise YamlTooLargeError(
                problem=f"its aliases expand the document to more than {limit:,} nodes (a YAML alias bomb?)",
                problem_mark=current.start_mark,
            )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    try:
        return size(node)
    except RecursionError:
        raise _too_deep(node) from None


def _too_deep(node: yaml.Node) -> YamlTooLargeError:
    return YamlTooLargeError(
        problem=f"nested deeper than Python can walk (about {sys.getrecursionlimit()} levels)",
        problem_mark=node.start_mark,
    )


def compose_checked(loader: Any, text: str | None = None) -> tuple[yaml.Node | None, Any]:
    """Compose `loader`'s single document, check its expanded size, then construct it: (node, data).

    `text`, when given, is the document's source: with no `*` in it there is no alias, so nothing to expand.
    """
    node = loader.get_single_node()
    if node is None:
        return None, None
    if text is None or "*" in text:
        check_expansion(node)
    try:
        return node, loader.construct_document(node)
    except RecursionError:
        raise _too_deep(node) from None


def safe_load(text: str) -> Any:
    """Parse YAML text like `yaml.safe_load` (libyaml when available), refusing alias bombs."""
    loader = SAFE_LOADER(text)
    try:
        return compose_checked(loader, text)[1]
    finally:
        loader.dispose()
