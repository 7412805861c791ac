"""Create a new resources-server folder, all or nothing: build it in a temporary sibling, then rename it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import keyword
import os
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gym_conform.agent import ReplayModel, rollout_line, run_rollout, write_rollouts
from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, load_config
from gym_conform.core.config.schema import Domain, ServerInstance, parse_server_instances
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics
from gym_conform.core.metrics.document import dumps_metrics, metrics_document
from gym_conform.core.responses import make_response, message_item
from gym_conform.core.rows import check_row
from gym_conform.errors import GymConformError, Location
from gym_conform.scaffold import templates
from gym_conform.server import ServerClient, load_server_folder

RESOURCES_SERVERS_DIR = "resources_servers"
NAME_RULE = (
    "a resources server name must be a lowercase Python identifier: a letter a-z first, then letters a-z, "
    "digits or '_', and not a Python keyword"
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_STAGING_SUFFIX = ".scaffold-tmp"


class ScaffoldError(GymConformError):
    """The folder cannot be scaffolded: a bad name or entrypoint, or the folder already exists (`scaffold.*`)."""

    code = "scaffold.failed"


@dataclass(frozen=True)
class ScaffoldResult:
    """A scaffolded folder and the files written into it (relative paths, sorted)."""

    folder: Path
    files: list[str]


def suggest_name(text: str) -> str:
    """Return a valid name close to `text` (e.g. "My-Env" -> "my_env")."""
    name = re.sub(r"[^a-z0-9_]+", "_", text.strip().lower())
    name = re.sub(r"_+", "_", name).strip("_")
    name = name.lstrip("0123456789_")
    if not name:
        return "my_env"
    return f"{name}_env" if keyword.iskeyword(name) else name


def check_name(name: str) -> None:
    """Raise ScaffoldError (code `scaffold.name`) stating the rule when `name` is not a valid server name."""
    if _NAME.match(name) and name.isidentifier() and not keyword.iskeyword(name):
        return
    raise ScaffoldError(
        f"'{name}' is not a valid name: {NAME_RULE}",
        code="scaffold.name",
        location=Location(field="entrypoint"),
        hint=f"use +entrypoint={RESOURCES_SERVERS_DIR}/{suggest_name(name)}",
    )


def class_prefix(name: str) -> str:
    """Return the class-name prefix for a server name, NeMo Gym's way (my_weather_tool -> MyWeatherTool)."""
    return "".join(part.capitalize() for part in name.split("_") if part)


def folder_from_entrypoint(entrypoint: str) -> Path:
    """Return the folder an `entrypoint` names; it must end in `resources_servers/NAME` with a valid NAME."""
    path = Path(entrypoint.strip())
    if path.name == "" or path.parent.name != RESOURCES_SERVERS_DIR:
        raise ScaffoldError(
            f"entrypoint '{entrypoint}' does not name a folder {RESOURCES_SERVERS_DIR}/NAME",
            code="scaffold.entrypoint",
            location=Location(field="entrypoint"),
            hint=f"give the new folder's path from the repository root: +entrypoint={RESOURCES_SERVERS_DIR}/"
            f"{suggest_name(path.name or 'my_env')}",
        )
    check_name(path.name)
    return path


def scaffold_resources_server(folder: str | os.PathLike[str], *, domain: Domain | str = Domain.OTHER) -> ScaffoldResult:
    """Create `folder` (`.../resources_servers/NAME`) with a working example environment, or nothing at all.

    Runs the example rows through the generated server in process (metrics and rollouts are computed, not
    copied), so it must not be called from inside a running event loop.
    """
    target = Path(folder).absolute()
    check_name(target.name)
    domain = _domain(domain)
    if os.path.lexists(target):
        raise _exists(target)
    created: list[Path] = []
    staging_root: Path | None = None
    try:
        created = _make_missing_dirs(target.parent)
        staging_root = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=_STAGING_SUFFIX, dir=target.parent))
        # The staged folder already has its final name: the loader finds the server block by folder name.
        staged = staging_root / target.name
        files = _build(staged, domain)
        if os.path.lexists(target):
            raise _exists(target)
        os.rename(staged, target)
    except BaseException:
        if staging_root is not None:
            shutil.rmtree(staging_root, ignore_errors=True)
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    staging_root.rmdir()
    return ScaffoldResult(target, files)


def _domain(value: Domain | str) -> Domain:
    try:
        return Domain(value)
    except ValueError:
        raise ScaffoldError(
            f"'{value}' is not a valid domain",
            code="scaffold.domain",
            location=Location(field="domain"),
            hint="use one of: " + templates.domain_list(),
        ) from None


def _exists(target: Path) -> ScaffoldError:
    return ScaffoldError(
        f"Folder already exists: {target}. Nothing was written.",
        code="scaffold.exists",
        hint="pick another name, or delete that folder first if it is yours to replace",
    )


