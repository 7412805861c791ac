"""What the static reader left unchecked, and the error a `task_data.py` that cannot be loaded raises."""

from __future__ import annotations

from dataclasses import dataclass

from gym_conform.errors import GymConformError, Location, Problem


@dataclass(frozen=True)
class UncheckedNote:
    """One construct the static reader did not run: where it is, and what is therefore not checked."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def problem(self) -> Problem:
        """The note as a `task_data.unchecked` problem, for reports that list it."""
        return Problem(
            "task_data.unchecked",
            self.message,
            Location(self.path, self.line),
            "the static level does not run a repository's code; the server level (which imports "
            "task_data.py) checks this part",
        )


class TaskSchemaError(GymConformError):
    """A `task_data.py` that exists but cannot give a schema (NeMo Gym 0.7.0: `TaskDataSchemaError`).

    0.7.0's collation prints a warning and skips validation of that dataset; callers should do the same.
    """

    code = "task_data.schema"
