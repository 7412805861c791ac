"""The static reading of task_data.py: each construct of the subset gives what importing the file gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_conform.core.task_data import TaskSchemaError, load_task_schema

from .conftest import Project

HEADER = """
from typing import Annotated, Any, Dict, List, Literal, Optional, TypeAlias, Union

from pydantic import BaseModel, ConfigDict, Field
"""


def test_no_task_data_file_gives_none(tmp_path: Path) -> None:
    assert load_task_schema(tmp_path) is None
    assert load_task_schema(tmp_path, execute=True) is None


def test_every_annotation_form_reads_as_the_import_does(project: Project) -> None:
    folder = project.server(
        "kinds",
        HEADER
        + '''
LEVELS = ("easy", "hard")
Choice = Literal["a", "b"]
Grid: TypeAlias = List[List[int]]


class Inner(BaseModel):
    """A nested model: its docstring becomes the JSON Schema description."""

    model_config = ConfigDict(extra="forbid")
    name: str
    weight: float = 1.0


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    count: int = Field(default=0, ge=0, le=10, description="how many")
    ratio: float | None = None
    flag: bool = False
    tags: list[str] = Field(default_factory=list)
    table: dict[str, int] = Field(default_factory=dict)
    legacy_list: List[str] = []
    legacy_dict: Dict[str, Any] = {}
    maybe: Optional[int] = None
    either: Union[int, str] = 0
    anything: Any = None
    choice: Choice = "a"
    level: Literal[LEVELS] = "easy"
    grid: Grid = Field(default_factory=lambda: [[0]])
    bounded: Annotated[int, Field(ge=1)] = 1
    inner: Optional[Inner] = None
    inners: List[Inner] = Field(default_factory=list, min_length=0)
    code: str = Field(default="x", pattern="^[a-z]+$", json_schema_extra={"consumed_by": ["verify"]})
    gen_config: Optional[dict] = Field(default=None, alias="_gen_config")
    negative: int = -1
''',
    )
    good = {"text": "t", "count": 3, "inner": {"name": "n"}, "inners": [{"name": "m", "weight": 2}], "_gen_config": {}}
    bad = {
        "count": 11,
        "ratio": "x",
        "flag": "maybe",
        "tags": "a",
        "choice": "c",
        "level": "medium",
        "grid": [["a"]],
        "bounded": 0,
        "inner": {"name": "n", "typo": 1},
        "code": "UPPER",
        "extra_key": 1,
    }
    schema = project.agree(folder, [good, bad, {}, {"text": "t", "either": [1]}])
    assert schema.complete and schema.unchecked == ()
    assert schema.validate_row(good) == []
    fields = {issue.field for issue in schema.validate_row(bad)}
    assert {"text", "count", "ratio", "flag", "tags", "choice", "level", "grid[0][0]", "bounded"} <= fields
    assert {"inner.typo", "code"} <= fields


def test_subclasses_and_imports_from_another_servers_task_data(project: Project) -> None:
    project.server(
        "base_server",
        HEADER
        + """
class Core(BaseModel):
    model_config = ConfigDict(extra="allow")
    expected_answer: str = Field(description="gold")


class TaskData(Core):
    uuid: Optional[str] = None
""",
    )
    folder = project.server(
        "child",
        HEADER
        + """
from resources_servers.base_server.task_data import Core
from resources_servers.base_server.task_data import TaskData as BaseTaskData


class Middle(BaseTaskData):
    expected_answer: int = 0  # overridden: keeps its place among the fields


class TaskData(Middle):
    judge: Literal["strict", "lenient"] = "strict"
    core: Optional[Core] = None
""",
    )
    schema = project.agree(folder, [{}, {"expected_answer": "x"}, {"judge": "other", "core": {}}, {"uuid": 3}])
    assert list(schema.json_schema()["properties"]) == ["expected_answer", "uuid", "judge", "core"]
    assert schema.validate_row({"expected_answer": 2, "judge": "lenient"}) == []


def test_imports_resolve_under_the_given_roots_as_well(project: Project, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    (other / "resources_servers" / "shared").mkdir(parents=True)
    (other / "resources_servers" / "shared" / "task_data.py").write_text(
        "from pydantic import BaseModel\n\n\nclass Shared(BaseModel):\n    x: int\n"
    )
    folder = project.server(
        "user",
        "from resources_servers.shared.task_data import Shared\n\n\nclass TaskData(Shared):\n    y: int = 0\n",
    )
    schema = load_task_schema(folder, roots=[other])
    assert schema is not None and schema.complete
    assert [i.field for i in schema.validate_row({"x": "nope"})] == ["x"]


def test_an_import_that_cannot_be_found_is_noted_not_guessed(project: Project) -> None:
    folder = project.server(
        "lonely",
        "from resources_servers.missing.task_data import Base\nfrom pydantic import BaseModel\n\n"
        "class TaskData(BaseModel):\n    base: Base\n    n: int\n",
    )
    schema = load_task_schema(folder)
    assert schema is not None
    assert any("resources_servers.missing.task_data is not found" in str(n) for n in schema.unchecked)
    assert any("field base: type not evaluated" in str(n) for n in schema.unchecked)
    # `base` accepts anything (its type is unknown) but stays required, like the real field.
    assert [i.field for i in schema.validate_row({"base": object(), "n": "x"})] == ["n"]
    assert [i.field for i in schema.validate_row({"n": 1})] == ["base"]


def test_forward_references_and_future_annotations(project: Project) -> None:
    folder = project.server(
        "forward",
        """
