"""The keys `ng_prepare_data` accepts, with the help text `--help` prints for each."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gym_conform.core.jsonl import MAX_LINE_BYTES
from gym_conform.prepare.shards import usable_cpus

Mode = Literal["example_validation", "train_preparation"]
Routing = Literal["auto", "task_source", "agent_ref"]
TaskDataValidation = Literal["off", "warn", "error", "auto"]

# More workers than this rarely help: the parent's ordered merge and the disk become the limit.
MAX_DEFAULT_WORKERS = 8

# Which dataset types each mode reads, as NeMo Gym defines them.
MODE_DATASET_TYPES: dict[str, tuple[str, ...]] = {
    "example_validation": ("example",),
    "train_preparation": ("train", "validation", "benchmark"),
}


class PrepareOptions(BaseModel):
    """Options of one `ng_prepare_data` run."""

    model_config = ConfigDict(extra="ignore")

    config_paths: list[str] = Field(
        default_factory=list,
        description=(
            'YAML configs to merge, e.g. "+config_paths=[a.yaml,b.yaml]" (quote it in the shell).\n'
            "Later files override earlier ones; env.yaml and ++key=value overrides win over both."
        ),
    )
    output_dirpath: str = Field(
        description="Directory for the collated <type>.jsonl and <type>_metrics.json files (created if missing)."
    )
    mode: Mode = Field(
        description=(
            "example_validation: check the `example` datasets (before contributing).\n"
            "train_preparation: validate `train` and `validation` (and benchmark) datasets and collate them."
        )
    )
    should_download: bool = Field(
        default=False,
        description=(
            "Download missing train/validation datasets from their declared source (Hugging Face).\n"
            "The token comes from hf_token in env.yaml (or +hf_token=...) or the HF_TOKEN environment variable."
        ),
    )
    data_source: Literal["huggingface", "gitlab"] = Field(
        default="huggingface",
        description="Which source to use when a dataset declares both a gitlab and a huggingface identifier.",
    )
    overwrite_metrics_conflicts: bool = Field(
        default=False,
        description=(
            "Rewrite *_metrics.json files whose committed numbers differ from the recomputed ones,\n"
            "instead of failing and writing *_metrics_conflict.json next to them."
        ),
    )
    num_workers: int = Field(
        default=min(usable_cpus(), MAX_DEFAULT_WORKERS),
        ge=1,
        description=(
            "Processes that validate a large dataset in parallel (default: the usable CPUs, at most 8).\n"
            "1 = everything in this process, as are files under 16 MB. The output is byte-identical either way."
        ),
    )
    routing: Routing = Field(
        default="auto",
        description=(
            "The routing key every collated row gets. task_source: the declaring instance's name, as NeMo Gym\n"
            "0.7.0 writes it (an agent_ref already in a row is dropped); agent_ref: {type: responses_api_agents,\n"
            "name: <agent>}, as the 0.5 docs describe. auto: task_source for a 0.7.0-style config (an\n"
            "environment_servers block, datasets on a resources server, or a key only 0.7.0 reads), else agent_ref."
        ),
    )
    task_data_validation: TaskDataValidation = Field(
        default="auto",
        description=(
            "Check rows against the owning server's task_data.py TaskData schema, read without running it.\n"
            "error: schema violations fail the run; warn: they are printed; off: no check. auto (as NeMo Gym\n"
            "0.7.0): error in example_validation, warn in train_preparation. Servers without task_data.py: no check."
        ),
    )
    max_line_bytes: int = Field(
        default=MAX_LINE_BYTES,
        ge=1024,
        description=(
            "Longest dataset line accepted, in bytes (default 64 MiB). A longer line is reported and the rest of\n"
            "its file is not read, so a file without line ends (binary, sparse) never fills memory."
        ),
    )
