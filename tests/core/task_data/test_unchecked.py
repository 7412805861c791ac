"""What the static reading does not run: it is noted with file:line, typed Any, and never a false error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_conform.core.task_data import TaskSchemaError, load_task_schema

from .conftest import Project

ALWAYS_REJECTS = """
from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    label: str
    count: int = 0

    @model_validator(mode="after")
    def check(self):
        raise ValueError("rejected by the validator")

    @field_validator("count")
    @classmethod
    def positive(cls, value):
        raise ValueError("count rejected")
"""


def test_after_validators_are_skipped_and_noted_never_a_false_error(project: Project) -> None:
    folder = project.server("rejects", ALWAYS_REJECTS)
    static, imported = project.both(folder)
    notes = [str(n) for n in static.unchecked]
    assert len(notes) == 2 and not static.complete
    assert notes[0].endswith(
        "rejects/task_data.py:10: TaskData: @model_validator(mode='after') check is not run "
        "(the rules it enforces are not checked)"
    )
    assert ":15: TaskData: @field_validator positive on count is not run" in notes[1]
    row = {"label": "x", "count": 1}
    assert static.validate_row(row) == []
    assert [i.code for i in imported.validate_row(row)] == ["task_data.invalid"]  # the real validator runs
    # What the schema itself says is still checked.
    assert [i.field for i in static.validate_row({"count": "many"})] == ["label", "count"]
    assert static.json_schema() == imported.json_schema()
    problem = static.unchecked[0].problem()
    assert (problem.code, problem.location.line) == ("task_data.unchecked", 10)
    assert problem.render().endswith(
        "[task_data.unchecked]\n    hint: the static level does not run a repository's "
        "code; the server level (which imports task_data.py) checks this part"
    )


def test_a_before_validator_makes_its_field_accept_anything(project: Project) -> None:
    folder = project.server(
        "coerces",
        """
from typing import List
from pydantic import BaseModel, field_validator


class TaskData(BaseModel):
    answers: List[str]
    other: int = 0

    @field_validator("answers", mode="before")
    @classmethod
    def wrap(cls, value):
        return value if isinstance(value, list) else [value]
""",
    )
    static, imported = project.both(folder)
    row = {"answers": "single"}
    assert imported.validate_row(row) == [] and static.validate_row(row) == []
    assert [i.field for i in static.validate_row({"other": "x"})] == ["answers", "other"]  # still required
    assert any("answers accept(s) any value" in str(n) for n in static.unchecked)


def test_a_before_model_validator_makes_the_model_loose(project: Project) -> None:
    folder = project.server(
        "nests",
        """
from pydantic import BaseModel, ConfigDict, model_validator


class TaskData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str

    @model_validator(mode="before")
    @classmethod
    def from_legacy(cls, data):
        if "q" in data:
            data = {"question": data.pop("q"), **data}
        return data


class Child(TaskData):
    level: int = 0
""",
    )
    static, imported = project.both(folder)
    row = {"q": "what?"}
    assert imported.validate_row(row) == []
    assert static.validate_row(row) == []  # no "question is missing", no "unknown key q"
    assert static.loose_models == frozenset({static.adapter._type})  # type: ignore[attr-defined]
    assert any("read loosely" in str(n) for n in static.unchecked)


def test_calls_functions_and_conditionals_are_noted_not_run(project: Project) -> None:
    folder = project.server(
        "dynamic",
        """
import os
from typing import Optional
from pydantic import BaseModel, ConfigDict, Field


def make_default():
    return "x"


LIMIT = int(os.environ.get("LIMIT", "3"))
if os.environ.get("STRICT"):
    Extra = str
else:
    Extra = int


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    a: str = Field(default_factory=make_default)
    b: int = Field(default=0, le=LIMIT)
    c: Optional[Extra] = None
    d: int
