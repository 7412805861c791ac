"""Pydantic models of NeMo Gym dataset entries, their license and source rules, and readable problems."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gym_conform.core.config.sourcemap import KeyPath, dotted_path
from gym_conform.core.excerpt import quoted
from gym_conform.core.licenses import VALID_LICENSES, format_valid_licenses, suggest_license

DATASET_TYPES = ("train", "validation", "example", "benchmark")
LICENSE_REQUIRED_TYPES = ("train", "validation")
LicenseName = Literal[VALID_LICENSES]  # type: ignore[valid-type]


@dataclass(frozen=True)
class Issue:
    """One config problem, with its key path relative to the block that was validated."""

    path: KeyPath
    code: str
    message: str
    hint: str | None = None
    warning: bool = False


def config_error(code: str, message: str, hint: str, field: str | None = None) -> PydanticCustomError:
    """Build a pydantic error that keeps a stable code, a hint and (optionally) the field it is about."""
    context = {"message": message, "hint": hint}
    if field is not None:
        context["field"] = field
    return PydanticCustomError(code, "{message}", context)


class GitlabDatasetSource(BaseModel):
    """`source: {type: gitlab, ...}`: a dataset in the GitLab (MLflow) model registry."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["gitlab"]
    dataset_name: str
    version: str
    artifact_fpath: str


class HuggingFaceDatasetSource(BaseModel):
    """`source: {type: huggingface, ...}`: a dataset repository on the Hugging Face Hub."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["huggingface"]
    repo_id: str
    artifact_fpath: str | None = None


DatasetSource = Annotated[GitlabDatasetSource | HuggingFaceDatasetSource, Field(discriminator="type")]


class GitlabIdentifier(BaseModel):
    """Deprecated `gitlab_identifier:` block (same fields as a gitlab `source:` without `type`)."""

    model_config = ConfigDict(extra="forbid")
    dataset_name: str
    version: str
    artifact_fpath: str


class HuggingFaceIdentifier(BaseModel):
    """Deprecated `huggingface_identifier:` block (same fields as a huggingface `source:` without `type`)."""

    model_config = ConfigDict(extra="forbid")
    repo_id: str
    artifact_fpath: str | None = None


class DatasetConfig(BaseModel):
    """A `train`, `validation` or `example` dataset; field order is the metrics JSON key order."""

    model_config = ConfigDict(extra="forbid")
    name: str
    type: Literal["train", "validation", "example"]
    jsonl_fpath: str
    # 0.7.0: how a local file is produced, and the Environment Server taskset its rows materialize into.
    prepare_script: str | None = None
    prepare_dependencies: list[str] = Field(default_factory=list)
    taskset: str | None = Field(default=None, min_length=1)
    num_repeats: int = Field(default=1, ge=1)
    source: DatasetSource | None = None
    gitlab_identifier: GitlabIdentifier | None = None
    huggingface_identifier: HuggingFaceIdentifier | None = Field(default=None, validate_default=True)
    license: LicenseName | None = Field(default=None, validate_default=True)
    # 0.7.0 reads an `agent:` pin from any dataset entry when it routes rows (`dataset_agent_pins`).
    agent: str | None = None

    @field_validator("huggingface_identifier", mode="after")
    @classmethod
    def _source_set_once(cls, value: Any, info: ValidationInfo) -> Any:
        """Reject `source:` together with a legacy identifier (both legacy ones together are allowed)."""
        legacy = [
            name
            for name, given in (
                ("gitlab_identifier", info.data.get("gitlab_identifier")),
                ("huggingface_identifier", value),
            )
            if given is not None
        ]
        if info.data.get("source") is not None and legacy:
            names = ", ".join(repr(name) for name in ["source", *legacy])
            raise config_error(
                "dataset.source_conflict",
                f"Specify a dataset source once for '{info.data.get('name')}': set only one of [{names}]. "
                "Prefer the unified `source:` block.",
                "Delete " + " and ".join(legacy) + "; `source:` carries the same fields plus `type`.",
                field="source",
            )
        return value

    @field_validator("license", mode="before")
    @classmethod
    def _license_valid(cls, value: Any, info: ValidationInfo) -> Any:
        """Require a license on train/validation datasets and explain near misses of the exact strings."""
        if value is None:
            if info.data.get("type") in LICENSE_REQUIRED_TYPES:
                raise config_error(
                    "license.missing",
                    f"A license is required for {info.data.get('name')}",
                    f"Add `license: <value>` to this {info.data.get('type')} dataset; NeMo Gym accepts these "
                    f"exact strings: {format_valid_licenses()}",
                )
            return value
        if value in VALID_LICENSES:
            return value
        suggestion = suggest_license(value) if isinstance(value, str) else None
        accepted = f"NeMo Gym accepts these exact strings: {format_valid_licenses()}"
        raise config_error(
            "license.invalid",
            f"{quoted(value)} is not a valid license",
            f"Use '{suggestion}' ({accepted})" if suggestion else accepted,
        )

    @model_validator(mode="after")
    def _mirror_source(self) -> DatasetConfig:
        """Fill `source` from a single legacy identifier and the matching legacy field from `source`."""
        if isinstance(self.source, GitlabDatasetSource):
            self.gitlab_identifier = GitlabIdentifier(**self.source.model_dump(exclude={"type"}))
        elif isinstance(self.source, HuggingFaceDatasetSource):
            self.huggingface_identifier = HuggingFaceIdentifier(**self.source.model_dump(exclude={"type"}))
        elif self.gitlab_identifier is not None and self.huggingface_identifier is None:
            self.source = GitlabDatasetSource(type="gitlab", **self.gitlab_identifier.model_dump())
        elif self.huggingface_identifier is not None and self.gitlab_identifier is None:
            self.source = HuggingFaceDatasetSource(type="huggingface", **self.huggingface_identifier.model_dump())
        return self

    @model_serializer(mode="wrap")
    def _omit_unset_070_fields(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave the 0.7.0 keys out while unset, so a dump (and a metrics file) of a 0.5 entry is unchanged."""
        data = handler(self)
        for key in ("prepare_script", "prepare_dependencies", "taskset", "agent"):
            if not data.get(key, True):
                data.pop(key)
        return data

    def metrics_fields(self) -> dict[str, Any]:
        """The fields a per-dataset `*_metrics.json` starts with (0.7.0 leaves routing and preparation out)."""
        return self.model_dump(mode="json", exclude=set(_ROUTING_FIELDS) | {"prepare_script", "prepare_dependencies"})

    def type_metrics_fields(self) -> dict[str, Any]:
        """The fields a collated `<type>_metrics.json` starts with (0.7.0 keeps preparation keys when set)."""
        return self.model_dump(mode="json", exclude=set(_ROUTING_FIELDS))


