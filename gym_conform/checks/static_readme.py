"""The `readme` check: README.md exists, has the sections a reader needs, and names the row fields of the data."""

from __future__ import annotations

import re
from dataclasses import dataclass

from gym_conform.checks.base import CheckFailed, CheckSkipped
from gym_conform.checks.context import FolderContext
from gym_conform.errors import GymConformError, Location, Problem

# Row keys NeMo Gym itself reads or adds; every other top-level key is a task field the README should explain.
NEMO_GYM_ROW_KEYS = frozenset({"responses_create_params", "response", "agent_ref", "skills_ref"})
NEMO_GYM_ROW_PREFIX = "_ng_"

_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class Section:
    """A README section a reader needs: the heading words that count as it, and what it should hold."""

    name: str
    words: frozenset[str]
    heading: str
    holds: str


SECTIONS = (
    Section(
        "description",
        frozenset({"description", "overview", "about", "introduction", "summary"}),
        "# Description",
        "what the environment is: the task, its tools and how verify() computes the reward",
    ),
    Section(
        "data",
        frozenset({"data", "dataset", "datasets"}),
        "# Data",
        "where the rows come from and each row field, with whether verify() reads it",
    ),
    Section(
        "licensing",
        frozenset({"licensing", "license", "licence", "licenses", "licences"}),
        "# Licensing information",
        "`Code: ...`, `Data: ...` and each dependency with its license, as in NeMo Gym's template",
    ),
)


def headings(text: str) -> list[tuple[int, str]]:
    """Return (1-based line, heading text) of every Markdown heading (ATX or setext) outside code fences."""
    found: list[tuple[int, str]] = []
    lines = text.splitlines()
    fence: str | None = None
    for index, line in enumerate(lines):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        atx = _ATX_HEADING.match(line)
        if atx:
            found.append((index + 1, (atx.group(2) or "").strip()))
        elif line.strip() and index + 1 < len(lines) and _SETEXT_UNDERLINE.match(lines[index + 1]):
            found.append((index + 1, line.strip()))
    return found


def row_fields(ctx: FolderContext) -> list[str]:
    """Return the task fields of the example rows (top-level keys NeMo Gym does not own), in first-seen order."""
    fields: dict[str, None] = {}
    for _, row in ctx.example_rows:
        for key in row:
            if key not in NEMO_GYM_ROW_KEYS and not key.startswith(NEMO_GYM_ROW_PREFIX):
                fields.setdefault(key)
    return list(fields)


def check_readme(ctx: FolderContext) -> None:
    """Fail when README.md is missing, lacks a needed section, or never mentions a row field of the data."""
    shown = ctx.show(ctx.readme_path)
    refused = ctx.refused_read(ctx.readme_path)
    if refused is not None:
        raise CheckFailed([refused], summary=f"{refused.location.path} is not read")
    if not ctx.readme_path.is_file() and ctx.is_environment and not ctx.settings.strict:
        raise CheckSkipped("0.7.0 requires no README.md of an environment (--gym-strict does)")
    if not ctx.readme_path.is_file():
        raise CheckFailed(
            [
                Problem(
                    "readme.missing",
                    "README.md is missing",
                    Location(shown),
                    "add README.md with "
                    + ", ".join(f"`{s.heading}` ({s.holds})" for s in SECTIONS)
                    + "; NeMo Gym's CI skips a folder without one",
                )
            ],
            summary=f"{ctx.display} has no README.md",
        )
    text = ctx.readme_path.read_text(encoding="utf-8", errors="replace")
    found = headings(text)
    problems = [
        Problem(
            "readme.section_missing",
            f"no {section.name} section: no heading names {', '.join(sorted(section.words))}",
            Location(shown),
            f"add a `{section.heading}` section: {section.holds}",
        )
        for section in SECTIONS
        if not any(section.words & set(_WORD.findall(heading.casefold())) for _, heading in found)
    ]
    data_line = next(
        (line for line, heading in found if SECTIONS[1].words & set(_WORD.findall(heading.casefold()))), None
    )
    try:
        fields = row_fields(ctx)
    except GymConformError:
        fields = []  # an unreadable data/example.jsonl is the example_data check's to report
    for field in fields:
        if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(field)}(?![A-Za-z0-9_])", text):
            problems.append(
                Problem(
                    "readme.row_field",
                    f"the row field '{field}' of data/example.jsonl is never mentioned",
                    Location(shown, data_line),
                    f"describe `{field}` in the data section and say whether verify() reads it, e.g. a table "
                    "`| field | type | read by verify |`",
                )
            )
    if problems:
        raise CheckFailed(problems, summary=f"README.md of {ctx.display}: {len(problems)} problem(s)")
