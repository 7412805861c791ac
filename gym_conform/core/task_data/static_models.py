"""Build a real pydantic model from the AST of one `class X(BaseModel)` statement, running none of its code.

Validators and methods are never run: one that only rejects rows (mode "after") is skipped and noted; one
that can rewrite its input (mode "before"/"wrap"/"plain") makes its fields `Any`, or, at model level, makes
the whole model "loose" (every field `Any` and optional, undeclared keys not reported), so the static
reading never reports an error that NeMo Gym 0.7.0's import would not.
"""

from __future__ import annotations

import ast
import types
import weakref
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from typing import Any, ClassVar, cast, get_origin

import pydantic
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gym_conform.core.task_data.notes import UncheckedNote
from gym_conform.core.task_data.static_eval import Evaluator, Unknown, is_model

# Models whose input a skipped validator may rewrite: their undeclared keys are not reported.
LOOSE_MODELS: weakref.WeakSet[type] = weakref.WeakSet()

_DECORATORS = {
    id(pydantic.model_validator): "model_validator",
    id(pydantic.field_validator): "field_validator",
    id(pydantic.computed_field): "computed_field",
    id(pydantic.field_serializer): "serializer",
    id(pydantic.model_serializer): "serializer",
    id(pydantic.validator): "validator",
    id(pydantic.root_validator): "root_validator",
}
_HARMLESS_DECORATORS = {"classmethod", "staticmethod", "property"}
# Methods through which a model takes over its own validation; a class defining one is read loosely.
_TAKEOVER_METHODS = {
    "__init__",
    "__new__",
    "__get_pydantic_core_schema__",
    "__get_pydantic_json_schema__",
    "__init_subclass__",
    "__pydantic_init_subclass__",
    "__class_getitem__",
    "model_validate",
}
_LOOSE_FIELD_KEYS = ("alias", "validation_alias", "title", "description", "examples", "json_schema_extra")
_CRUCIAL_FIELD_KEYS = ("alias", "validation_alias")


class ModelBuilder:
    """Builds the models of one module; notes land in `notes`, classes needing a forward-ref rebuild in `pending`."""

    def __init__(self, path: str, module_name: str, notes: list[UncheckedNote]) -> None:
        self.path = path
        self.module_name = module_name
        self.notes = notes
        self.pending: list[type[pydantic.BaseModel]] = []

    def build(self, node: ast.ClassDef, ev: Evaluator) -> Any:
        """Return the model class of `node`, or `Unknown` when the statement is outside the subset."""
        note = self._noter(node.name)
        if node.decorator_list:
            note(node.lineno, "class decorators are not run; the class is read as unknown (Any)")
            return Unknown("decorated class", node.lineno)
        bases = [ev.value(base) for base in node.bases]
        if not bases or not all(is_model(base) for base in bases):
            shown = ", ".join(ast.unparse(b) for b in node.bases) or "no base"
            note(node.lineno, f"base ({shown}) is not a pydantic model this reader built; the class is read as Any")
            return Unknown(f"class {node.name}", node.lineno)
        before = len(ev.forward)
        body = _ClassBody(self, node, ev, note)
        body.read(bases)
        namespace = body.namespace()
        try:
            cls = types.new_class(node.name, tuple(bases), body.class_kwargs, lambda ns: ns.update(namespace))
        except Exception as exc:
            # Only an exact reading may fail the way the import fails; an approximate one falls back to Any.
            if body.approximated or self.notes or any(base in LOOSE_MODELS for base in bases):
                note(node.lineno, f"could not be built from the static reading ({exc}); read as Any")
                return Unknown(f"class {node.name}", node.lineno)
            raise
        if body.loose or any(base in LOOSE_MODELS for base in bases):
            LOOSE_MODELS.add(cls)
        if len(ev.forward) > before or any(base in self.pending for base in bases):
            self.pending.append(cls)  # its forward references (own or inherited) resolve at the module's end
        return cls

    def _noter(self, subject: str) -> Callable[[int, str], None]:
        def note(line: int, message: str) -> None:
            self.notes.append(UncheckedNote(self.path, line, f"{subject}: {message}"))

        return note


