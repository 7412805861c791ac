"""The `*_metrics.json` document: build it, serialize it byte for byte like NeMo Gym, and load it back."""

from __future__ import annotations

import json
from pathlib import Path

from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.errors import DataError, Location


def metrics_document(dataset_config_dump: dict, metrics: DatasetMetrics) -> dict:
    """Return the dataset config dump followed by the metrics, merged like NeMo Gym's `config | metrics`.

    As in NeMo Gym, an extra metric named like a config key (say a row field `name`) replaces that key's
    value in place, so files written by either tool agree.
    """
    return dataset_config_dump | metrics.to_json()


def dumps_metrics(document: dict) -> str:
    """Serialize exactly as NeMo Gym writes metrics: 4-space indent, ASCII escapes, no trailing newline."""
    return json.dumps(document, indent=4)


def load_metrics(path: str | Path) -> dict:
    """Read a metrics JSON file, raising DataError with the file and line when it is unreadable or malformed."""
    where = str(path)
    try:
        # utf-8-sig: a BOM left by an editor is harmless here, so accept it rather than fail.
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(
            "metrics file not found",
            code="metrics.missing",
            location=Location(path=where),
            hint="check the path, or delete the reference to it so the file is regenerated",
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"metrics file is not UTF-8 text ({exc.reason} at byte {exc.start})",
            code="metrics.malformed",
            location=Location(path=where),
            hint="delete the file and rerun data preparation to regenerate it",
        ) from None
    except OSError as exc:
        raise DataError(
            f"cannot read metrics file: {exc.strerror or exc}",
            code="metrics.unreadable",
            location=Location(path=where),
            hint="check the file's permissions",
        ) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"metrics file is not valid JSON: {exc.msg} (column {exc.colno})",
            code="metrics.malformed",
            location=Location(path=where, line=exc.lineno),
            hint="fix the JSON syntax, or delete the file and rerun data preparation to regenerate it",
        ) from None
    if not isinstance(document, dict):
        raise DataError(
            f"metrics file must hold a JSON object, found {_json_kind(document)}",
            code="metrics.malformed",
            location=Location(path=where, line=1),
            hint="delete the file and rerun data preparation to regenerate it",
        )
    return document


def _json_kind(value: object) -> str:
    """Name a parsed JSON value's type the way JSON does."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