""",
    )
    schema = load_task_schema(folder)
    assert schema is not None
    notes = "\n".join(str(n) for n in schema.unchecked)
    assert "dynamic/task_data.py:10: LIMIT = ... is not evaluated" in notes
    assert ":11: `if os.environ.get('STRICT'):` is not run; Extra read as Any" in notes
    assert "field a: default_factory not evaluated" in notes
    assert "field b: le= not evaluated" in notes
    assert "field c: type not evaluated" in notes
    # Nothing unknown causes an error; what is known still does.
    assert schema.validate_row({"a": 5, "b": 100, "c": [1], "d": 1}) == []
    assert [i.field for i in schema.validate_row({"d": "x"})] == ["d"]


def test_exporting_something_unreadable_checks_nothing_rather_than_guessing(project: Project) -> None:
    folder = project.server(
        "opaque",
        "from pydantic import BaseModel\nfrom resources_servers.helpers.util import build\n\n\nTaskData = build()\n",
    )
    schema = load_task_schema(folder)
    assert schema is not None
    assert schema.validate_row({"anything": [1, 2]}) == []
    assert any("TaskData is not read statically" in str(n) for n in schema.unchecked)


MARKER_SOURCES = {
    "module_call": "open({marker!r}, 'w').write('ran')\n",
    "dunder_import": "__import__('os').system('touch {marker}')\n",
    "default": "class TaskData(BaseModel):\n    a: str = open({marker!r}, 'w').name\n",
    "default_factory": "class TaskData(BaseModel):\n    a: str = Field(default_factory=lambda: open({marker!r}, 'w').name)\n",
    "annotation_string": "class TaskData(BaseModel):\n    a: \"__import__('os').system('touch {marker}')\" = 1\n",
    "alias_string": "X = \"__import__('os').system('touch {marker}')\"\n\n\nclass TaskData(BaseModel):\n    a: X = 1\n",
    "future_annotation": (
        "class TaskData(BaseModel):\n    a: Optional[__import__('os').system('touch {marker}')] = None\n"
    ),
    "field_argument": "class TaskData(BaseModel):\n    a: int = Field(1, json_schema_extra=__import__('os').system('touch {marker}'))\n",
    "decorator": "def deco(c):\n    open({marker!r}, 'w')\n    return c\n\n\n@deco\nclass TaskData(BaseModel):\n    a: int = 1\n",
    "class_body": "class TaskData(BaseModel):\n    open({marker!r}, 'w')\n    a: int = 1\n",
    "validator": (
        "class TaskData(BaseModel):\n    a: int = 1\n\n    @field_validator('a', mode='before')\n    @classmethod\n"
        "    def v(cls, value):\n        open({marker!r}, 'w')\n        return value\n"
    ),
    "metaclass_keyword": "class TaskData(BaseModel, extra=open({marker!r}, 'w').name):\n    a: int = 1\n",
    "base_class": "class TaskData(type(open({marker!r}, 'w'))):\n    a: int = 1\n",
    "subscript": "class TaskData(BaseModel):\n    a: List[open({marker!r}, 'w')] = []\n",
    "config": "class TaskData(BaseModel):\n    model_config = ConfigDict(title=open({marker!r}, 'w').name)\n    a: int = 1\n",
}


@pytest.mark.parametrize("kind", sorted(MARKER_SOURCES))
def test_code_in_task_data_never_runs(project: Project, tmp_path: Path, kind: str) -> None:
    marker = tmp_path / f"ran_{kind}"
    prefix = "from __future__ import annotations\n" if kind == "future_annotation" else ""
    header = (
        "from typing import List, Optional\nfrom pydantic import BaseModel, ConfigDict, Field, field_validator\n\n\n"
    )
    source = prefix + header + MARKER_SOURCES[kind].format(marker=str(marker))
    if "class TaskData" not in source:
        source += "\n\nclass TaskData(BaseModel):\n    a: int = 1\n"
    folder = project.server(f"evil_{kind}", source)
    schema = load_task_schema(folder)  # loads (0.7.0's import loads it too), with the code noted, not run
    assert not marker.exists(), f"static reading ran code ({kind})"
    assert schema is not None and schema.unchecked, "what was not run must be noted"
    assert schema.validate_row({"a": 1}) == []
    schema.validate_row({})  # defaults (and factories) come into play
    schema.json_schema()
    assert not marker.exists()
    # The same file imported does run it: the marker test can fail.
    if kind not in ("annotation_string", "alias_string", "future_annotation", "validator", "subscript"):
        try:
            imported = load_task_schema(folder, execute=True)
            assert imported is not None
            imported.validate_row({})
        except TaskSchemaError:
            pass
        assert marker.exists(), f"execute=True should have run the code ({kind})"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("from pydantic import BaseModel\n\n\nclass Other(BaseModel):\n    a: int\n", "does not export `TaskData`"),
        ("from pydantic import BaseModel\n\nclass TaskData(BaseModel)\n    a: int\n", "SyntaxError"),
        ("from pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n    a: Missing\n", "NameError"),
        ("from .sibling import Base\n\n\nTaskData = Base\n", "relative import"),
        ("TaskData = 5\n", "not TypeAdapter-compatible"),
        (
            "from typing import Union\nfrom pydantic import BaseModel, Field\nfrom typing import Annotated\n\n\n"
            "class A(BaseModel):\n    kind: str\n\n\n"
            "TaskData = Annotated[Union[A, A], Field(discriminator='kind')]\n",
            "not TypeAdapter-compatible",
        ),
    ],
)
def test_a_broken_task_data_is_a_schema_error_as_in_nemo_gym(project: Project, source: str, message: str) -> None:
    folder = project.server("broken", source)
    with pytest.raises(TaskSchemaError, match=message) as static:
        load_task_schema(folder)
    assert static.value.code == "task_data.schema"
    assert static.value.location.path == str(folder.resolve() / "task_data.py") or static.value.location.path
    with pytest.raises(TaskSchemaError):
        load_task_schema(folder, execute=True)


def test_serializers_and_computed_fields_change_nothing_that_is_validated(project: Project) -> None:
    folder = project.server(
        "outputs",
        """
from pydantic import BaseModel, computed_field, field_serializer


class TaskData(BaseModel):
    answer: str

    @computed_field
    @property
    def length(self) -> int:
        return len(self.answer)

    @field_serializer("answer")
    def upper(self, value):
        return value.upper()

    def helper(self):
        return open("never")
""",
    )
    schema = project.agree(folder, [{"answer": "a"}, {"answer": 1}])
    assert schema.complete  # output-only code and plain methods leave nothing unchecked