class _ClassBody:
    """The statements of one class body, read into annotations, defaults, config and skipped validators."""

    def __init__(self, builder: ModelBuilder, node: ast.ClassDef, ev: Evaluator, note: Callable[[int, str], None]):
        self.builder = builder
        self.node = node
        self.note = note
        self.local: dict[str, Any] = {}
        module_ns = cast(MutableMapping[str, Any], ev.namespace)
        self.ev = Evaluator(ChainMap(self.local, module_ns), ev.later, deferred=ev.deferred)
        self.ev.forward = ev.forward
        self.annotations: dict[str, Any] = {}
        self.values: dict[str, Any] = {}
        self.config: dict[str, Any] | None = None
        self.config_class: dict[str, Any] | None = None  # a (deprecated) `class Config:` body
        self.class_kwargs: dict[str, Any] = {}
        self.any_fields: set[str] = set()
        self.loose = False
        self.approximated = False
        self.bases: list[type] = []

    def read(self, bases: list[type]) -> None:
        self.bases = bases
        for keyword in self.node.keywords:
            value = self.ev.value(keyword.value)
            if keyword.arg is None or isinstance(value, Unknown):
                self._loosen(keyword.value.lineno, f"class keyword `{ast.unparse(keyword)}` is not evaluated")
            else:
                self.class_kwargs[keyword.arg] = value
        for stmt in self.node.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # the docstring, or a bare string
            if isinstance(stmt, ast.Pass):
                continue
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                self._field(stmt, stmt.target.id)
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                self._attribute(stmt, stmt.targets[0].id)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._method(stmt)
            elif isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
                self._config_class(stmt)
            else:
                self._loosen(stmt.lineno, f"class-body statement `{_first_line(stmt)}` is not run")

    def _field(self, stmt: ast.AnnAssign, name: str) -> None:
        annotation = self.ev.annotation(stmt.annotation)
        if isinstance(annotation, Unknown):
            self._approx(stmt.lineno, f"field {name}: type not evaluated ({annotation.why}); it accepts any value")
            self.any_fields.add(name)
            annotation = Any
        self.annotations[name] = annotation
        if stmt.value is None:
            return
        if isinstance(stmt.value, ast.Call) and _is_field_call(stmt.value, self.ev):
            value = self._field_call(stmt.value, name)
        else:
            value = self.ev.value(stmt.value)
            if isinstance(value, Unknown):
                self._approx(stmt.lineno, f"field {name}: default not evaluated ({value.why}); optional, any value")
                self.any_fields.add(name)
                value = None
        self.values[name] = value

    def _field_call(self, call: ast.Call, name: str) -> Any:
        """`Field(...)` argument by argument: an unevaluated argument is dropped (and noted), not the field."""
        args = [self.ev.value(arg) for arg in call.args]
        kwargs: dict[str, Any] = {}
        for keyword in call.keywords:
            value = self.ev.value(keyword.value)
            if keyword.arg is None:
                if isinstance(value, dict):
                    kwargs.update(value)
                    continue
                self._approx(call.lineno, f"field {name}: `**{ast.unparse(keyword.value)}` is not evaluated")
                continue
            if isinstance(value, Unknown):
                self._drop_argument(call.lineno, name, keyword.arg, value, kwargs)
            else:
                kwargs[keyword.arg] = value
        if args and isinstance(args[0], Unknown):
            self._drop_argument(call.lineno, name, "default", args[0], kwargs)
            args = []
        try:
            return pydantic.Field(*args, **kwargs)
        except Exception as exc:
            if self.approximated:
                self.any_fields.add(name)
                return None
            raise TypeError(f"Field(...) of {name}: {exc}") from exc

    def _drop_argument(self, line: int, name: str, key: str, value: Unknown, kwargs: dict[str, Any]) -> None:
        if key in ("default", "default_factory"):
            self._approx(line, f"field {name}: {key} not evaluated ({value.why}); optional, any value")
            self.any_fields.add(name)
            kwargs.pop("default_factory", None)
            kwargs["default"] = None
        elif key in _CRUCIAL_FIELD_KEYS:
            self._loosen(line, f"field {name}: {key} not evaluated ({value.why}); the input key is unknown")
        else:
            effect = "its legacy_location is unknown" if key == "json_schema_extra" else "not applied"
            self._approx(line, f"field {name}: {key}= not evaluated ({value.why}); {effect}")

    def _attribute(self, stmt: ast.Assign, name: str) -> None:
        value = self.ev.value(stmt.value)
        if name == "model_config":
            if isinstance(value, dict):
                self.config = dict(value)
            else:
                self._loosen(stmt.lineno, "model_config is not a literal ConfigDict(...) or dict")
            return
        if isinstance(value, Unknown):
            self._approx(stmt.lineno, f"class attribute {name} not evaluated ({value.why})")
            self.local[name] = value
            return
        self.local[name] = value
        self.values[name] = value

    def _method(self, stmt: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        kinds = [self._decorator_kind(dec) for dec in stmt.decorator_list]
        pydantic_kinds = [kind for kind in kinds if kind[0] not in _HARMLESS_DECORATORS]
        if not pydantic_kinds:
            if stmt.name == "model_post_init":
                self._approx(stmt.lineno, "model_post_init is not run (what it rejects is not checked)")
            elif stmt.name in _TAKEOVER_METHODS:
                self._loosen(stmt.lineno, f"{stmt.name} is not run; the model is read loosely")
            return
        for kind, mode, fields in pydantic_kinds:
            self._validator(stmt, kind, mode, fields)

    def _validator(self, stmt: ast.AST, kind: str, mode: str, fields: list[str]) -> None:
        name = getattr(stmt, "name", "?")
        line = getattr(stmt, "lineno", 0)
        if kind in ("serializer", "computed_field"):
            return  # output only: neither validation nor the validation JSON schema sees it
        if kind in ("model_validator", "root_validator"):
            if mode == "after":
                self._approx(line, f"@{kind}(mode='after') {name} is not run (the rules it enforces are not checked)")
            else:
                self._loosen(line, f"@{kind}(mode={mode!r}) {name} is not run; the model is read loosely")
            return
        if kind in ("field_validator", "validator"):
            if mode == "after":
                self._approx(line, f"@{kind} {name} on {', '.join(fields)} is not run (its rules are not checked)")
                return
            targets = list(self.annotations) + _inherited(self.bases) if "*" in fields else fields
            self._approx(line, f"@{kind}(mode={mode!r}) {name} is not run; {', '.join(fields)} accept(s) any value")
            self.any_fields.update(targets)
            return
        self._approx(line, f"decorator `{kind}` on {name} is not run")

    def _decorator_kind(self, dec: ast.expr) -> tuple[str, str, list[str]]:
        func_node = dec.func if isinstance(dec, ast.Call) else dec
        if isinstance(func_node, ast.Name) and func_node.id in _HARMLESS_DECORATORS:
            return func_node.id, "", []
        try:
            func = self.ev.value(func_node)
        except Exception:
            func = None
        kind = _DECORATORS.get(id(func), ast.unparse(func_node))
        mode, fields = "after", []
        if isinstance(dec, ast.Call):
            fields = [a.value for a in dec.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for keyword in dec.keywords:
                value = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
                if keyword.arg == "mode":
                    mode = str(value)
                elif keyword.arg == "pre" and value is True:
                    mode = "before"
            if kind in ("model_validator", "field_validator") and not any(k.arg == "mode" for k in dec.keywords):
                mode = "after" if kind == "field_validator" else "unknown"
        return kind, mode, fields

    def _config_class(self, stmt: ast.ClassDef) -> None:
        config: dict[str, Any] = {}
        for inner in stmt.body:
            if isinstance(inner, ast.Assign) and len(inner.targets) == 1 and isinstance(inner.targets[0], ast.Name):
                value = self.ev.value(inner.value)
                if not isinstance(value, Unknown):
                    config[inner.targets[0].id] = value
                    continue
            if isinstance(inner, ast.Expr) and isinstance(inner.value, ast.Constant):
                continue
            self._loosen(inner.lineno, "class Config: only literal assignments are read")
        self.config_class = config

    def _approx(self, line: int, message: str) -> None:
        self.approximated = True
        self.note(line, message)

    def _loosen(self, line: int, message: str) -> None:
        self.loose = True
        self._approx(line, message)

    def namespace(self) -> dict[str, Any]:
        """The class namespace pydantic's metaclass receives, as the class statement would build it."""
        namespace: dict[str, Any] = {"__module__": self.builder.module_name, "__qualname__": self.node.name}
        doc = ast.get_docstring(self.node, clean=False)
        if doc is not None:
            namespace["__doc__"] = doc
        annotations = dict(self.annotations)
        values = dict(self.values)
        inherited = _inherited_fields(self.bases)
        names = set(annotations) if not self.loose else set(annotations) | set(inherited)
        for name in names | self.any_fields:
            if name not in annotations and name not in inherited:
                continue
            if _is_classvar(annotations.get(name)):
                continue
            if self.loose or name in self.any_fields:
                source = values.get(name, inherited[name] if name not in annotations else PydanticUndefined)
                annotations[name] = Any
                values[name] = _loose_field(source, optional=self.loose)
        namespace["__annotations__"] = annotations
        namespace.update(values)
        if self.config_class is not None:  # pydantic rejects it beside model_config: it stays a class
            attrs = {**self.config_class, **({"extra": "allow"} if self.loose else {})}
            qualname = f"{self.node.name}.Config"  # a nested class is what pydantic takes for a config class
            namespace["Config"] = type(
                "Config", (), {**attrs, "__module__": self.builder.module_name, "__qualname__": qualname}
            )
            return namespace
        config = dict(self.config or {})
        if self.loose:
            config["extra"] = "allow"
        # Each model's own validator is never used (rows go through one TypeAdapter of TaskData), so its
        # build is skipped: the adapter's build covers the nested models.
        config["defer_build"] = True
        namespace["model_config"] = pydantic.ConfigDict(**config)  # type: ignore[typeddict-item]
        return namespace


def _is_field_call(node: ast.expr, ev: Evaluator) -> bool:
    if not isinstance(node, ast.Call):
        return False
    try:
        return ev.value(node.func) is pydantic.Field
    except Exception:
        return False


def _inherited_fields(bases: list[type]) -> dict[str, FieldInfo]:
    fields: dict[str, FieldInfo] = {}
    for base in reversed(bases):
        fields.update(getattr(base, "model_fields", {}))
    return fields


def _inherited(bases: list[type]) -> list[str]:
    return list(_inherited_fields(bases))


def _loose_field(source: Any, *, optional: bool) -> Any:
    """A field that accepts anything: same default, alias and documentation, no constraint, no type."""
    if not isinstance(source, FieldInfo):
        if source is PydanticUndefined:
            return None if optional else pydantic.Field()
        return source
    kwargs = {key: getattr(source, key) for key in _LOOSE_FIELD_KEYS if getattr(source, key, None) is not None}
    if source.default_factory is not None:
        kwargs["default_factory"] = source.default_factory
    elif source.default is not PydanticUndefined:
        kwargs["default"] = source.default
    elif optional:
        kwargs["default"] = None
    return pydantic.Field(**kwargs)


def _is_classvar(annotation: Any) -> bool:
    return annotation is ClassVar or get_origin(annotation) is ClassVar


def _first_line(stmt: ast.stmt) -> str:
    text = ast.unparse(stmt).splitlines()[0]
    return text if len(text) <= 60 else text[:57] + "..."
