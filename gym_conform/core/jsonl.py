"""Read JSONL lines (BOM, CRLF, blank lines) and parse each one as strict JSON (no NaN or Infinity).

Lines are read as bytes and decoded one at a time, so one line that is not UTF-8 cannot stop the file.
Such a line is decoded with ``surrogateescape``: the text keeps every original byte (as a lone surrogate
that valid UTF-8 can never produce) and `parse_json_line` reports it as a `row.encoding` error with its
column. Always pass the yielded text through `parse_json_line` before using it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

from gym_conform.errors import DataError, Location

_BOM = b"\xef\xbb\xbf"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_THIS_LINE = "this line"


class _NonFiniteConstant(ValueError):
    """NaN, Infinity or -Infinity met while parsing: valid for Python's json, not for JSON."""


class JsonLineError(DataError):
    """One JSONL line is not strict JSON or not UTF-8 (codes `row.json`, `row.encoding`)."""

    code = "row.json"

    def at(self, path: str | os.PathLike[str] | None, line: int) -> JsonLineError:
        """Return this error placed at a file and 1-based line, with the hint naming that line."""
        hint = self.hint.replace(_THIS_LINE, f"line {line}") if self.hint else None
        return JsonLineError(self.message, location=Location(path=_text(path), line=line), hint=hint, code=self.code)


def _text(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else os.fspath(path)


def json_type_name(value: Any) -> str:
    """Return the JSON name of a parsed value's type: object, array, string, number, boolean or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def iter_jsonl_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, str]]:
    """Yield (1-based physical line number, text without line ending) for every non-blank line."""
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                if raw.endswith(b"\n"):
                    raw = raw[:-1]
                if raw.endswith(b"\r"):
                    raw = raw[:-1]
                if raw.strip():
                    yield number, raw.decode("utf-8", errors="surrogateescape")
    except OSError as exc:
        raise DataError(
            f"cannot read dataset file: {exc.strerror or exc}",
            code="data.unreadable",
            location=Location(path=_text(path)),
            hint="check that the path exists and is a readable file",
        ) from exc


def _reject_constant(name: str) -> Any:
    raise _NonFiniteConstant(name)


def parse_json_line(text: str) -> Any:
    """Parse one line as strict JSON; raise `JsonLineError` (no location yet: use `.at(path, line)`)."""
    if not text.isascii():
        bad = _ESCAPED_BYTE.search(text)
        if bad is not None:
            byte = ord(bad.group()) - 0xDC00
            raise JsonLineError(
                f"invalid UTF-8: byte 0x{byte:02x} at column {bad.start() + 1}",
                code="row.encoding",
                hint=f"re-save the file as UTF-8 ({_THIS_LINE} holds bytes from another encoding)",
            )
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise JsonLineError(
            f"JSON parse error: {exc.msg} (column {exc.colno})",
            hint=f"check quotes, commas and brackets at {_THIS_LINE}",
        ) from None
    except _NonFiniteConstant as exc:
        raise JsonLineError(
            f"JSON parse error: {exc} is not valid JSON",
            hint=f"replace {exc} at {_THIS_LINE} with null or a finite number",
        ) from None
    except ValueError as exc:
        # e.g. an integer literal longer than Python's int-conversion digit limit
        raise JsonLineError(f"JSON parse error: {exc}", hint=f"check the values at {_THIS_LINE}") from None
    except RecursionError:
        raise JsonLineError(
            "JSON parse error: nesting too deep", hint=f"flatten the arrays and objects at {_THIS_LINE}"
        ) from None
