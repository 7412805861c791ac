"""Evaluate the whitelisted expressions of a `task_data.py` (types, literals, `Field(...)`) without running its code."""

from __future__ import annotations

import ast
import builtins
import collections.abc
import datetime
import decimal
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
import typing_extensions

# Forward references carry a name no real module defines, so pydantic can only resolve them through the
# namespace this reader hands it (never through a module that the same process imported for real).
FORWARD_PREFIX = "__gym_conform_forward__"

# Pure types and typing constructs: subscripting or `|`-ing them runs only the standard library's code.
_BUILTIN_TYPES: dict[str, Any] = {
    t.__name__: t
    for t in (str, int, float, bool, bytes, bytearray, complex, list, dict, tuple, set, frozenset, object, type)
}
_TYPING_NAMES = (
    "Any Optional Union List Dict Tuple Set FrozenSet Literal Annotated TypeAlias ClassVar Final Self Sequence "
    "Mapping MutableMapping Iterable Type Required NotRequired"
).split()
_PYDANTIC_TYPES = (
    "StrictStr StrictInt StrictFloat StrictBool StrictBytes PositiveInt NegativeInt NonNegativeInt NonPositiveInt "
    "PositiveFloat NegativeFloat NonNegativeFloat NonPositiveFloat FiniteFloat JsonValue AnyUrl HttpUrl EmailStr "
    "SecretStr Json"
).split()
# Callables whose only effect is to build a pydantic or container value from literal arguments.
_PYDANTIC_CALLS = (
    "Field PrivateAttr ConfigDict Discriminator Tag AliasChoices AliasPath StringConstraints conint confloat constr "
    "conlist"
).split()
# Decorators are recognised (to know what a skipped validator would have done), never called.
_PYDANTIC_DECORATORS = (
    "model_validator field_validator validator root_validator computed_field field_serializer model_serializer"
).split()
_CONTAINER_CALLS: dict[str, Callable[..., Any]] = {"dict": dict, "list": list, "tuple": tuple, "set": set}
_STDLIB_MODULE_MEMBERS: dict[str, dict[str, Any]] = {
    "typing": {n: getattr(typing, n) for n in _TYPING_NAMES if hasattr(typing, n)},
    "typing_extensions": {n: getattr(typing_extensions, n) for n in _TYPING_NAMES if hasattr(typing_extensions, n)},
    "pydantic": {
        n: getattr(pydantic, n)
        for n in ("BaseModel", *_PYDANTIC_TYPES, *_PYDANTIC_CALLS, *_PYDANTIC_DECORATORS)
        if hasattr(pydantic, n)
    },
    "collections.abc": {n: getattr(collections.abc, n) for n in ("Sequence", "Mapping", "Iterable")},
    "datetime": {n: getattr(datetime, n) for n in ("date", "datetime", "time", "timedelta")},
    "decimal": {"Decimal": decimal.Decimal},
    "uuid": {"UUID": uuid.UUID},
}
_CALLABLE_OBJECTS = {id(getattr(pydantic, n)) for n in _PYDANTIC_CALLS if hasattr(pydantic, n)}
_NO_SUBSCRIPT = {id(pydantic.BaseModel), *_CALLABLE_OBJECTS}
_VALUE_ARG_FORMS = {id(typing.Literal), id(typing_extensions.Literal)}
_ANNOTATED_FORMS = {id(typing.Annotated), id(typing_extensions.Annotated)}


@dataclass(frozen=True)
class Unknown:
    """A value the reader did not compute (a call, a function, an unsupported import); `why` says what it was."""

    why: str
    line: int


class Undefined(Exception):
    """A name no statement of the module binds: the real import would stop with a NameError."""

    def __init__(self, name: str, line: int) -> None:
        super().__init__(f"name {name!r} is not defined")
        self.name = name
        self.line = line