# Keys that choose where rows go, not what they are: never part of a metrics document.
_ROUTING_FIELDS = ("agent", "taskset")


class BenchmarkDatasetConfig(BaseModel):
    """A `benchmark` dataset: raw rows plus the script that prepares them and an optional prompt."""

    model_config = ConfigDict(extra="forbid")
    name: str
    type: Literal["benchmark"]
    jsonl_fpath: Path
    prepare_script: Path
    taskset: str | None = Field(default=None, min_length=1)
    prompt_config: Path | None = None
    num_repeats: int = Field(default=1, ge=1)
    prepare_dependencies: list[str] = Field(default_factory=list)
    agent: str | None = None

    def metrics_fields(self) -> dict[str, Any]:
        """The fields a per-dataset `*_metrics.json` starts with (routing keys left out, as 0.7.0 does)."""
        return self.model_dump(mode="json", exclude=set(_ROUTING_FIELDS))

    def type_metrics_fields(self) -> dict[str, Any]:
        """The fields a collated `<type>_metrics.json` starts with."""
        return self.metrics_fields()


AnyDatasetConfig = DatasetConfig | BenchmarkDatasetConfig

_NESTED_MODELS: dict[str, type[BaseModel]] = {
    "gitlab_identifier": GitlabIdentifier,
    "huggingface_identifier": HuggingFaceIdentifier,
}
_SOURCE_MODELS: dict[str, type[BaseModel]] = {
    "gitlab": GitlabDatasetSource,
    "huggingface": HuggingFaceDatasetSource,
}


def validate_dataset(raw: Any) -> tuple[AnyDatasetConfig | None, list[Issue]]:
    """Validate one `datasets:` entry; return the model, or None and every problem found in it."""
    if not isinstance(raw, dict):
        return None, [
            Issue(
                (),
                "dataset.not_mapping",
                f"A dataset entry must be a mapping, got {type(raw).__name__}",
                "Write each dataset as `- name: ...` with `type`, `jsonl_fpath` (and `license`) below it.",
            )
        ]
    model_cls: type[DatasetConfig] | type[BenchmarkDatasetConfig] = (
        BenchmarkDatasetConfig if raw.get("type") == "benchmark" else DatasetConfig
    )
    warnings: list[Issue] = []
    if model_cls is BenchmarkDatasetConfig and "license" in raw:
        warnings.append(_benchmark_license(raw["license"]))
        raw = {key: value for key, value in raw.items() if key != "license"}
    try:
        return model_cls.model_validate(raw), warnings
    except ValidationError as exc:
        subject = f"dataset '{raw.get('name', '<unnamed>')}'"
        return None, warnings + issues_from_validation(exc, raw, subject, "dataset", _dataset_keys_at(model_cls, raw))


