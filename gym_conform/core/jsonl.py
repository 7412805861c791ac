"""Read JSONL lines and parse each one as strict JSON and strict UTF-8, as NeMo Gym's readers need.

NeMo Gym opens datasets as UTF-8 text and parses each line with `json.loads`, so a row gym-conform passes must
survive that and be written back as UTF-8. Refused, each at its line: bytes that are not UTF-8, a byte order
mark (NeMo Gym's `json.loads` refuses it, even on line 1), NUL bytes, NaN/Infinity, `\\ud800`-style escapes of a
lone UTF-16 surrogate (they parse, but cannot be written as UTF-8), and lines longer than a limit.

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

from gym_conform.core.files import open_regular
from gym_conform.errors import DataError, Location

# Longest line read by default: far above any real row (a row with images inlined is a few MB), and it bounds
# the memory a file without line ends (a sparse file of NUL bytes, a binary) can take.
MAX_LINE_BYTES = 64 << 20
# The member every NeMo Gym row carries: the model request, in OpenAI Responses API form.
RCP = "responses_create_params"
_BOM = b"\xef\xbb\xbf"
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# A backslash run before `u` and a surrogate code point: an escape when the run is odd.
_SURROGATE_ESCAPE = re.compile(r"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")
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


def iter_jsonl_lines(path: str | os.PathLike[str], max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """Yield (1-based physical line number, text without line ending) for every non-blank line.

    A line longer than `max_line_bytes` ends the file with a `row.too_long` DataError (nothing after it is read).
    """
    try:
        with open_regular(path, "dataset file") as handle:
            number = 0
            while raw := handle.readline(max_line_bytes + 1):
                number += 1
                if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                    raise line_too_long(max_line_bytes).at(path, number)
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


def lone_surrogate(text: str) -> int | None:
    """Return the index of the first `\\uD800`-`\\uDFFF` escape in JSON text that is not half of a pair, else None."""
    high_at = -1
    high_end = -1
    for found in _SURROGATE_ESCAPE.finditer(text):
        if not len(found.group(1)) % 2:
            continue  # an escaped backslash, then a plain `u`
        start = found.end(1) - 1
        code = int(found.group(2), 16)
        if high_at >= 0:
            if start == high_end and code >= 0xDC00:
                high_at = -1
                continue
            return high_at
        if code >= 0xDC00:
            return start
        high_at, high_end = start, found.end()
    return high_at if high_at >= 0 else None


def encoding_error(raw: bytes, bad_byte: int, file_offset: int | None = None) -> JsonLineError:
    """Return the `row.encoding` error for byte `bad_byte` of a line (and where it is in the file, when known)."""
    column = len(raw[:bad_byte].decode("utf-8", "replace")) + 1
    where = f" (file offset {file_offset + bad_byte})" if file_offset is not None else f" (byte {bad_byte + 1})"
    return JsonLineError(
        f"invalid UTF-8: byte 0x{raw[bad_byte]:02x} at column {column}{where}",
        code="row.encoding",
        hint=f"re-save the file as UTF-8 ({_THIS_LINE} holds bytes from another encoding, e.g. Latin-1 or cp1252)",
    )


def nul_error(raw: bytes, file_offset: int | None = None) -> JsonLineError:
    """Return the `row.nul` error for a line holding a NUL byte."""
    at = raw.index(b"\x00")
    column = len(raw[:at].decode("utf-8", "replace")) + 1
    where = f" (file offset {file_offset + at})" if file_offset is not None else ""
    return JsonLineError(
        f"NUL byte (0x00) at column {column}{where}: not JSON text",
        code="row.nul",
        hint=f"{_THIS_LINE} holds binary data: was the file truncated, preallocated or written by a crashed "
        "process? Regenerate it (a NUL inside a string must be written as \\u0000)",
    )


def bom_error() -> JsonLineError:
    """Return the `row.bom` error for a line that starts with a UTF-8 byte order mark."""
    return JsonLineError(
        "the line starts with a UTF-8 byte order mark (EF BB BF); NeMo Gym reads datasets as plain UTF-8 and its "
        "json.loads refuses it",
        code="row.bom",
        hint=f"remove the mark at the start of {_THIS_LINE} (for line 1: sed -i '1s/^\\xEF\\xBB\\xBF//' FILE), "
        "or save the file as UTF-8 without BOM",
    )


def surrogate_error(column: int) -> JsonLineError:
    """Return the `row.surrogate` error for a lone surrogate escape at a 1-based column."""
    return JsonLineError(
        f"lone UTF-16 surrogate escape at column {column}: the string cannot be written as UTF-8",
        code="row.surrogate",
        hint=f"a character outside the BMP (an emoji, say) was cut in half in {_THIS_LINE}: write it whole, as "
        "the character itself or as a \\ud83d\\ude00-style pair, or drop it",
    )


def line_too_long(limit: int, nul_bytes_read: int = 0) -> JsonLineError:
    """Return the error for a line longer than `limit` bytes, or a run of NUL bytes with no line end.

    Either way the rest of the file is not read: its lines could not be numbered without reading on.
    """
    if nul_bytes_read:
        return JsonLineError(
            f"NUL bytes and no line end in the {nul_bytes_read:,} bytes read from here: not JSONL text; the rest "
            "of the file was not read",
            code="row.nul",
            hint="this looks like a sparse, preallocated or binary file (or one a crashed process left): regenerate it",
        )
    return JsonLineError(
        f"the line is longer than {limit:,} bytes (max_line_bytes); the rest of the file was not read",
        code="row.too_long",
        hint="a JSONL file has one row per line: is this file JSONL (not a binary file, not one huge JSON "
        "document)? If rows really are this long, raise the limit, e.g. +max_line_bytes=268435456",
    )


def _reject_constant(name: str) -> Any:
    raise _NonFiniteConstant(name)


def parse_json_line(text: str) -> Any:
    """Parse one line as strict JSON; raise `JsonLineError` (no location yet: use `.at(path, line)`)."""
    if not text.isascii():
        if text[:1] == "\ufeff":
            raise bom_error()
        bad = _ESCAPED_BYTE.search(text)
        if bad is not None:
            raw = text.encode("utf-8", "surrogateescape")
            raise encoding_error(raw, len(text[: bad.start()].encode("utf-8", "surrogateescape")))
    if "\x00" in text:
        raise nul_error(text.encode("utf-8", "surrogateescape"))
    try:
        value = json.loads(text, parse_constant=_reject_constant)
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
    if "\\u" in text:
        lone = lone_surrogate(text)
        if lone is not None:
            raise surrogate_error(lone + 1)
    return value
