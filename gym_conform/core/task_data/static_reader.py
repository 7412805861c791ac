"""Read a `task_data.py` module statically: its statements interpreted over a whitelist, none of its code run.

Imports of other servers' `task_data` modules (`from resources_servers.x.task_data import TaskData`) are
followed by path under the given roots and read the same way, with Python's own rules for import cycles.
Parsed and interpreted modules are cached per path and file stamp for the life of the process.
"""

from __future__ import annotations

import ast
import sys
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gym_conform.core.task_data.notes import TaskSchemaError, UncheckedNote
from gym_conform.core.task_data.static_eval import (
    FORWARD_PREFIX,
    Evaluator,
    StdlibModule,
    Undefined,
    Unknown,
    is_whitelisted_module,
    stdlib_member,
)
from gym_conform.core.task_data.static_models import ModelBuilder

TASK_DATA_MODULE = "task_data"
_Stamp = tuple[int, int]


@dataclass
class StaticModule:
    """One module as read: its namespace of built objects, the notes of what was not run, its imports."""

    path: Path
    name: str
    stamp: _Stamp
    namespace: dict[str, Any] = field(default_factory=dict)
    notes: list[UncheckedNote] = field(default_factory=list)
    imports: list[StaticModule] = field(default_factory=list)
    complete: bool = False

    def all_notes(self) -> list[UncheckedNote]:
        """This module's notes and those of every module it imports (each once)."""
        seen: dict[UncheckedNote, None] = {}
        for module in self._closure(set()):
            seen.update(dict.fromkeys(module.notes))
        return list(seen)

    def _closure(self, visited: set[int]) -> Iterator[StaticModule]:
        if id(self) in visited:
            return
        visited.add(id(self))
        yield self
        for module in self.imports:
            yield from module._closure(visited)

    def fresh(self) -> bool:
        """Tell whether neither this file nor any file it imports changed since it was read."""
        return all(_stamp(m.path) == m.stamp for m in self._closure(set()))


_PARSED: dict[Path, tuple[_Stamp, ast.Module]] = {}
_READ: dict[
    tuple[Path, str, tuple[Path, ...]], StaticModule
] = {}  # errors are not cached: they are rare and cheap to redo


def read_module(path: Path, module_name: str, roots: Sequence[Path] = ()) -> StaticModule:
    """Read `path` as module `module_name` (cached); raise `TaskSchemaError` where the real import would fail."""
    return _Reader(tuple(Path(r).resolve() for r in roots), {}).module(path.resolve(), module_name)


def clear_cache() -> None:
    """Forget every parsed and read module (tests that rewrite a file in place within one stamp use it)."""
    _PARSED.clear()
    _READ.clear()


class _Reader:
    """One top-level read; `loading` holds the modules under way, as `sys.modules` does during an import."""

    def __init__(self, roots: tuple[Path, ...], loading: dict[str, StaticModule]) -> None:
        self.roots = roots
        self.loading = loading

    def module(self, path: Path, module_name: str) -> StaticModule:
        if module_name in self.loading:
            return self.loading[module_name]  # a cycle: the partial module, as Python hands it out
        key = (path, module_name, self.roots)  # the roots decide where its imports are found
        cached = _READ.get(key)
        if cached is not None and cached.fresh():
            return cached
        module = StaticModule(path=path, name=module_name, stamp=_stamp(path))
        self.loading[module_name] = module
        try:
            _ModuleReader(self, module).run(_parse(path))
        finally:
            del self.loading[module_name]
        module.complete = True
        _READ[key] = module
        return module

    def find(self, dotted: str, near: Path) -> Path | None:
        """The file of `dotted` under the roots, then under each folder above `near` (the project root)."""
        relative = Path(*dotted.split("."))
        for root in (*self.roots, *near.parents):
            for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
                if candidate.is_file():
                    return candidate.resolve()
        return None


