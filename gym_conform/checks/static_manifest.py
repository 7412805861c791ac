"""The `manifest` check: an environment's manifest.yaml validates as 0.7.0's `gym env validate NAME` requires."""

from __future__ import annotations

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.checks.discovery import RESOURCES_SERVER_TYPE
from gym_conform.core.config.sourcemap import load_yaml
from gym_conform.core.excerpt import quoted
from gym_conform.core.manifest import MANIFEST_NAME, Manifest, load_manifest
from gym_conform.errors import GymConformError, Location, Problem


def check_manifest(ctx: FolderContext) -> None:
    """Fail with every schema, licensing, naming and mirror problem of the folder's manifest.yaml."""
    path = ctx.folder / MANIFEST_NAME
    shown = ctx.show(path)
    if not path.is_file():
        if not ctx.is_environment:
            raise CheckSkipped("no manifest.yaml (0.7.0 reads manifests of environments and benchmarks only)")
        raise CheckFailed(
            [
                Problem(
                    "manifest.missing",
                    "no manifest.yaml: `gym env validate NAME` and `gym env publish` read it",
                    Location(shown),
                    "create it with `gym env init --environment NAME` (name, version, kind, integration_profile, "
                    "domain, description, modality, licensing, authors, reward, agent_server, datasets)",
                )
            ],
            summary=f"{ctx.display} has no manifest.yaml",
        )
    loaded = load_manifest(path, shown)
    problems = list(loaded.problems)
    if loaded.manifest is not None:
        problems += _folder_problems(ctx, loaded.manifest, shown)
    if problems:
        raise CheckFailed(problems, summary=f"{shown}: {len(problems)} problem(s)")


def _folder_problems(ctx: FolderContext, manifest: Manifest, shown: str) -> list[Problem]:
    """Check what the manifest says about its folder: name, config path, and the config it mirrors."""
    _, source = load_yaml(ctx.folder / MANIFEST_NAME)
    problems: list[Problem] = []
    if manifest.name != ctx.folder.name:
        problems.append(
            Problem(
                "manifest.name",
                f"name {quoted(manifest.name)} is not the folder's name {ctx.folder.name!r}",
                Location(shown, source.lines.get(("name",)), "name"),
                "the catalog resolves an environment by its folder name: use the same name",
            )
        )
    config = ctx.folder / manifest.config_path
    if not config.is_file():
        problems.append(
            Problem(
                "manifest.config_path",
                f"config_path {quoted(manifest.config_path)} does not exist next to the manifest",
                Location(shown, source.lines.get(("config_path",)), "config_path"),
                f"point it at the environment's config (relative to {ctx.show(ctx.folder)})",
            )
        )
        return problems
    try:
        entries = ctx.dataset_entries(config)
        data = ctx.load_config_file(config).data
    except GymConformError:
        return problems  # the config check reports a config that does not load
    declared = {entry.raw.get("name"): entry.jsonl_fpath for entry in entries if isinstance(entry.raw, dict)}
    for index, dataset in enumerate(manifest.datasets):
        if declared.get(dataset.name, dataset.jsonl_fpath) != dataset.jsonl_fpath or dataset.name not in declared:
            written = declared.get(dataset.name)
            problems.append(
                Problem(
                    "manifest.mirror",
                    f"dataset {quoted(dataset.name)} ({dataset.jsonl_fpath}) is "
                    + (f"{written} in the config" if written else "not declared by the config"),
                    Location(shown, source.lines.get(("datasets", index)), f"datasets[{index}]"),
                    "the manifest mirrors the resolved config: `gym env validate NAME --sync` rewrites the mirror",
                )
            )
    servers = {
        name
        for instance, block in data.items()
        if isinstance(block, dict) and isinstance(block.get(RESOURCES_SERVER_TYPE), dict)
        for name in (instance, *block[RESOURCES_SERVER_TYPE])
    }
    if manifest.resources_server is not None and manifest.resources_server not in servers:
        problems.append(
            Problem(
                "manifest.mirror",
                f"resources_server {quoted(manifest.resources_server)} is not a resources server of "
                f"{manifest.config_path}",
                Location(shown, source.lines.get(("resources_server",)), "resources_server"),
                "name the resources server the config declares (`gym env validate NAME --sync` rewrites the mirror)",
            )
        )
    return problems
