"""Map a config key path back to the YAML file and line that set it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gym_conform.core.yaml_safe import SAFE_LOADER, YamlTooLargeError, compose_checked
from gym_conform.errors import ConfigError, Location

KeyPath = tuple[Any, ...]
# A config file is a few KB; reading a multi-GB file (a dataset named by mistake) would only fill memory.
MAX_CONFIG_BYTES = 16 << 20


def dotted_path(parts: Sequence[str | int]) -> str:
    """Render a key path as `a.b[0].c`, the form every message uses."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text = f"{text}.{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class Source:
    """One layer of the merged config: its label (a file path) and the line of every key path it sets."""

    label: str | None
    lines: dict[KeyPath, int | None] = field(default_factory=dict)

    def has(self, path: KeyPath) -> bool:
        """Return whether this layer sets `path`."""
        return path in self.lines


def load_yaml(path: Path) -> tuple[Any, Source]:
    """Load a YAML file like `yaml.safe_load` and also return the 1-based line of every key path in it."""
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"Config file {path} is {size:,} bytes, more than any config needs ({MAX_CONFIG_BYTES:,}); not read.",
            code="config.yaml_too_large",
            location=Location(str(path)),
            hint="Is this path a config? Data belongs in a dataset file named by jsonl_fpath.",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"Config file {path} is not valid UTF-8 text.",
            code="config.yaml",
            location=Location(str(path)),
            hint="Save the file as UTF-8.",
        ) from exc
    loader = SAFE_LOADER(text)
    try:
        node, data = compose_checked(loader, text)
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from exc
    finally:
        loader.dispose()
    lines: dict[KeyPath, int | None] = {}
    if node is not None:
        for key_path, line in _walk_nodes(node, ()):
            lines.setdefault(key_path, line)
    return data, Source(str(path), lines)


def plain_source(label: str, tree: Any) -> Source:
    """Describe a layer that has no lines (e.g. the command line) by the key paths its nested dict sets."""
    return Source(label, {key_path: None for key_path in _walk_plain(tree, ())})


def _yaml_error(path: Path, exc: yaml.YAMLError) -> ConfigError:
    """Turn a PyYAML parse error into a ConfigError naming the file, line and the parser's problem."""
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, YamlTooLargeError):
        return ConfigError(
            f"YAML refused: {exc.problem}",
            code="config.yaml_too_large",
            location=Location(str(path), mark.line + 1 if mark is not None else None),
            hint="A config needs no structure this large: write a repeated block once and refer to it with "
            "${key.path} or _inherit_from, and drop any alias that points into its own node.",
        )
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return ConfigError(
        f"Invalid YAML: {detail}",
        code="config.yaml",
        location=Location(str(path), mark.line + 1 if mark is not None else None),
        hint="Check indentation, colons after keys and matching quotes/brackets on and just before this line.",
    )


def _walk_nodes(
    node: yaml.Node, prefix: KeyPath, ancestors: frozenset[int] = frozenset()
) -> Iterator[tuple[KeyPath, int]]:
    """Yield (key path, 1-based line) for every mapping key and sequence item under `node`."""
    if id(node) in ancestors:  # a recursive YAML alias would otherwise never end
        return
    ancestors = ancestors | {id(node)}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key_path = (*prefix, key_node.value)
            yield key_path, key_node.start_mark.line + 1
            yield from _walk_nodes(value_node, key_path, ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key_path = (*prefix, index)
            yield key_path, item.start_mark.line + 1
            yield from _walk_nodes(item, key_path, ancestors)


def _walk_plain(tree: Any, prefix: KeyPath) -> Iterator[KeyPath]:
    """Yield every key path of a nested dict/list."""
    items: Iterable[tuple[Any, Any]]
    if isinstance(tree, dict):
        items = ((str(key), value) for key, value in tree.items())
    elif isinstance(tree, list):
        items = enumerate(tree)
    else:
        return
    for key, value in items:
        key_path = (*prefix, key)
        yield key_path
        yield from _walk_plain(value, key_path)


@dataclass
class SourceMap:
    """Every layer in merge order (lowest precedence first), plus node moves made by directives."""

    sources: list[Source] = field(default_factory=list)
    moves: list[tuple[KeyPath, KeyPath]] = field(default_factory=list)

    def locate(self, key_path: Sequence[str | int]) -> Location:
        """Return the file and line that last set `key_path`, else of its nearest ancestor that is set."""
        wanted = tuple(key_path)
        for length in range(len(wanted), 0, -1):
            for candidate in self._aliases(wanted[:length]):
                found = self._lookup(candidate)
                if found is not None:
                    return Location(found.label, found.lines[candidate], dotted_path(wanted))
        return Location(field=dotted_path(wanted) or None)

    def _aliases(self, key_path: KeyPath) -> list[KeyPath]:
        """Return `key_path` and the paths it had before directives moved or copied its nodes."""
        candidates = [key_path]
        for destination, origin in reversed(self.moves):
            for known in list(candidates):
                if known[: len(destination)] == destination:
                    moved = origin + known[len(destination) :]
                    if moved not in candidates:
                        candidates.append(moved)
        return candidates

    def _lookup(self, key_path: KeyPath) -> Source | None:
        """Return the highest-precedence layer that set `key_path`; a list is owned whole by one layer."""
        layers = list(reversed(self.sources))
        for index, part in enumerate(key_path):
            if isinstance(part, int):
                owner = next((layer for layer in layers if layer.has(key_path[:index])), None)
                if owner is None:
                    return None
                layers = [owner]
        return next((layer for layer in layers if layer.has(key_path)), None)