class _ModuleReader:
    """Interprets the top-level statements of one module in order."""

    def __init__(self, reader: _Reader, module: StaticModule) -> None:
        self.reader = reader
        self.module = module
        self.where = str(module.path)
        self.builder = ModelBuilder(self.where, module.name, module.notes)

    def run(self, tree: ast.Module) -> None:
        # Annotations are strings under the future import, and evaluated lazily from Python 3.14 on (PEP 649).
        deferred = sys.version_info >= (3, 14) or any(
            isinstance(s, ast.ImportFrom) and s.module == "__future__" and any(a.name == "annotations" for a in s.names)
            for s in tree.body
        )
        later = {name for stmt in tree.body for name in _bound_names(stmt)}
        ns = self.module.namespace
        ev = Evaluator(ns, later, deferred=deferred)
        for stmt in tree.body:
            try:
                self.statement(stmt, ev)
            except Undefined as exc:
                raise self.error(exc.line, f"NameError: {exc}", "define or import the name before it is used") from None
            except TaskSchemaError:
                raise
            except Exception as exc:  # pydantic rejecting a model the real import would also reject
                raise self.error(stmt.lineno, f"{type(exc).__name__}: {exc}", "fix the model definition") from exc
        self.complete_forward_refs(ev)

    def statement(self, stmt: ast.stmt, ev: Evaluator) -> None:
        ns = self.module.namespace
        if isinstance(stmt, (ast.Expr, ast.Pass)):
            if isinstance(stmt, ast.Expr) and not isinstance(stmt.value, ast.Constant) and not _is_rebuild(stmt):
                self.note(stmt.lineno, f"statement `{_first_line(stmt)}` is not run")
        elif isinstance(stmt, ast.ImportFrom):
            self.import_from(stmt)
        elif isinstance(stmt, ast.Import):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".")[0]
                top = alias.name if alias.asname else alias.name.split(".")[0]
                ns[bound] = StdlibModule(top) if is_whitelisted_module(top) else Unknown(f"module {top}", stmt.lineno)
        elif isinstance(stmt, ast.ClassDef):
            ns[stmt.name] = self.builder.build(stmt, ev)
        elif isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
            value = ev.value(stmt.value)
            if isinstance(value, Unknown):
                self.note(stmt.lineno, f"{_targets(stmt)} = ... is not evaluated ({value.why}); read as Any")
            for target in stmt.targets:
                ns[target.id] = value  # type: ignore[attr-defined]
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            if stmt.value is not None:
                value = ev.value(stmt.value)
                if isinstance(value, Unknown):
                    self.note(stmt.lineno, f"{stmt.target.id} = ... is not evaluated ({value.why}); read as Any")
                ns[stmt.target.id] = value
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            ns[stmt.name] = Unknown(f"function {stmt.name}() (not run)", stmt.lineno)
        else:
            names = sorted(_bound_names(stmt))
            bound = f"; {', '.join(names)} read as Any" if names else ""
            self.note(stmt.lineno, f"`{_first_line(stmt)}` is not run{bound}")
            for name in names:
                ns[name] = Unknown(f"bound by a statement at line {stmt.lineno} that is not run", stmt.lineno)

    def import_from(self, stmt: ast.ImportFrom) -> None:
        ns = self.module.namespace
        source = stmt.module or ""
        if stmt.level:
            raise self.error(
                stmt.lineno,
                "ImportError: relative import in a task_data.py (NeMo Gym loads it as a top-level module)",
                f"import by absolute name, e.g. from resources_servers.<name>.{TASK_DATA_MODULE} import ...",
            )
        if source == "__future__":
            return
        if any(alias.name == "*" for alias in stmt.names):
            self.note(stmt.lineno, f"`from {source} import *` is not followed; names it would bind are unknown")
            return
        if is_whitelisted_module(source):
            for alias in stmt.names:
                value = stdlib_member(source, alias.name)
                if value is None:
                    value = Unknown(f"{source}.{alias.name} is not on this reader's whitelist", stmt.lineno)
                ns[alias.asname or alias.name] = value
            return
        other = self.imported_module(stmt, source)
        for alias in stmt.names:
            bound = alias.asname or alias.name
            if other is None:
                ns[bound] = Unknown(f"imported from {source} (not read statically)", stmt.lineno)
            elif alias.name in other.namespace:
                ns[bound] = other.namespace[alias.name]
            else:
                state = "partially initialized module " if not other.complete else ""
                raise self.error(
                    stmt.lineno,
                    f"ImportError: cannot import name {alias.name!r} from {state}{source!r} ({other.path})"
                    + (" (most likely due to a circular import)" if state else ""),
                    "break the import cycle between the task_data modules" if state else "check the imported name",
                )

    def imported_module(self, stmt: ast.ImportFrom, source: str) -> StaticModule | None:
        if source.rsplit(".", 1)[-1] != TASK_DATA_MODULE:
            return None  # only other task_data modules are part of the protocol; the names stay unknown
        path = self.reader.find(source, self.module.path.parent)
        if path is None:
            self.note(stmt.lineno, f"module {source} is not found under the search roots; its names are unknown")
            return None
        other = self.reader.module(path, source)
        if other not in self.module.imports:
            self.module.imports.append(other)
        return other

    def complete_forward_refs(self, ev: Evaluator) -> None:
        """Resolve string annotations to names bound later, as pydantic does when the model is first used."""
        if not self.builder.pending:
            return
        targets: dict[str, Any] = {}
        for name in set(ev.forward):
            value = self.module.namespace.get(name, Unknown("unbound", 0))
            if isinstance(value, Unknown):
                self.note(0, f"forward reference {name!r} is to a value not read statically; read as Any")
                value = typing.Any
            targets[FORWARD_PREFIX + name] = value
        for cls in self.builder.pending:
            cls.model_rebuild(force=True, _types_namespace=targets)

    def note(self, line: int, message: str) -> None:
        self.module.notes.append(UncheckedNote(self.where, line, message))

    def error(self, line: int, message: str, hint: str) -> TaskSchemaError:
        from gym_conform.errors import Location

        return TaskSchemaError(message, location=Location(self.where, line), hint=hint)


def _parse(path: Path) -> ast.Module:
    stamp = _stamp(path)
    cached = _PARSED.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        from gym_conform.errors import Location

        raise TaskSchemaError(
            f"SyntaxError: {exc.msg}", location=Location(str(path), exc.lineno), hint="fix the syntax"
        ) from None
    _PARSED[path] = (stamp, tree)
    return tree


def _stamp(path: Path) -> _Stamp:
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


def _bound_names(stmt: ast.stmt) -> set[str]:
    """Every name a top-level statement can bind (targets, defs, classes, imports), at any depth."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}  # their bodies bind names in their own scope
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name.split(".")[0]) for a in stmt.names if a.name != "*"}
    if isinstance(stmt, ast.AnnAssign):
        return {stmt.target.id} if isinstance(stmt.target, ast.Name) else set()
    if isinstance(stmt, ast.Expr):
        return set()
    names: set[str] = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name.split(".")[0]) for a in node.names if a.name != "*")
    return names


def _is_rebuild(stmt: ast.Expr) -> bool:
    # `Model.model_rebuild()` only resolves forward references, which this reader does itself.
    call = stmt.value
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "model_rebuild"


def _targets(stmt: ast.Assign) -> str:
    return " = ".join(ast.unparse(t) for t in stmt.targets)


def _first_line(stmt: ast.stmt) -> str:
    text = ast.unparse(stmt).splitlines()[0]
    return text if len(text) <= 60 else text[:57] + "..."