from __future__ import annotations

from typing import List, Optional

from pydantic import BaseModel, ConfigDict


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    tree: Optional[Node] = None
    pair: Optional["Pair"] = None


class Node(BaseModel):
    value: int
    children: List[Node] = []


class Pair(BaseModel):
    left: Optional[Partner] = None


class Partner(BaseModel):
    back: Optional[Pair] = None
    label: str = ""
""",
    )
    rows = [
        {"tree": {"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]}},
        {"pair": {"left": {"back": {"left": {"label": 3}}}}},
        {"tree": {"value": 1}, "pair": {}},
    ]
    schema = project.agree(folder, rows)
    assert schema.complete
    assert [i.field for i in schema.validate_row(rows[0])] == ["tree.children[0].children[0].value"]
    assert [i.field for i in schema.validate_row(rows[1])] == ["pair.left.back.left.label"]


def test_a_quoted_forward_reference_without_future_import(project: Project) -> None:
    folder = project.server(
        "quoted",
        "from typing import Optional\nfrom pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n"
        '    child: Optional["Child"] = None\n\n\nclass Child(BaseModel):\n    n: int\n',
    )
    project.agree(folder, [{"child": {"n": "x"}}, {"child": None}])


def test_an_unquoted_name_defined_later_fails_as_the_import_does(project: Project) -> None:
    folder = project.server(
        "later",
        "from pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n    child: Child\n\n\n"
        "class Child(BaseModel):\n    n: int\n",
    )
    with pytest.raises(TaskSchemaError, match="NameError: name 'Child' is not defined") as static:
        load_task_schema(folder)
    assert static.value.location.line == 5  # the annotation `child: Child`
    with pytest.raises(TaskSchemaError, match="Child"):
        load_task_schema(folder, execute=True)


def test_import_cycle_works_when_python_would_and_fails_when_python_would(project: Project) -> None:
    # The server's own module is `nemo_gym_task_data.<name>`; the other's is `resources_servers.<name>.task_data`,
    # so a cycle re-enters a fresh copy of the first module, exactly as the import system does.
    alpha = project.server(
        "alpha",
        """
from pydantic import BaseModel


class AlphaCore(BaseModel):
    a: int = 0


from resources_servers.beta.task_data import BetaCore  # noqa: E402


class TaskData(BetaCore):
    pass
""",
    )
    beta = project.server(
        "beta",
        """
from resources_servers.alpha.task_data import AlphaCore


class BetaCore(AlphaCore):
    b: int = 0


TaskData = BetaCore
""",
    )
    # alpha -> beta -> alpha (fresh) -> beta (partial, BetaCore not yet bound): ImportError, both ways.
    with pytest.raises(TaskSchemaError, match="partially initialized module 'resources_servers.beta") as static:
        load_task_schema(alpha, roots=[project.root])
    assert "circular import" in static.value.message
    assert static.value.location.line == 8
    with pytest.raises(TaskSchemaError, match="partially initialized module 'resources_servers.beta"):
        load_task_schema(alpha, roots=[project.root], execute=True)
    # beta -> alpha -> beta (fresh) -> alpha (partial, AlphaCore already bound): fine.
    beta_schema = project.agree(beta, [{"a": "x", "b": "y"}])
    assert [i.field for i in beta_schema.validate_row({"a": "x", "b": "y"})] == ["a", "b"]


def test_module_constants_and_dict_unpacking_in_field_arguments(project: Project) -> None:
    folder = project.server(
        "consts",
        HEADER
        + """
_VM = {"legacy_location": "verifier_metadata"}
DEFAULT_MODE = "strict"
LIMIT = 5


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    rubric: Optional[List[Dict[str, Any]]] = Field(default=None, json_schema_extra={"consumed_by": ["verify"], **_VM})
    mode: str = Field(default=DEFAULT_MODE, max_length=LIMIT)
""",
    )
    schema = project.agree(folder, [{"rubric": [1]}, {"mode": "toolong"}, {"verifier_metadata": {"rubric": []}}])
    assert schema.legacy_fields == frozenset({"rubric"})
    assert schema.json_schema()["properties"]["mode"]["default"] == "strict"


def test_a_model_as_default_factory_and_a_dict_config(project: Project) -> None:
    folder = project.server(
        "factory",
        HEADER
        + """