def _make_missing_dirs(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents; return the ones created, outermost first."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _build(staged: Path, domain: Domain) -> list[str]:
    """Write every file of the new folder under `staged`; return their relative paths."""
    name = staged.name
    values = {
        "NAME": name,
        "CLASS": class_prefix(name),
        "DOMAIN": domain.value,
        "DOMAINS": _wrapped(templates.domain_list()),
    }
    texts = {
        "__init__.py": templates.PACKAGE_INIT,
        "app.py": templates.APP,
        "task_data.py": templates.TASK_DATA,
        f"configs/{name}.yaml": templates.CONFIG,
        "README.md": templates.README,
        "data/.gitignore": templates.DATA_GITIGNORE,
        "tests/__init__.py": templates.TESTS_INIT,
        "tests/test_app.py": templates.TEST_APP,
    }
    for relative, template in texts.items():
        _write(staged / relative, templates.render(template, **values))
    rows = _example_rows()
    _write(staged / "data/example.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    _write(staged / "tests/verifier_cases.jsonl", "".join(_dumps_case(c) + "\n" for c in _verifier_cases()))
    agent, dataset = _example_dataset(staged)
    _write(staged / "data/example_metrics.json", _example_metrics(rows, dataset))
    write_rollouts(staged / "data/example_rollouts.jsonl", _reference_rollouts(staged, rows, agent))
    return sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())


def _wrapped(domains: str) -> str:
    """Wrap the domain list into YAML comment lines under the config's `domain:` key."""
    return textwrap.fill(domains, width=100, subsequent_indent="      # ")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def _example_rows() -> list[dict]:
    """Return the 5 example rows: a system and a user message, the expected answer, and an id."""
    return [
        {
            "id": index,
            "responses_create_params": {
                "input": [
                    {"role": "system", "content": templates.SYSTEM_PROMPT},
                    {"role": "user", "content": question},
                ]
            },
            "expected_answer": answer,
        }
        for index, (question, answer, _, _) in enumerate(templates.EXAMPLE_TASKS)
    ]


def _verifier_cases() -> list[dict]:
    """Return NeMo Gym verifier cases (name, kind, request, expected_reward | expected_error)."""
    cases = []
    for index, (name, kind, question, answer, reply) in enumerate(templates.VERIFIER_CASES):
        request: dict = {"responses_create_params": {"input": question}, "expected_answer": answer}
        if reply is not None:
            request["response"] = _fixed_response(reply, f"case_{index}")
        outcome = {"expected_error": "response"} if kind == "malformed" else {"expected_reward": _EXPECTED[kind]}
        cases.append({"name": name, "kind": kind, "request": request, **outcome})
    return cases


_EXPECTED = {"full_reward": 1.0, "zero_reward": 0.0}


def _fixed_response(text: str, tag: str) -> dict:
    """Return a one-message response with fixed ids and time, so a scaffold is the same on every run."""
    response = make_response([message_item(text, id=f"msg_{tag}")], id=f"resp_{tag}", created_at=0.0, model="reference")
    return response.model_dump(mode="json", exclude_none=True)


def _dumps_case(case: dict) -> str:
    # NeMo Gym's own writer sorts keys; files it rewrites then stay byte-identical.
    return json.dumps(case, sort_keys=True)


def _example_dataset(staged: Path) -> tuple[ServerInstance, Any]:
    """Return the agent instance of the generated config and its example dataset entry, as validated."""
    cfg = load_config({"config_paths": [str(staged / "configs" / f"{staged.name}.yaml")]}, initial=NO_MODEL_DEFAULTS)
    return next(
        (instance, dataset)
        for instance in parse_server_instances(cfg)
        for dataset in instance.datasets
        if dataset.type == "example"
    )


def _example_metrics(rows: list[dict], dataset: Any) -> str:
    """Return data/example_metrics.json as ng_prepare_data writes it: the dataset entry, then the row metrics."""
    metrics = DatasetMetrics()
    for index, row in enumerate(rows):
        issues = check_row(row)
        if issues:
            raise ScaffoldError(
                f"generated example row {index + 1} is invalid: {issues[0].message}",
                code="scaffold.internal",
                hint="this is a bug in ng_init_resources_server; please report it",
            )
        metrics.observe_row(row, dataset.num_repeats)
    return dumps_metrics(metrics_document(dataset.metrics_fields(), metrics))


def _reference_rollouts(staged: Path, rows: list[dict], agent: ServerInstance) -> list[dict]:
    """Run each row's reference reply through the agent loop against the generated server, in process."""
    ref = {"type": agent.server_type, "name": agent.name}
    with _imports_restored(staged):
        server = load_server_folder(staged).server

        async def collect() -> list[dict]:
            lines = []
            async with ServerClient.in_process(server) as client:
                for index, (row, task) in enumerate(zip(rows, templates.EXAMPLE_TASKS, strict=True)):
                    reply, wanted = task[2], task[3]
                    model = ReplayModel(
                        [message_item(reply, id=f"msg_reference_{index}")],
                        envelope={"id": f"resp_reference_{index}", "created_at": 0.0, "model": "reference"},
                    )
                    result = await run_rollout(row, client.rollout(), model, session_key=f"reference-{index}")
                    if result.reward != wanted:
                        raise ScaffoldError(
                            f"the generated server scored example row {index} {result.reward}, expected {wanted}",
                            code="scaffold.internal",
                            hint="this is a bug in ng_init_resources_server; please report it",
                        )
                    lines.append(rollout_line(result.verify_response, task_index=index, rollout_index=0, agent_ref=ref))
            return lines

        return asyncio.run(collect())


@contextlib.contextmanager
def _imports_restored(staged: Path) -> Iterator[None]:
    """Undo the sys.path entries and modules that loading the staged (soon renamed) folder adds."""
    saved_path = list(sys.path)
    before = set(sys.modules)
    try:
        yield
    finally:
        sys.path[:] = saved_path
        root = str(staged.parent)
        for module_name in set(sys.modules) - before:
            module = sys.modules[module_name]
            where = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
            if any(str(entry).startswith(root) for entry in where):
                del sys.modules[module_name]
