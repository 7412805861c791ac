"""Which findings a run reports: the default set (NeMo Gym's own rules), the `--gym-strict` extras, and waivers.

A check function reports everything it finds; `triage` then sorts each problem into reported, left to the
strict set, turned into a note (a value or config the run needs, not a defect of the folder) or waived.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gym_conform.errors import Problem

# Beyond what NeMo Gym 0.7.0 checks (`gym env test`'s data rules, `gym dataset collate`, `gym env validate`):
# reported with --gym-strict only. Each entry says why upstream does not reject it.
STRICT_CODES: dict[str, str] = {
    "readme.section_missing": "NeMo Gym requires a README.md, not its sections",
    "readme.row_field": "NeMo Gym does not require the README to name the row fields",
    "config.resources_not_first": "0.7.0 reads domain and description from any resources-server block",
    "config.example_path": "0.7.0's CI reads data/example.jsonl whatever the config's example dataset reads",
    "config.no_agent": "0.7.0 pairs servers and agents across configs (allowed_agents, environments/)",
    "config.no_example_dataset": "0.7.0's CI needs data/example.jsonl, not an example dataset in the config",
    "data.leakage": "NeMo Gym does not compare example and validation rows",
    "data.train_overlap_example": "NeMo Gym does not compare example and train rows",
    "data.train_overlap_validation": "NeMo Gym does not compare validation and train rows",
    "license.readme_mismatch": "NeMo Gym does not compare the YAML license with the README's",
    "license.card_mismatch": "NeMo Gym does not read a Hub dataset's card",
    "manifest.missing": "only catalog entries published with `gym env publish` need a manifest.yaml",
}

# Checks whose every finding outside a few codes is strict: 0.7.0's CI counts example rollout lines and never
# reads them, so the default set asks only for 5 lines that are JSON objects (what `gym eval` tools can read).
DEFAULT_ONLY: dict[str, frozenset[str]] = {
    "example_rollouts": frozenset(
        {"data.rollouts_missing", "data.rollouts_count", "data.blank_line", "row.json", "rollout.not_object"}
    ),
}
ROLLOUT_SHAPE_REASON = "0.7.0's CI counts example rollout lines; it does not validate them"

# What the folder needs from its user to run (a value from env.yaml, another config), never a defect.
NOTE_CODES = frozenset({"config.needs_value", "config.needs_config"})

_WAIVER = re.compile(r"(?P<folder>[^\s:]+)::(?P<check>[a-z][a-z0-9_]*)(?:::(?P<code>[a-z][\w.]*))?\s+(?P<reason>\S.*)")


@dataclass
class Waiver:
    """One check (or one rule code of it) waived for one folder, with the recorded reason; counts its matches."""

    folder: str
    check: str
    code: str | None
    reason: str
    source: str
    matched: int = 0
    checked: bool = False

    @property
    def key(self) -> str:
        """Return the waiver as written: `folder::check[::code]`."""
        return f"{self.folder}::{self.check}" + (f"::{self.code}" if self.code else "")

    def applies_to(self, folder: str, check: str) -> bool:
        """Return whether the waiver names this folder (its node id or its name) and check."""
        return check == self.check and self.folder in (folder, folder.rsplit("/", 1)[-1])

    @property
    def stale(self) -> bool:
        """Return whether the waived check ran and the waiver matched none of its problems."""
        return self.checked and self.matched == 0

    def to_json(self) -> dict:
        """Return the waiver as the JSON report lists it."""
        return {
            "waiver": self.key,
            "reason": self.reason,
            "source": self.source,
            "matched": self.matched,
            "status": "stale" if self.stale else ("used" if self.matched else "not run"),
        }


def parse_waivers(lines: Sequence[str], source: str) -> tuple[list[Waiver], list[str]]:
    """Parse `folder::check[::code]  reason` lines (blank and `#` lines skipped); return waivers and errors."""
    waivers: list[Waiver] = []
    errors: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _WAIVER.fullmatch(line)
        if match is None:
            errors.append(
                f"{source}: waiver {number} ({line!r}) must read `<folder>::<check>[::<rule code>]  <reason>`, "
                "e.g. `resources_servers/spartqa::license  upstream's value, fixed in PR 123`"
            )
            continue
        waivers.append(Waiver(match["folder"].rstrip("/"), match["check"], match["code"], match["reason"], source))
    return waivers, errors


@dataclass
class Triage:
    """A check's problems, sorted: reported, left to --gym-strict, turned into notes, waived (with the waiver)."""

    reported: list[Problem] = field(default_factory=list)
    strict_only: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    waived: list[tuple[Problem, Waiver]] = field(default_factory=list)


def is_strict_only(check: str, code: str) -> bool:
    """Return whether a finding of `check` with `code` belongs to the --gym-strict set only."""
    default_only = DEFAULT_ONLY.get(check)
    return code in STRICT_CODES or (default_only is not None and code not in default_only)


def triage(problems: Sequence[Problem], *, check: str, strict: bool, waivers: Sequence[Waiver]) -> Triage:
    """Sort `problems` of one check of one folder; `waivers` are those that apply to that folder and check."""
    result = Triage()
    for problem in problems:
        waiver = next((w for w in waivers if w.code in (None, problem.code)), None)
        if problem.code in NOTE_CODES:
            result.notes.append(problem)
        elif not strict and is_strict_only(check, problem.code):
            result.strict_only.append(problem)
        elif waiver is not None:
            waiver.matched += 1
            result.waived.append((problem, waiver))
        else:
            result.reported.append(problem)
    return result