class Customer(BaseModel):
    model_config = {"extra": "allow"}
    name: str = "anon"


class TaskData(BaseModel):
    model_config = ConfigDict(extra="allow")
    customer: Customer = Field(default_factory=Customer)
""",
    )
    project.agree(folder, [{}, {"customer": {"name": 1}}, {"customer": {"x": 1}}])


@pytest.mark.parametrize(
    ("extra", "bucket"),
    [("forbid", "invalid_row"), ("allow", "unknown_key"), ("ignore", None)],
)
def test_extra_forbid_allow_and_ignore(project: Project, extra: str, bucket: str | None) -> None:
    folder = project.server(
        f"extra_{extra}",
        f"from pydantic import BaseModel, ConfigDict\n\n\nclass TaskData(BaseModel):\n"
        f'    model_config = ConfigDict(extra="{extra}")\n    answer: str\n',
    )
    schema = project.agree(folder, [{"answer": "a", "answr": "typo"}])
    issues = schema.validate_row({"answer": "a", "answr": "typo", "responses_create_params": {}})
    if bucket is None:
        assert issues == []
        return
    (issue,) = issues
    assert (issue.code, issue.field, issue.bucket, issue.key) == ("task_data.unknown_key", "answr", bucket, "answr")
    if extra == "allow":
        assert issue.hint == 'did you mean "answer"?'


@pytest.mark.filterwarnings("ignore:Support for class-based `config` is deprecated")
def test_a_class_keyword_config_and_a_nested_config_class(project: Project) -> None:
    folder = project.server(
        "kwconfig",
        "from pydantic import BaseModel\n\n\nclass Strict(BaseModel, extra='forbid'):\n    a: int = 0\n\n\n"
        "class TaskData(Strict):\n    class Config:\n        str_strip_whitespace = True\n\n    b: str = ''\n",
    )
    schema = project.agree(folder, [{"a": 1, "zzz": 2}, {"b": "  x  "}])
    assert [i.bucket for i in schema.validate_row({"zzz": 2})] == ["invalid_row"]


def test_a_discriminated_union_alias(project: Project) -> None:
    folder = project.server(
        "union",
        HEADER
        + """
class Base(BaseModel):
    model_config = ConfigDict(extra="allow")
    task: Optional[str] = None


class Strings(Base):
    eval_type: Literal["strings"] = "strings"
    expected_answer: List[str]


class Letter(Base):
    eval_type: Literal["letter"]
    expected_answer: str


TaskData = Annotated[Union[Strings, Letter], Field(discriminator="eval_type")]
""",
    )
    rows = [
        {"eval_type": "letter", "expected_answer": ["A"]},
        {"eval_type": "strings", "expected_answer": ["a"], "bonus": 1},
        {"eval_type": "other", "expected_answer": "A"},
        {"expected_answer": "A"},
    ]
    schema = project.agree(folder, rows)
    letter, strings, other, missing = (schema.validate_row(row) for row in rows)
    assert [(i.code, i.field) for i in letter] == [("task_data.invalid", "expected_answer")]
    assert [(i.bucket, i.field) for i in strings] == [("unknown_key", "bonus")]
    assert [i.field for i in other] == ["eval_type"] and "strings" in (other[0].hint or "")
    assert [i.field for i in missing] == ["eval_type"] and "eval_type" in (missing[0].hint or "")


def test_a_smart_union_reports_paths_without_member_names(project: Project) -> None:
    folder = project.server(
        "smart",
        HEADER
        + """
class A(BaseModel):
    a: int


class TaskData(BaseModel):
    value: Union[A, List[int], int] = 0
""",
    )
    schema = project.agree(folder, [{"value": {"a": "x"}}, {"value": ["x"]}])
    assert {i.field for i in schema.validate_row({"value": {"a": "x"}})} == {"value.a", "value"}
    assert "value[0]" in {i.field for i in schema.validate_row({"value": ["x"]})}


def test_agent_folders_are_read_the_same_way(project: Project) -> None:
    folder = project.server(
        "my_agent",
        "from pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n    instance_id: str\n",
        base="responses_api_agents",
    )
    schema = project.agree(folder, [{}, {"instance_id": 1}])
    assert schema.server == "my_agent"


def test_loads_are_cached_per_path_and_refreshed_when_the_file_changes(project: Project) -> None:
    folder = project.server("cached", "from pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n    a: int\n")
    first = load_task_schema(folder)
    assert first is not None and load_task_schema(folder) is first
    (folder / "task_data.py").write_text(
        "from pydantic import BaseModel\n\n\nclass TaskData(BaseModel):\n    a: int\n    b: str\n"
    )
    second = load_task_schema(folder)
    assert second is not None and second is not first
    assert [i.field for i in second.validate_row({"a": 1})] == ["b"]
