"""Scaffolding of new resources servers (`ng_init_resources_server`)."""

from gym_conform.scaffold.create import (
    NAME_RULE,
    ScaffoldError,
    ScaffoldResult,
    check_name,
    class_prefix,
    folder_from_entrypoint,
    scaffold_resources_server,
    suggest_name,
)

__all__ = [
    "NAME_RULE",
    "ScaffoldError",
    "ScaffoldResult",
    "check_name",
    "class_prefix",
    "folder_from_entrypoint",
    "scaffold_resources_server",
    "suggest_name",
]
