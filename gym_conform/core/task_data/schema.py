"""A server's `TaskData` row schema (NeMo Gym 0.7.0's `task_data.py`), read statically or by importing it."""

from __future__ import annotations

import importlib.util
import sys
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter

from gym_conform.core.task_data.notes import TaskSchemaError, UncheckedNote
from gym_conform.core.task_data.static_eval import Unknown
from gym_conform.core.task_data.static_models import LOOSE_MODELS
from gym_conform.core.task_data.static_reader import StaticModule, read_module
from gym_conform.core.task_data.validate import TaskIssue, validate_task_row
from gym_conform.errors import Location

TASK_DATA_FILE = "task_data.py"
_COMPONENT_FOLDERS = ("resources_servers", "responses_api_agents", "environments")
TASK_DATA_EXPORT = "TaskData"
LEGACY_METADATA_KEY = "verifier_metadata"
# 0.7.0 names the module it imports `nemo_gym_task_data.<folder name>`; the static reading uses the same
# name, so model references (and therefore JSON Schema `$defs` names) come out the same.
MODULE_PREFIX = "nemo_gym_task_data"
# Static schemas by module read: a module served from the reader's cache gives back the same schema.
_SCHEMAS: dict[tuple[Path, str], tuple[StaticModule, TaskSchema]] = {}


@dataclass(frozen=True)
class TaskSchema:
    """One server's `TaskData`: the validator, where it came from, and what the static reading left unchecked.

    `legacy_fields` are the fields marked `legacy_location: verifier_metadata` (today's wire reads them
    there). `unchecked` is empty when the file was read in full (or imported: `static` is False).
    """

    adapter: TypeAdapter[Any]
    source: Path
    server: str
    legacy_fields: frozenset[str]
    unchecked: tuple[UncheckedNote, ...] = ()
    static: bool = True
    loose_models: frozenset[type] = frozenset()

    def validate_row(self, row: dict[str, Any]) -> list[TaskIssue]:
        """Every task-data problem of one dataset row, exactly as 0.7.0's `TaskDataValidator` finds them."""
        return validate_task_row(self, row)

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema `gym env schema` prints for this server (`TypeAdapter(TaskData).json_schema()`)."""
        return self.adapter.json_schema()

    @property
    def complete(self) -> bool:
        """Tell whether nothing of the file was left unchecked."""
        return not self.unchecked


def load_task_schema(server_dir: Path, *, roots: Sequence[Path] = (), execute: bool = False) -> TaskSchema | None:
    """Load `<server_dir>/task_data.py`; None when there is none. Raises `TaskSchemaError` like 0.7.0 would.

    Statically (the default) nothing of the repository runs: the file is parsed and a whitelisted subset
    is interpreted (see ARCHITECTURE.md); imports of other servers' `task_data` modules are read from
    `roots` (then the folders above `server_dir`). `execute=True` imports the module as 0.7.0 does.
    """
    server_dir = Path(server_dir)
    path = server_dir / TASK_DATA_FILE
    if not path.is_file():
        return None
    module_name = f"{MODULE_PREFIX}.{server_dir.name}"
    if execute:
        return _imported(path, module_name, server_dir.name, roots)
    module = read_module(path, module_name, roots)
    cached = _SCHEMAS.get((module.path, module_name))
    if cached is not None and cached[0] is module:
        return cached[1]
    schema = _static_schema(module, path, server_dir.name)
    _SCHEMAS[(module.path, module_name)] = (module, schema)
    return schema


def _static_schema(module: StaticModule, path: Path, server: str) -> TaskSchema:
    """The schema of a statically read module: its `TaskData`, or `Any` where the reading could not tell."""
    notes = module.all_notes()
    if TASK_DATA_EXPORT not in module.namespace:
        raise _no_export(path)
    exported = module.namespace[TASK_DATA_EXPORT]
    if isinstance(exported, Unknown):
        notes.append(UncheckedNote(str(path), exported.line, "TaskData is not read statically; rows are not checked"))
        exported = typing.Any
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(exported)
        adapter.rebuild()  # the models defer their build to this one; errors surface at load, as in 0.7.0
    except Exception as exc:
        if not notes:
            raise _not_adaptable(path, exc) from exc
        notes.append(UncheckedNote(str(path), 0, f"TaskData could not be built from the static reading: {exc}"))
        exported, adapter = typing.Any, TypeAdapter(typing.Any)
    models = _models_of(exported)
    return TaskSchema(
        adapter=adapter,
        source=path,
        server=server,
        legacy_fields=_legacy_fields(models),
        unchecked=tuple(notes),
        static=True,
        loose_models=frozenset(m for m in _all_models(models) if m in LOOSE_MODELS),
    )


def _imported(path: Path, module_name: str, server: str, roots: Sequence[Path]) -> TaskSchema:
    """Import the module as 0.7.0's `load_task_data_schema` does (the server level only)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - importlib internals
        raise TaskSchemaError(f"could not build an import spec for {path}", location=Location(str(path)))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    entries = [str(Path(r).resolve()) for r in (*roots, *_project_root(path))]
    added = [entry for entry in dict.fromkeys(entries) if entry not in sys.path]
    sys.path[:0] = added
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise TaskSchemaError(
            f"Failed to import {path}: {exc}", location=Location(str(path)), hint="fix the module so that it imports"
        ) from exc
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)
    exported = getattr(module, TASK_DATA_EXPORT, None)
    if exported is None:
        raise _no_export(path)
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(exported)
    except Exception as exc:
        raise _not_adaptable(path, exc) from exc
    models = _models_of(exported)
    return TaskSchema(adapter, path, server, _legacy_fields(models), (), static=False)


def _project_root(path: Path) -> list[Path]:
    """The folder holding `resources_servers/` (or `responses_api_agents/`), when the server sits in one."""
    server = path.resolve().parent
    return [server.parent.parent] if server.parent.name in _COMPONENT_FOLDERS else []


def _no_export(path: Path) -> TaskSchemaError:
    return TaskSchemaError(
        f"{path} does not export `{TASK_DATA_EXPORT}`",
        location=Location(str(path)),
        hint="export a pydantic model (or a TypeAdapter-compatible union alias) under that name",
    )


def _not_adaptable(path: Path, exc: Exception) -> TaskSchemaError:
    return TaskSchemaError(
        f"`{TASK_DATA_EXPORT}` in {path} is not TypeAdapter-compatible: {exc}",
        location=Location(str(path)),
        hint="export a pydantic BaseModel subclass or an Annotated[Union[...], Field(discriminator=...)] alias",
    )


def _models_of(tp: Any) -> list[type[BaseModel]]:
    """The models 0.7.0 looks for legacy fields in: the type itself, or the models among its type arguments."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [model for arg in get_args(tp) for model in _models_of(arg)]


def _legacy_fields(models: list[type[BaseModel]]) -> frozenset[str]:
    names = set()
    for model in models:
        for name, info in model.model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("legacy_location") == LEGACY_METADATA_KEY:
                names.add(name)
    return frozenset(names)


def _all_models(models: list[type[BaseModel]]) -> list[type]:
    """The models themselves and their bases (a loose base makes its subclass loose too)."""
    return [cls for model in models for cls in model.__mro__ if isinstance(cls, type) and issubclass(cls, BaseModel)]
