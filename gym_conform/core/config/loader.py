"""Load NeMo Gym configs: `config_paths` includes, env.yaml, merge order, directives, `???` and interpolation."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gym_conform.core.config.directives import apply_directives
from gym_conform.core.config.merge import (
    Unmergeable,
    has_interpolation,
    merge_layers,
    merge_plain_or_omegaconf,
    plain_dict,
)
from gym_conform.core.config.omega import omegaconf_errors
from gym_conform.core.config.resolve import (
    interpolation_error,
    omegaconf_error,
    raise_on_missing_values,
    resolve_tree,
)
from gym_conform.core.config.sourcemap import KeyPath, Source, SourceMap, dotted_path, load_yaml, plain_source
from gym_conform.core.config.unset import fill_unset
from gym_conform.core.files import display_path, file_kind, not_regular
from gym_conform.errors import ConfigError, GymConformError, Location, combined

if TYPE_CHECKING:
    from omegaconf import Container

EXTRA_ROOTS_ENV_VAR = "NEMO_GYM_EXTRA_ROOTS"
CONFIG_PATHS_KEY = "config_paths"
ENV_YAML_NAME = "env.yaml"
COMMAND_LINE = "<command line>"
INSTALL_ROOT = Path(__file__).resolve().parents[3]

# What NeMo Gym's ng_prepare_data seeds the config with, so that no model config is needed.
NO_MODEL_DEFAULTS: dict[str, Any] = {
    "policy_base_url": "",
    "policy_api_key": "",
    "policy_model_name": "",
    "policy_model": {"responses_api_models": {"dummy_model": {"entrypoint": "app.py"}}},
}

MODEL_SERVER_TYPE = "responses_api_models"
PLACEHOLDER_MODEL = "dummy_model"

_SECRET_KEY_PARTS = ("token", "api_key", "apikey", "secret", "password")
_HINT_SET_VALUE = (
    "Provide it via a CLI override, in env.yaml, or in a config passed via config_paths, e.g. ++{key}=<value>"
)


def search_roots() -> list[Path]:
    """Return the directories relative read paths are looked up in: extra roots, cwd, then the install root."""
    candidates = [entry for entry in os.environ.get(EXTRA_ROOTS_ENV_VAR, "").split(os.pathsep) if entry.strip()]
    roots = [Path(os.path.abspath(os.path.expanduser(entry))) for entry in candidates]
    roots.append(Path.cwd())
    if (INSTALL_ROOT / "gym_conform").is_dir() and (INSTALL_ROOT / "resources_servers").is_dir():
        roots.append(INSTALL_ROOT)
    return list(dict.fromkeys(roots))


def resolve_read_path(p: str | Path, roots: Sequence[Path] | None = None) -> Path:
    """Return `p` under the first search root where it exists (absolute paths as is), else under cwd."""
    path = Path(p)
    if path.is_absolute():
        return path
    for root in search_roots() if roots is None else roots:
        if (Path(root) / path).exists():
            return Path(root) / path
    return Path.cwd() / path


@dataclass(frozen=True, repr=False)
class LoadedConfig:
    """A fully merged and resolved config, the YAML files it came from, and where each key was set."""

    data: dict
    files: list[Path] = field(default_factory=list)
    sourcemap: SourceMap = field(default_factory=SourceMap, compare=False)
    roots: list[Path] = field(default_factory=list, compare=False)

    def locate(self, key_path: Sequence[str | int]) -> Location:
        """Return the YAML file and line that last set `key_path` (or its nearest set ancestor)."""
        return self.sourcemap.locate(key_path)

    def __repr__(self) -> str:
        files = [str(path) for path in self.files]
        return f"LoadedConfig(data={_mask_secrets(self.data)!r}, files={files!r})"


def load_config(
    cli: dict,
    *,
    initial: dict | None = None,
    roots: Sequence[Path] | None = None,
    needs: list[ConfigError] | None = None,
) -> LoadedConfig:
    """Load, merge and resolve a config the way NeMo Gym does; precedence CLI > env.yaml > config files.

    `initial` holds defaults below everything else (NeMo Gym's NO_MODEL_DEFAULTS for ng_prepare_data). Every
    problem is a ConfigError (several at once: ProblemsFound) with a file, line and hint. Given a `needs`
    list, values left to the user (`???`, unset keys and variables) become placeholders listed there instead.
    """
    roots = search_roots() if roots is None else [Path(root) for root in roots]
    cli = copy.deepcopy(cli)
    initial = copy.deepcopy(initial or {})
    cli_source = plain_source(COMMAND_LINE, cli)

    env_path = resolve_read_path(ENV_YAML_NAME, roots)
    env_data: dict = {}
    env_source: Source | None = None
    if env_path.is_file():
        env_data, env_source = _load_mapping(env_path)

    head = _merge([(env_data, env_source), (cli, cli_source)])
    head_origin = cli_source if CONFIG_PATHS_KEY in cli or env_source is None else env_source
    entries = _config_path_list(_selected(head, CONFIG_PATHS_KEY), head_origin)
    all_paths, loaded = _load_includes(entries, roots)

    layers = [(initial, None)] + [(data, source) for _, data, source in loaded]
    sources = [source for _, _, source in loaded]
    if env_source is not None:
        layers.append((env_data, env_source))
        sources.append(env_source)
    layers.append((cli, cli_source))
    sources.append(cli_source)
    merged = _merge(layers)
    tree = _in_nemo_gym_key_order(merged, [data for _, data, _ in loaded] + [env_data, initial, cli])
    if all_paths:
        tree[CONFIG_PATHS_KEY] = all_paths

    sourcemap = SourceMap(sources)
    tree, moves = apply_directives(tree, sourcemap.locate)
    sourcemap.moves.extend(moves)
    _drop_placeholder_implementations(tree, initial)
    if needs is not None:
        needs.extend(fill_unset(tree, sourcemap))
    raise_on_missing_values(tree, sourcemap)
    data = resolve_tree(tree, sourcemap)
    files = [path for path, _, _ in loaded] + ([env_path] if env_source is not None else [])
    return LoadedConfig(data=data, files=files, sourcemap=sourcemap, roots=list(roots))


def _in_nemo_gym_key_order(tree: dict, layers: list[dict]) -> dict:
    """Order top-level keys as NeMo Gym does: it merges the defaults with the command line, after the files.

    Values from the defaults still lose to every file here; only the position of their keys follows NeMo Gym,
    so server instances (and hence collation) come in the same order.
    """
    order = dict.fromkeys(key for layer in layers for key in layer)
    return {key: tree[key] for key in order if key in tree}


def _load_mapping(path: Path) -> tuple[dict, Source]:
    """Load a YAML file whose top level must be a mapping (an empty file is an empty mapping)."""
    data, source = load_yaml(path)
    source = Source(display_path(path), source.lines)
    if data is None:
        return {}, source
    if not isinstance(data, dict):
        raise ConfigError(
            f"A config file must hold a mapping of keys at the top level, but this one holds a {type(data).__name__}.",
            code="config.not_mapping",
            location=Location(source.label, 1),
            hint="Write the file as `key: value` lines, e.g. `my_server:` followed by an indented block.",
        )
    return data, source


def _config_path_list(value: Any, origin: Source | None) -> list[tuple[str, Source | None, KeyPath]]:
    """Validate a `config_paths` value as a list of strings; return each entry with where it was written."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        label = origin.label if origin is not None else None
        line = origin.lines.get((CONFIG_PATHS_KEY,)) if origin is not None else None
        raise ConfigError(
            f"'{CONFIG_PATHS_KEY}' must be a list of paths. Got: {value!r} ({type(value).__name__}).",
            code="config.paths_not_list",
            location=Location(label, line, CONFIG_PATHS_KEY),
            hint='Pass a list, e.g. "+config_paths=[a.yaml,b.yaml]" on the command line or '
            "`config_paths: [a.yaml, b.yaml]` in YAML.",
        )
    return [(entry, origin, (CONFIG_PATHS_KEY, index)) for index, entry in enumerate(value)]


def _load_includes(
    entries: list[tuple[str, Source | None, KeyPath]], roots: Sequence[Path]
) -> tuple[list[str], list[tuple[Path, dict, Source]]]:
    """Load every config breadth-first with its nested `config_paths`; return all entries and merge order.

    Merge order is the post-order of the include tree: a config follows (and so overrides) what it
    included, and a later sibling (with its includes) follows an earlier one.
    """
    queue: list[tuple[str, Source | None, KeyPath]] = []
    seen: dict[Path, int] = {}
    for included in entries:
        resolved = resolve_read_path(included[0], roots).resolve()
        if resolved not in seen:
            seen[resolved] = len(queue)
            queue.append(included)
    root_count = len(queue)
    children: list[list[int]] = [[] for _ in queue]
    # The including config of each entry (None for the roots), to tell an include cycle from a shared include.
    parents: list[int | None] = [None for _ in queue]
    resolved_paths = list(seen)
    loaded: dict[int, tuple[Path, dict, Source]] = {}
    errors: list[GymConformError] = []
    index = 0
    while index < len(queue):
        entry, written_in, key_path = queue[index]
        path = resolve_read_path(entry, roots)
        try:
            if path.exists() and not path.is_file():
                raise _not_regular(path, written_in, key_path)
            if not path.is_file():
                raise _not_found(entry, written_in, key_path, roots)
            data, source = _load_mapping(path)
            nested = _config_path_list(data.get(CONFIG_PATHS_KEY), source)
        except ConfigError as exc:
            errors.append(exc)
            index += 1
            continue
        loaded[index] = (path, data, source)
        for child in nested:
            resolved = resolve_read_path(child[0], roots).resolve()
            if resolved not in seen:
                seen[resolved] = len(queue)
                children[index].append(len(queue))
                parents.append(index)
                resolved_paths.append(resolved)
                queue.append(child)
                children.append([])
                continue
            chain = _include_chain(index, parents, resolved_paths, resolved)
            if chain is not None:
                errors.append(_include_cycle(chain, child))
        index += 1
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise combined(errors, summary=f"{len(errors)} config file problem(s) found")
    order: list[int] = []

    def visit(node: int) -> None:
        for child in children[node]:
            visit(child)
        order.append(node)

    for root_index in range(root_count):
        visit(root_index)
    return [entry for entry, _, _ in queue], [loaded[node] for node in order]


def _entry_location(source: Source | None, key_path: KeyPath) -> Location:
    """Where a `config_paths` entry was written: its file and line (none for the command line's own source)."""
    if source is None:
        return Location(None, None, dotted_path(key_path))
    return Location(source.label, source.lines.get(key_path), dotted_path(key_path))


def _not_regular(path: Path, written_in: Source | None, key_path: KeyPath) -> ConfigError:
    """Build the error for a config_paths entry that names a directory, FIFO, socket or device (never opened)."""
    error = not_regular(display_path(path), "this config path", file_kind(path) or "special file")
    return ConfigError(
        f"{display_path(path)}: {error.message}",
        code=error.code,
        location=_entry_location(written_in, key_path),
        hint=error.hint,
    )


def _include_chain(index: int, parents: list[int | None], paths: list[Path], target: Path) -> list[Path] | None:
    """Return the include chain from `target` down to config `index` when `target` includes `index`, else None."""
    chain = []
    node: int | None = index
    while node is not None:
        chain.append(paths[node])
        if paths[node] == target:
            return list(reversed(chain))
        node = parents[node]
    return None


def _include_cycle(chain: list[Path], entry: tuple[str, Source | None, KeyPath]) -> ConfigError:
    """Build the error for a `config_paths` entry that includes one of its own includers (or itself)."""
    written, source, key_path = entry
    steps = " -> ".join(display_path(path) for path in [*chain, chain[0]])
    return ConfigError(
        f"config_paths entry '{written}' makes an include cycle: {steps}",
        code="config.include_cycle",
        location=_entry_location(source, key_path),
        hint="A config cannot include itself, directly or through the configs it includes: remove this entry "
        "(NeMo Gym skips the repeated include with a warning, so the cycle only hides which file wins).",
    )


def _not_found(entry: str, written_in: Source | None, key_path: KeyPath, roots: Sequence[Path]) -> ConfigError:
    """Build the error for a config_paths entry that exists under no search root."""
    path = Path(entry)
    looked = [path] if path.is_absolute() else [Path(root) / path for root in roots]
    suggestions: list[str] = []
    for candidate in looked:
        if candidate.parent.is_dir():
            names = [child.name for child in candidate.parent.iterdir()]
            for name in difflib.get_close_matches(path.name, names, n=3, cutoff=0.6):
                suggestion = str(path.parent / name) if not path.is_absolute() else str(candidate.parent / name)
                if suggestion not in suggestions:
                    suggestions.append(suggestion)
    listing = "\n".join(f"  - {place}" for place in (looked if path.is_absolute() else roots))
    hint = "Check the spelling; relative paths are looked up in NEMO_GYM_EXTRA_ROOTS, cwd, then the install root."
    if suggestions:
        hint = "Did you mean " + " or ".join(repr(s) for s in suggestions) + "?"
    return ConfigError(
        f"config_paths entry '{entry}' was not found. Looked in:\n{listing}",
        code="config.not_found",
        location=_entry_location(written_in, key_path),
        hint=hint,
    )


def _merge(layers: Sequence[tuple[dict, Source | None]]) -> dict:
    """Merge plain dicts as OmegaConf does (later wins, first-seen key order kept); errors name the layer."""
    try:
        return merge_layers([data for data, _ in layers])
    except Unmergeable:
        pass  # OmegaConf decides (and explains) what the plain merge cannot
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    merged: Container = OmegaConf.create({})
    for data, source in layers:
        try:
            merged = OmegaConf.merge(merged, OmegaConf.create(data))
        except OmegaConfBaseException as exc:
            raise omegaconf_error(exc, source) from exc
        except (TypeError, ValueError) as exc:
            raise _type_clash(plain_dict(merged), data, source) from exc
    return plain_dict(merged)


def _type_clash(base: dict, layer: dict, source: Source | None) -> ConfigError:
    """Explain a merge OmegaConf refused: one layer has a mapping where an earlier one has a list."""
    key_path = _clash_path(base, layer, ())
    label = source.label if source is not None else None
    line = source.lines.get(key_path) if source is not None and key_path else None
    name = dotted_path(key_path or ())
    return ConfigError(
        f"'{name}' is a list in one config and a mapping in another, so they cannot be merged.",
        code="config.merge",
        location=Location(label, line, name or None),
        hint="A list is always replaced whole: set the entire list (e.g. ++key=[...]) instead of one of its "
        "items, or make both configs use the same shape.",
    )


def _clash_path(base: Any, layer: Any, prefix: KeyPath) -> KeyPath | None:
    """Return the first key path where `layer` puts a mapping over a list or a list over a mapping."""
    if isinstance(base, dict) and isinstance(layer, dict):
        for key in layer:
            if key in base:
                found = _clash_path(base[key], layer[key], (*prefix, key))
                if found is not None:
                    return found
        return None
    if isinstance(base, (dict, list)) and isinstance(layer, (dict, list)) and type(base) is not type(layer):
        return prefix
    return None


def _selected(tree: dict, key: str) -> Any:
    """Return one top-level value as plain data, resolving interpolations in it."""
    value = tree.get(key)
    if not has_interpolation(value):
        return value
    from omegaconf import DictConfig, ListConfig, OmegaConf

    try:
        value = OmegaConf.create(tree).get(key)
        if isinstance(value, (DictConfig, ListConfig)):
            return OmegaConf.to_container(value, resolve=True)
        return value
    except omegaconf_errors() as exc:
        raise interpolation_error(exc, (key,), None) from exc


def _drop_placeholder_implementations(tree: dict, initial: dict) -> None:
    """Merge a placeholder model implementation (`dummy_model`) into the real one beside it, in every instance.

    NeMo Gym does the same over all top-level blocks, so that a model config replaces the no-model placeholder,
    also in a block that copied `policy_model` before the replacement (`simulator_model: {_copy: policy_model}`).
    """
    placeholders = {PLACEHOLDER_MODEL} | {
        impl
        for block in initial.values()
        if isinstance(block, dict) and isinstance(block.get(MODEL_SERVER_TYPE), dict)
        for impl in block[MODEL_SERVER_TYPE]
    }
    for block in tree.values():
        models = block.get(MODEL_SERVER_TYPE) if isinstance(block, dict) else None
        if not isinstance(models, dict):
            continue
        for name in placeholders:
            real = [impl for impl in models if impl not in placeholders]
            if name not in models or not real:
                continue
            placeholder = models.pop(name)
            if not isinstance(placeholder, dict) or not isinstance(models[real[0]], dict):
                continue
            try:
                models[real[0]] = merge_plain_or_omegaconf(placeholder, models[real[0]])
            except omegaconf_errors():
                continue  # the real implementation's own values stand; the schema reports their shape


def _mask_secrets(tree: Any) -> Any:
    """Return a copy of `tree` with the string value of every secret-looking key replaced by `***`."""
    if isinstance(tree, dict):
        return {
            key: "***"
            if isinstance(value, str) and value and any(part in str(key).lower() for part in _SECRET_KEY_PARTS)
            else _mask_secrets(value)
            for key, value in tree.items()
        }
    if isinstance(tree, list):
        return [_mask_secrets(item) for item in tree]
    return tree