def _benchmark_license(value: Any) -> Issue:
    """Warn that a benchmark's `license` key is dropped: 0.7.0's benchmark model has no such field."""
    literal = suggest_license(value) if isinstance(value, str) and value not in VALID_LICENSES else None
    known = f" (as a train/validation dataset license it would read '{literal}')" if literal else ""
    return Issue(
        ("license",),
        "dataset.benchmark_license",
        f"benchmark datasets have no `license` field: NeMo Gym drops {value!r} without a word{known}",
        "Record a benchmark's licensing in its manifest.yaml (`licensing:`, an SPDX expression such as "
        "'CC-BY-4.0'); keep `license:` here only if you accept that nothing reads it.",
        warning=True,
    )


def _dataset_keys_at(model_cls: type[BaseModel], raw: dict) -> Callable[[KeyPath], list[str]]:
    """Return a function giving the keys a dataset entry accepts at a given (parent) key path."""

    def keys_at(parent: KeyPath) -> list[str]:
        if not parent:
            return list(model_cls.model_fields)
        if parent == ("source",) and isinstance(raw.get("source"), dict):
            source_model = _SOURCE_MODELS.get(raw["source"].get("type"))
            return list(source_model.model_fields) if source_model else []
        nested = _NESTED_MODELS.get(str(parent[0])) if len(parent) == 1 else None
        return list(nested.model_fields) if nested else []

    return keys_at


def issues_from_validation(
    exc: ValidationError, raw: Any, subject: str, prefix: str, keys_at: Callable[[KeyPath], list[str]]
) -> list[Issue]:
    """Turn pydantic errors into Issues with config key paths, stable codes and hints."""
    issues = []
    for error in exc.errors():
        path = _config_path(raw, error["loc"])
        context = error.get("ctx") or {}
        kind = error["type"]
        where = dotted_path(path)
        if "hint" in context:
            if "field" in context:
                path = (*path[:-1], context["field"]) if path else (context["field"],)
            issues.append(Issue(path, kind, error["msg"], context["hint"]))
        elif kind == "extra_forbidden":
            issues.append(_unknown_key(path, subject, prefix, keys_at(path[:-1])))
        elif kind == "missing":
            issues.append(
                Issue(
                    path,
                    f"{prefix}.missing_field",
                    f"{subject} is missing required field '{where}'",
                    f"Add `{path[-1]}: <value>` to {subject}.",
                )
            )
        elif kind == "greater_than_equal":
            issues.append(
                Issue(
                    path,
                    f"{prefix}.{path[-1]}" if path else f"{prefix}.invalid",
                    f"{where} must be an integer >= {context.get('ge')}, got {error.get('input')!r}",
                    f"Use {where}: 1 to use each line once; larger values repeat every line.",
                )
            )
        elif kind == "literal_error" and path == ("type",) and prefix == "dataset":
            issues.append(_bad_choice(path, f"{prefix}.type", "Dataset type", error.get("input"), DATASET_TYPES))
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            issues.append(
                _bad_choice(
                    path + ("type",),
                    f"{prefix}.source",
                    "Source type",
                    context.get("tag"),
                    tuple(_SOURCE_MODELS),
                )
            )
        else:
            issues.append(
                Issue(
                    path,
                    f"{prefix}.invalid",
                    f"{subject}: {where or 'value'}: {error['msg']}",
                    "Fix the value's type or spelling.",
                )
            )
    return issues


def _config_path(raw: Any, loc: tuple) -> KeyPath:
    """Drop the discriminator tags pydantic inserts into error locations so the path matches the YAML."""
    path: list = []
    node = raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("type") == part:
            continue
        path.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path)


def _unknown_key(path: KeyPath, subject: str, prefix: str, known: list[str]) -> Issue:
    """Report a key the schema does not know, with the closest known key."""
    key = str(path[-1])
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    guess = f"Did you mean '{close[0]}'? " if close else ""
    listing = f"Known keys here: {', '.join(known)}." if known else ""
    return Issue(
        path,
        f"{prefix}.unknown_key",
        f"Unknown key '{key}' in {subject}",
        f"{guess}NeMo Gym ignores unknown keys here silently, so this value would be lost. {listing}".strip(),
    )


def _bad_choice(path: KeyPath, code: str, what: str, given: Any, choices: tuple[str, ...]) -> Issue:
    """Report a value outside a closed set of choices, with the closest choice."""
    close = difflib.get_close_matches(str(given), choices, n=1) if given is not None else []
    guess = f"Did you mean '{close[0]}'? " if close else ""
    shown = "missing" if given is None else repr(given)
    return Issue(
        path,
        code,
        f"{what} {shown} is not one of {', '.join(choices)}",
        f"{guess}Use one of: {', '.join(choices)}.",
    )