class StdlibModule:
    """An imported module of the whitelist: attribute access gives its whitelisted members only."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.members = _STDLIB_MODULE_MEMBERS.get(name, {})


def stdlib_member(module: str, name: str) -> Any | None:
    """Return `name` from a whitelisted module (typing, pydantic, ...), or None when it is not whitelisted."""
    return _STDLIB_MODULE_MEMBERS.get(module, {}).get(name)


def is_whitelisted_module(module: str) -> bool:
    """Tell whether `import module` binds a module whose members this reader knows."""
    return module in _STDLIB_MODULE_MEMBERS


def is_model(value: Any) -> bool:
    """Tell whether a value is a pydantic model class (BaseModel or a model this reader built)."""
    return isinstance(value, type) and issubclass(value, pydantic.BaseModel)


class Evaluator:
    """Evaluates expression nodes against a module namespace; anything outside the subset becomes `Unknown`.

    `later` holds names the module binds further down: string annotations may refer to them (pydantic
    resolves them when the model is completed), plain expressions may not (that is a NameError at import).
    """

    def __init__(self, namespace: Mapping[str, Any], later: set[str], *, deferred: bool) -> None:
        self.namespace = namespace
        self.later = later
        self.deferred = deferred  # `from __future__ import annotations`: annotations are strings
        self.forward: list[str] = []  # every use of a name bound later (shared with class-body evaluators)

    # -- annotations ------------------------------------------------------------------------------------------
    def annotation(self, node: ast.expr) -> Any:
        """Evaluate a field annotation (deferred or eager, as the module's future import says)."""
        return self.type_expr(node, in_string=self.deferred)

    def type_expr(self, node: ast.expr, *, in_string: bool = False) -> Any:
        """Evaluate a type expression; strings are parsed as type expressions, never handed to eval."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return self._type_string(node.value, node.lineno)
            if node.value is None:
                return None
            return Unknown(f"{node.value!r} is not a type", node.lineno)
        if isinstance(node, ast.Name):
            return self._type_name(node, in_string=in_string)
        if isinstance(node, ast.Attribute):
            value = self._attribute(node)
            return self._string_alias(value, node.lineno)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, in_string=in_string)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left = self.type_expr(node.left, in_string=in_string)
            right = self.type_expr(node.right, in_string=in_string)
            return union_of(left, right)
        return Unknown(f"`{ast.unparse(node)}` is not a type expression this reader evaluates", node.lineno)

    def _type_string(self, text: str, line: int) -> Any:
        try:
            parsed = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            return Unknown(f"string annotation {text!r} is not an expression", line)
        return self.type_expr(ast.fix_missing_locations(ast.increment_lineno(parsed, line - 1)).body, in_string=True)

    def _type_name(self, node: ast.Name, *, in_string: bool) -> Any:
        if node.id in self.namespace:
            return self._string_alias(self.namespace[node.id], node.lineno)
        if node.id in _BUILTIN_TYPES:
            return _BUILTIN_TYPES[node.id]
        if in_string and node.id in self.later:
            self.forward.append(node.id)
            return typing.ForwardRef(FORWARD_PREFIX + node.id)
        return _builtin_or_undefined(node)

    def _string_alias(self, value: Any, line: int) -> Any:
        # An alias bound to a string is itself a forward reference (`X = "Model"`; `x: X`).
        return self._type_string(value, line) if isinstance(value, str) else value

    def _subscript(self, node: ast.Subscript, *, in_string: bool) -> Any:
        base = self.type_expr(node.value, in_string=in_string)
        if isinstance(base, Unknown):
            return base
        if not _subscriptable(base):
            return Unknown(f"`{ast.unparse(node.value)}[...]` is not a generic this reader evaluates", node.lineno)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if id(base) in _VALUE_ARG_FORMS:
            args = [self.value(part) for part in parts]
        elif id(base) in _ANNOTATED_FORMS:
            args = [self.type_expr(parts[0], in_string=in_string)]
            for part in parts[1:]:
                meta = self.value(part)
                if not isinstance(meta, Unknown):
                    args.append(meta)
                elif isinstance(args[0], Unknown):
                    break
                else:
                    return Unknown(f"Annotated metadata `{ast.unparse(part)}`: {meta.why}", meta.line)
        else:
            args = [self._type_arg(part, in_string=in_string) for part in parts]
        for arg in args:
            if isinstance(arg, Unknown):
                return arg
        try:
            return base[tuple(args)] if len(args) > 1 else base[args[0]]
        except TypeError as exc:
            return Unknown(f"`{ast.unparse(node)}`: {exc}", node.lineno)

    def _type_arg(self, node: ast.expr, *, in_string: bool) -> Any:
        if isinstance(node, ast.List):  # Callable[[...], R] style argument lists
            items = [self.type_expr(elt, in_string=in_string) for elt in node.elts]
            return next((i for i in items if isinstance(i, Unknown)), items)
        if isinstance(node, ast.Constant) and node.value is Ellipsis:
            return ...
        return self.type_expr(node, in_string=in_string)

    # -- values -----------------------------------------------------------------------------------------------
    def value(self, node: ast.expr) -> Any:
        """Evaluate a literal value, a name bound to one, a whitelisted call, or a type expression."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = [self.value(elt) for elt in node.elts]
            bad = next((i for i in items if isinstance(i, Unknown)), None)
            if bad is not None:
                return bad
            return {ast.Tuple: tuple, ast.List: list, ast.Set: set}[type(node)](items)
        if isinstance(node, ast.Dict):
            return self._dict(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if isinstance(operand, (int, float, complex)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
            return Unknown(f"`{ast.unparse(node)}` is not a literal", node.lineno)
        if isinstance(node, ast.Name):
            if node.id in self.namespace:
                return self.namespace[node.id]
            if node.id in _BUILTIN_TYPES:
                return _BUILTIN_TYPES[node.id]
            return _builtin_or_undefined(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Lambda):
            return self._lambda(node)
        if isinstance(node, (ast.Subscript, ast.BinOp)):
            return self.type_expr(node)
        return Unknown(f"`{_short(node)}` is not evaluated (only literals, types and Field(...) are)", node.lineno)

    def _dict(self, node: ast.Dict) -> Any:
        out: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            value = self.value(value_node)
            if isinstance(value, Unknown):
                return value
            if key_node is None:  # {**OTHER}
                if not isinstance(value, dict):
                    return Unknown(f"`**{ast.unparse(value_node)}` is not a literal dict", node.lineno)
                out.update(value)
                continue
            key = self.value(key_node)
            if isinstance(key, Unknown):
                return key
            out[key] = value
        return out

    def _attribute(self, node: ast.Attribute) -> Any:
        base = self.value(node.value) if not isinstance(node.value, ast.Name) else self._name_or_module(node.value)
        if isinstance(base, Unknown):
            return base
        if isinstance(base, StdlibModule):
            if node.attr in base.members:
                return base.members[node.attr]
            return Unknown(f"`{base.name}.{node.attr}` is not on this reader's whitelist", node.lineno)
        return Unknown(f"attribute access `{ast.unparse(node)}` is not evaluated", node.lineno)

    def _name_or_module(self, node: ast.Name) -> Any:
        if node.id in self.namespace:
            return self.namespace[node.id]
        return _builtin_or_undefined(node)

    def call(self, node: ast.Call) -> Any:
        """Call a whitelisted constructor (Field, ConfigDict, dict, ...) with evaluated literal arguments."""
        func = self.value(node.func)
        if isinstance(func, Unknown):
            return Unknown(f"call `{_short(node)}` is not run", node.lineno)
        name = ast.unparse(node.func)
        if id(func) in _CALLABLE_OBJECTS:
            target: Callable[..., Any] = func
        elif isinstance(node.func, ast.Name) and node.func.id in _CONTAINER_CALLS and func is _BUILTIN_TYPES.get(name):
            target = _CONTAINER_CALLS[node.func.id]
        else:
            return Unknown(f"call `{_short(node)}` is not run", node.lineno)
        args = [self.value(arg) for arg in node.args]
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self.value(keyword.value)
            if keyword.arg is None:
                if not isinstance(value, dict):
                    return Unknown(
                        f"`**{ast.unparse(keyword.value)}` in {name}(...) is not a literal dict", node.lineno
                    )
                kwargs.update(value)
            else:
                kwargs[keyword.arg] = value
        bad = next((v for v in [*args, *kwargs.values()] if isinstance(v, Unknown)), None)
        if bad is not None:
            return Unknown(f"an argument of {name}(...) is not evaluated: {bad.why}", bad.line)
        if any(isinstance(a, ast.Starred) for a in node.args):
            return Unknown(f"`*args` in {name}(...) is not evaluated", node.lineno)
        try:
            return target(*args, **kwargs)
        except Exception as exc:  # pydantic's own argument errors (the real import would fail the same way)
            return Unknown(f"{name}(...) raised {type(exc).__name__}: {exc}", node.lineno)

    def _lambda(self, node: ast.Lambda) -> Any:
        """`lambda: <literal>` (a default_factory) becomes a factory returning a fresh copy of the literal."""
        if node.args.args or node.args.vararg or node.args.kwonlyargs or node.args.kwarg:
            return Unknown("a lambda with parameters is not evaluated", node.lineno)
        body = node.body
        if not isinstance(body, (ast.Constant, ast.List, ast.Dict, ast.Tuple, ast.Set)):
            return Unknown(f"lambda body `{_short(body)}` is not a literal", node.lineno)
        first = self.value(body)
        if isinstance(first, Unknown):
            return first
        return lambda: self.value(body)


def _builtin_or_undefined(node: ast.Name) -> Unknown:
    """A builtin outside the whitelist (`open`, `__import__`, `len`) is not called; any other name is undefined."""
    if hasattr(builtins, node.id):
        return Unknown(f"builtin {node.id} is not run", node.lineno)
    raise Undefined(node.id, node.lineno)


def union_of(left: Any, right: Any) -> Any:
    """`left | right` as Python computes it, falling back to `Union[...]` where `|` is undefined (forward refs)."""
    for side in (left, right):
        if isinstance(side, Unknown):
            return side
    try:
        return left | right
    except TypeError:
        return typing.Union[left, right]  # noqa: UP007 - `|` is what just failed


def _subscriptable(base: Any) -> bool:
    if id(base) in _NO_SUBSCRIPT or is_model(base):
        return False
    if base in _BUILTIN_TYPES.values():
        return base not in (str, int, float, bool, bytes, bytearray, complex, object)
    module = getattr(base, "__module__", "")
    return module in ("typing", "typing_extensions", "collections.abc")


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."
