"""The `ng_download_dataset_from_hf` console script: download one dataset file from the Hugging Face Hub."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from pydantic import BaseModel, ConfigDict, Field

from gym_conform.cli.common import EXIT_OK, options_from_args, render_help, run, wants_help
from gym_conform.core.yaml_safe import safe_load
from gym_conform.errors import ConfigError, Location
from gym_conform.hub.download import download_dataset_file, find_split_file, resolve_hf_token

PROG = "ng_download_dataset_from_hf"
SUMMARY = (
    "Download one file of a Hugging Face dataset repo. The token comes from +hf_token=, else hf_token in\n"
    "./env.yaml, else the HF_TOKEN environment variable; HF_ENDPOINT and HF_HOME are honoured."
)
EXAMPLES = (
    (
        f"{PROG} +repo_id=nvidia/Nemotron-RL-math-OpenMathReasoning +artifact_fpath=train.jsonl"
        " +output_fpath=data/train.jsonl"
    ),
    f"{PROG} +repo_id=ORG/NAME +split=validation +output_fpath=data/validation.jsonl",
)
ENV_YAML = Path("env.yaml")


class DownloadOptions(BaseModel):
    """The keys `ng_download_dataset_from_hf` accepts."""

    # `+revision=1.0` or a digits-only token arrive as numbers from the YAML-typed override parser.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    repo_id: str = Field(description="Dataset repo on the Hub, ORG/NAME.")
    artifact_fpath: str | None = Field(
        None,
        description="File to download, relative to the repo root (e.g. train.jsonl). Give this or +split.",
    )
    split: str | None = Field(
        None,
        description="Instead of artifact_fpath: download <split>.jsonl, or the repo's only *<split>*.jsonl.",
    )
    output_fpath: str = Field(
        description="Where to write the file (any name); missing folders are created, an old file replaced."
    )
    hf_token: str | None = Field(
        None, description="Hub token with read access; when unset, hf_token in ./env.yaml, else $HF_TOKEN."
    )
    revision: str | None = Field(None, description="Branch, tag or commit to download from; when unset, main.")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: download, print where the file went, exit 0 (or 1 with the error)."""
    run(_download, argv)


def _download(args: list[str]) -> int:
    if wants_help(args):
        print(render_help(PROG, SUMMARY, DownloadOptions, EXAMPLES, config_overrides=False))
        return EXIT_OK
    options = options_from_args(args, DownloadOptions, PROG)
    _require_one_source(options)
    given_token = {"hf_token": options.hf_token} if options.hf_token else {}
    token = resolve_hf_token({**env_yaml_hf_token(ENV_YAML), **given_token})
    artifact = options.artifact_fpath or find_split_file(
        options.repo_id, options.split or "", token=token, revision=options.revision
    )
    output = download_dataset_file(
        options.repo_id, artifact, options.output_fpath, token=token, revision=options.revision
    )
    print(f"Downloaded {options.repo_id}/{artifact} to: {output}")
    return EXIT_OK


def env_yaml_hf_token(path: Path) -> dict:
    """Return `{"hf_token": ...}` from `path`, interpolations resolved; `{}` if the file or key is absent."""
    if not path.is_file():
        return {}
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        # Only the problem and its place: str(error) quotes the offending line, which may hold a secret.
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(
            f"{path} is not valid YAML: {getattr(error, 'problem', None) or 'syntax error'}",
            code="config.yaml",
            location=Location(path=str(path), line=mark.line + 1 if mark else None),
            hint="fix the YAML syntax at that line",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path} must be a mapping of keys to values",
            code="config.yaml",
            location=Location(path=str(path)),
            hint="write it as `key: value` lines, e.g. hf_token: hf_...",
        )
    if data.get("hf_token") is None:
        return {}
    try:
        return {"hf_token": OmegaConf.create({"hf_token": data["hf_token"]}).hf_token}
    except OmegaConfBaseException:
        raise ConfigError(
            "hf_token in env.yaml could not be resolved",
            code="config.hf_token",
            location=Location(path=str(path), field="hf_token"),
            hint="if it uses ${oc.env:NAME}, export NAME; otherwise write the token itself",
        ) from None


def _require_one_source(options: DownloadOptions) -> None:
    if bool(options.artifact_fpath) == bool(options.split):
        raise ConfigError(
            "give exactly one of artifact_fpath and split",
            code="cli.option",
            location=Location(field="artifact_fpath"),
            hint="add +artifact_fpath=train.jsonl to name the file, or +split=train to look it up",
        )


if __name__ == "__main__":
    main()
