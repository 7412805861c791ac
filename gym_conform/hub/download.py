"""Download dataset files from the Hugging Face Hub: token from config or `HF_TOKEN`, one clear error each.

The endpoint and the cache folder are read from the environment on every call (huggingface_hub itself reads
them once, at import), so `HF_ENDPOINT`, `HF_HUB_CACHE` and `HF_HOME` set later still count. When neither
cache variable is set, files are cached under `<cwd>/cache/huggingface/hub`, as NeMo Gym does by setting
`HF_HOME=<working dir>/cache/huggingface`, so a download never fills the user's home folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import httpx2
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    FileMetadataError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from gym_conform.core.files import atomic_copy
from gym_conform.errors import ConfigError, DownloadError, Location

DEFAULT_ENDPOINT = "https://huggingface.co"
# Everything huggingface_hub raises for a failed look-up or transfer (HFValidationError is a ValueError).
_HUB_ERRORS = (HfHubHTTPError, EntryNotFoundError, HFValidationError, httpx2.HTTPError, OSError)
_LISTED_FILES = 20


def resolve_hf_token(config: Mapping[str, Any] | None) -> str | None:
    """Return `hf_token` from the merged config (env.yaml or `+hf_token=`), else `HF_TOKEN`, else None."""
    value = (config or {}).get("hf_token")
    if value is not None and not isinstance(value, str):
        raise ConfigError(
            "hf_token must be a string",
            code="config.hf_token",
            location=Location(field="hf_token"),
            hint='quote the token in env.yaml: hf_token: "hf_..."',
        )
    return (value or "").strip() or os.environ.get("HF_TOKEN", "").strip() or None


def hub_endpoint() -> str:
    """Return the Hub base URL: `HF_ENDPOINT` if set, else https://huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hub_cache_dir() -> Path:
    """Return the download cache: `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `<cwd>/cache/huggingface/hub`."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.path.expandvars(os.environ["HF_HUB_CACHE"])).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.path.expandvars(os.environ["HF_HOME"])).expanduser() / "hub"
    return Path.cwd() / "cache" / "huggingface" / "hub"


def download_dataset_file(
    repo_id: str,
    artifact_fpath: str,
    output_fpath: str | Path,
    *,
    token: str | None,
    revision: str | None = None,
) -> Path:
    """Download `artifact_fpath` from dataset repo `repo_id` and copy it atomically to `output_fpath`."""
    _check_artifact_fpath(artifact_fpath)
    request = _Request(repo_id, artifact_fpath, revision, hub_endpoint(), token)
    try:
        cached = hf_hub_download(
            repo_id=repo_id,
            filename=artifact_fpath,
            repo_type="dataset",
            token=token,
            revision=revision,
            endpoint=request.endpoint,
            cache_dir=hub_cache_dir(),
        )
    except _HUB_ERRORS as error:
        raise _translate(error, request) from error
    output = Path(output_fpath)
    try:
        atomic_copy(cached, output)
    except OSError as error:
        raise DownloadError(
            f"could not write the downloaded file: {error.strerror or error}",
            code="download.write_failed",
            location=Location(path=str(output)),
            hint="check that the output folder is writable and the disk has free space",
        ) from error
    return output


def find_split_file(repo_id: str, split: str, *, token: str | None, revision: str | None = None) -> str:
    """Return the repo's file for `split`: `<split>.jsonl`, else the only `*<split>*.jsonl`."""
    files = _list_files(_Request(repo_id, None, revision, hub_endpoint(), token))
    jsonl = [f for f in files if f.endswith(".jsonl")]
    if f"{split}.jsonl" in jsonl:
        return f"{split}.jsonl"
    matches = [f for f in jsonl if split in PurePosixPath(f).name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        message = f"dataset repo '{repo_id}' has several JSONL files that could be the '{split}' split"
    else:
        message = f"dataset repo '{repo_id}' has no JSONL file for the '{split}' split"
    listed = _some(matches or jsonl or files) or "(the repo has no files)"
    raise DownloadError(
        message,
        code="download.ambiguous",
        hint=(
            "set artifact_fpath to the file to download (huggingface_identifier.artifact_fpath in the dataset"
            f" config, or +artifact_fpath=... on the command line); candidates: {listed}"
        ),
    )


def download_dataset(dataset: Any, *, token: str | None) -> Path:
    """Download a dataset config's Hugging Face file to its `jsonl_fpath`, by split without artifact_fpath."""
    identifier = getattr(dataset, "huggingface_identifier", None)
    source = getattr(dataset, "source", None)
    if identifier is None and getattr(source, "type", None) == "huggingface":
        identifier = source
    if identifier is None:
        name = getattr(dataset, "name", "?")
        raise DownloadError(
            f"dataset '{name}' has no Hugging Face source to download from",
            code="download.no_source",
            hint="add `huggingface_identifier: {repo_id: ORG/NAME, artifact_fpath: train.jsonl}` to it",
        )
    artifact = getattr(identifier, "artifact_fpath", None)
    if not artifact:
        artifact = find_split_file(identifier.repo_id, dataset.type, token=token)
    return download_dataset_file(identifier.repo_id, artifact, dataset.jsonl_fpath, token=token)


@dataclass(frozen=True)
class _Request:
    """What was asked for, to name in errors; the token only tells whether one was sent, and is scrubbed."""

    repo_id: str
    artifact_fpath: str | None
    revision: str | None
    endpoint: str
    token: str | None

    @property
    def what(self) -> str:
        if self.artifact_fpath is None:
            return f"the file list of dataset repo '{self.repo_id}'"
        return f"'{self.artifact_fpath}' from dataset repo '{self.repo_id}'"

    def scrub(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text


def _check_artifact_fpath(artifact_fpath: str) -> None:
    path = PurePosixPath(artifact_fpath)
    if not artifact_fpath or path.is_absolute() or ".." in path.parts or "\\" in artifact_fpath:
        raise DownloadError(
            f"artifact_fpath '{artifact_fpath}' is not a file path inside the repo",
            code="download.invalid_artifact_fpath",
            hint="give the file's path relative to the repo root with forward slashes, e.g. train.jsonl",
        )


def _list_files(request: _Request) -> list[str]:
    api = HfApi(endpoint=request.endpoint, token=request.token)
    try:
        return api.list_repo_files(request.repo_id, repo_type="dataset", revision=request.revision)
    except _HUB_ERRORS as error:
        raise _translate(error, request) from error


def _translate(error: BaseException, request: _Request) -> DownloadError:
    """Turn what huggingface_hub raised (often wrapped in LocalEntryNotFoundError) into one DownloadError."""
    for cause in _chain(error):
        if isinstance(cause, GatedRepoError):
            return _unauthorized(request, 403, gated=True)
        if isinstance(cause, RepositoryNotFoundError) and cause.response.status_code != 404:
            # The Hub answers 401 for private repos and for missing ones alike when the token does not fit.
            return _unauthorized(request, cause.response.status_code, gated=False)
        if isinstance(cause, RepositoryNotFoundError):
            return DownloadError(
                f"dataset repo '{request.repo_id}' was not found on {request.endpoint}",
                code="download.repo_not_found",
                hint=(
                    "check repo_id (ORG/NAME, as in https://huggingface.co/datasets/ORG/NAME); it must be a"
                    " *dataset* repo, not a model or Space repo"
                ),
            )
        if isinstance(cause, RevisionNotFoundError):
            return DownloadError(
                f"revision '{request.revision}' does not exist in dataset repo '{request.repo_id}'",
                code="download.revision_not_found",
                hint="give an existing branch, tag or commit, or leave revision unset to use main",
            )
        if isinstance(cause, RemoteEntryNotFoundError):
            return _file_not_found(request)
        if isinstance(cause, HfHubHTTPError) and cause.response.status_code in (401, 403):
            return _unauthorized(request, cause.response.status_code, gated=False)
        if isinstance(cause, HfHubHTTPError):
            detail = f": {request.scrub(cause.server_message)}" if cause.server_message else ""
            return DownloadError(
                f"{request.endpoint} answered HTTP {cause.response.status_code} for {request.what}{detail}",
                code="download.failed",
                hint="the Hub may be having trouble; try again later",
            )
        if isinstance(cause, OfflineModeIsEnabled):
            return DownloadError(
                f"offline mode is on (HF_HUB_OFFLINE) and {request.what} is not in the cache {hub_cache_dir()}",
                code="download.unreachable",
                hint="unset HF_HUB_OFFLINE to download it",
            )
        if isinstance(cause, (httpx2.TransportError, ConnectionError)):
            return DownloadError(
                f"could not reach the Hugging Face Hub at {request.endpoint} to download {request.what}",
                code="download.unreachable",
                hint="check the network connection and proxy settings, or set HF_ENDPOINT to a reachable Hub",
            )
        if isinstance(cause, FileMetadataError):
            return DownloadError(
                f"{request.endpoint} answered, but not like a Hugging Face Hub (no X-Repo-Commit or ETag)",
                code="download.failed",
                hint="check HF_ENDPOINT and the proxy and firewall settings",
            )
        if isinstance(cause, HFValidationError):
            return DownloadError(
                f"'{request.repo_id}' is not a valid repo id: {cause}",
                code="download.invalid_repo_id",
                hint="write repo_id as ORG/NAME, e.g. nvidia/Nemotron-RL-math-OpenMathReasoning",
            )
    return DownloadError(
        f"downloading {request.what} failed: {request.scrub(str(error))}",
        code="download.failed",
        hint=(
            f"if this is a disk problem, check that the cache folder {hub_cache_dir()} is writable and has"
            " free space; set GYM_CONFORM_TRACEBACK=1 to see the full error"
        ),
    )


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _unauthorized(request: _Request, status: int, *, gated: bool) -> DownloadError:
    sent = "the token given was not accepted" if request.token else "no token was given"
    if gated:
        reason = f"the repo is gated and {sent}"
    else:
        reason = f"{sent}; the repo is private or gated, or does not exist (the Hub does not say which)"
    hint = f"Set hf_token in env.yaml or export HF_TOKEN=<token> (a token with read access to {request.repo_id})"
    if gated:
        hint += f"; also accept the dataset's access conditions at {request.endpoint}/datasets/{request.repo_id}"
    else:
        hint += "; also check that repo_id is right"
    return DownloadError(
        f"not authorized to download {request.what} (HTTP {status}): {reason}",
        code="download.unauthorized",
        hint=hint,
    )


def _file_not_found(request: _Request) -> DownloadError:
    revision = request.revision or "main"
    try:
        files = _some(_list_files(request)) or "(the repo has no files)"
        hint = f"check artifact_fpath; the files at revision {revision} are: {files}"
    except DownloadError:
        browse = f"{request.endpoint}/datasets/{request.repo_id}/tree/{revision}"
        hint = f"check artifact_fpath; browse the repo's files at {browse}"
    return DownloadError(
        f"'{request.artifact_fpath}' is not a file of dataset repo '{request.repo_id}' (revision {revision})",
        code="download.file_not_found",
        hint=hint,
    )


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED_FILES])
    hidden = len(names) - _LISTED_FILES
    return f"{shown} ... and {hidden} more" if hidden > 0 else shown
