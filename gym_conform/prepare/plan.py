"""Choose the datasets a mode reads, in NeMo Gym's collation order, and find the ones that are missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gym_conform.core.config.loader import LoadedConfig, resolve_read_path
from gym_conform.core.config.schema import ServerInstance
from gym_conform.core.files import display_path
from gym_conform.errors import Location

AGENT_SERVER_TYPE = "responses_api_agents"


@dataclass(frozen=True)
class DatasetJob:
    """One dataset of one agent to validate, measure and collate."""

    agent: str
    dataset: Any
    path: Path
    config_location: Location

    @property
    def type(self) -> str:
        return self.dataset.type

    @property
    def num_repeats(self) -> int:
        return self.dataset.num_repeats

    @property
    def display_path(self) -> str:
        return display_path(self.path)

    @property
    def metrics_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}_metrics.json")


def plan_jobs(instances: Sequence[ServerInstance], types: Sequence[str], cfg: LoadedConfig) -> list[DatasetJob]:
    """List in-scope datasets: agents in config order, then datasets in declaration order."""
    jobs = []
    for instance in instances:
        if instance.server_type != AGENT_SERVER_TYPE:
            continue
        for index, dataset in enumerate(instance.datasets):
            if dataset.type not in types:
                continue
            key = (
                instance.name,
                instance.server_type,
                instance.implementation,
                "datasets",
                index,
                "jsonl_fpath",
            )
            path = resolve_read_path(str(dataset.jsonl_fpath))
            jobs.append(DatasetJob(instance.name, dataset, path, cfg.locate(key)))
    return jobs


def jobs_by_type(jobs: Sequence[DatasetJob], types: Sequence[str]) -> dict[str, list[DatasetJob]]:
    """Group jobs per dataset type, keeping the mode's type order and each type's job order."""
    grouped: dict[str, list[DatasetJob]] = {t: [] for t in types}
    for job in jobs:
        grouped[job.type].append(job)
    return {t: js for t, js in grouped.items() if js}
