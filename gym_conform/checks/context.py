"""What the checks of one server folder share: settings, its configs, its example rows, and (server level) the server.

Expensive results are computed once per folder, failures included: a config that does not load fails every
check that reads it with the same located problems.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gym_conform.checks.base import CheckSkipped, Level
from gym_conform.checks.discovery import (
    RESOURCES_SERVER_TYPE,
    config_files,
    declares_resources_server,
    is_environment_folder,
    read_yaml,
)
from gym_conform.core.config.loader import NO_MODEL_DEFAULTS, LoadedConfig, load_config
from gym_conform.core.config.schema import (
    RESERVED_TOP_LEVEL_KEYS,
    ServerInstance,
    buildable_instances,
    parse_server_instances,
)
from gym_conform.core.config.schema_datasets import AnyDatasetConfig, validate_dataset
from gym_conform.core.files import file_kind
from gym_conform.core.jsonl import JsonLineError, iter_jsonl_lines, parse_json_line
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics, MixedExtraTypesError
from gym_conform.core.rows import check_row
from gym_conform.errors import ConfigError, GymConformError, Location, Problem, ProblemsFound

if TYPE_CHECKING:
    from gym_conform.agent.model import ModelClient
    from gym_conform.checks.rules import Waiver
    from gym_conform.live.model_setup import ModelSource
    from gym_conform.server.judge_standin import JudgeStandIn
    from gym_conform.server.loader import LoadedServer

AGENT_SERVER_TYPE = "responses_api_agents"
T = TypeVar("T")


def default_hypothesis_profile() -> str:
    """Return the Hypothesis profile for this machine: the CI one when `CI` is set, else the dev one."""
    return "gym-conform-ci" if os.environ.get("CI") else "gym-conform-dev"


@dataclass
class CheckSettings:
    """How checks run; the pytest plugin fills it from `--gym-*` options and `gym_*` ini keys."""

    level: Level = Level.SERVER
    update_metrics: bool = False
    hypothesis_profile: str = field(default_factory=default_hypothesis_profile)
    max_examples: int | None = None
    # The slowest verify() call the verify_budget check allows, in seconds (a 5 s verify fails it).
    verify_budget: float = 3.0
    model: ModelSource | ModelClient | None = None  # a source opens a client per run
    live_repeats: int = 1
    save_rollouts: Path | None = None
    live_concurrency: int = 32
    # Seconds one request to the server (or one call into its code) may take before it counts as a hang.
    request_timeout: float = 60.0
    # Where the server checks run: "in-process" (this process) or "child" (the isolation worker sets it).
    server_mode: str = "in-process"
    # How the server is reached: "import" (built where the checks run), "process" (started in a Python of its
    # own, over HTTP), or "auto" (process for a NeMo Gym server that has its own .venv, else import).
    server_launch: str = "import"
    # The Python process mode starts servers with (None: the folder's .venv, else this one).
    server_python: str | None = None
    # Seconds a server started in its own process may take to answer.
    startup_timeout: float = 30.0
    # Base URL of an already running server to check (--gym-server-url); None: the checks serve the folder's app.
    server_url: str | None = None
    # Answer a NeMo Gym server's judge model with the scripted stand-in (server/judge_standin.py) over loopback.
    judge_standin: bool = False
    strict: bool = False
    update_expected: bool = False
    waivers: list[Waiver] = field(default_factory=list)


@dataclass(frozen=True)
class DatasetEntry:
    """One `datasets:` entry of an agent block, validated on its own so that one bad entry hides no other."""

    config_file: Path
    agent: str
    key_path: tuple
    location: Location
    raw: Any
    model: AnyDatasetConfig | None

    @property
    def type(self) -> str | None:
        """Return the entry's `type` as written (None when absent or the entry is not a mapping)."""
        return self.raw.get("type") if isinstance(self.raw, dict) else None

    @property
    def jsonl_fpath(self) -> str | None:
        """Return the entry's `jsonl_fpath` as written (None when absent)."""
        value = self.raw.get("jsonl_fpath") if isinstance(self.raw, dict) else None
        return str(value) if value is not None else None


@dataclass
class JsonlScan:
    """A dataset file read as NeMo Gym's CI counts it, with every valid row and every problem found."""

    path: Path
    exists: bool
    line_count: int = 0
    blank_lines: list[int] = field(default_factory=list)
    rows: list[tuple[int, dict]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def count_lines(path: Path) -> tuple[int, list[int]]:
    """Return the number of lines as NeMo Gym's CI counts them (a final newline ends a line) and the blank ones."""
    lines = Path(path).read_bytes().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return len(lines), [number for number, line in enumerate(lines, start=1) if not line.strip()]


def scan_rows(path: Path, shown: str, *, requests: bool = True) -> JsonlScan:
    """Validate every row of a dataset file as `ng_prepare_data` does; list every bad line, not only the first.

    With `requests=False` (a taskset's source rows, which the environment server materializes into requests)
    each line need only be a JSON object.
    """
    if not path.is_file():
        return JsonlScan(path, exists=False)
    line_count, blank_lines = count_lines(path)
    scan = JsonlScan(path, exists=True, line_count=line_count, blank_lines=blank_lines)
    # Metrics are observed only to catch fields that mix numbers and strings, which ng_prepare_data rejects.
    metrics = DatasetMetrics()
    for line, text in iter_jsonl_lines(path):
        try:
            row = parse_json_line(text)
        except JsonLineError as error:
            scan.problems += error.at(shown, line).problems
            continue
        if not requests:
            if not isinstance(row, dict):
                scan.problems.append(
                    Problem(
                        "row.not_object",
                        "each row must be a JSON object",
                        Location(shown, line),
                        "write one JSON object per line",
                    )
                )
            else:
                scan.rows.append((line, row))
            continue
        issues = check_row(row)
        if issues:
            scan.problems += [
                Problem(i.code, i.message, Location(shown, line, i.field or None), i.hint) for i in issues
            ]
            continue
        try:
            metrics.observe_row(row)
        except MixedExtraTypesError as error:
            scan.problems += error.located(shown, line).problems
            continue
        scan.rows.append((line, row))
    return scan


class FolderContext:
    """One resources-server folder as its checks see it; one instance is shared by all checks of the folder."""

    def __init__(
        self,
        folder: Path,
        settings: CheckSettings | None = None,
        *,
        root: Path | None = None,
        display: str | None = None,
    ) -> None:
        self.folder = Path(folder).resolve()
        self.root = Path(root if root is not None else Path.cwd()).resolve()
        self.settings = settings or CheckSettings()
        self.display = display or self.show(self.folder)
        self.notes: list[str] = []
        self._cache: dict[Any, tuple[bool, Any]] = {}
        self._cleanups: list[Callable[[], object]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._needs: dict[Path, list[Problem]] = {}
        # The scripted judge model a NeMo Gym server's judge resolves to (--gym-judge-standin), once started.
        self.judge_standin: JudgeStandIn | None = None

    def __repr__(self) -> str:
        return f"FolderContext({self.display!r}, level={self.settings.level.label})"

    def show(self, path: Path) -> str:
        """Return `path` as messages show it: relative to the root directory when below it, else absolute."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def outside_repository(self, path: Path) -> Problem | None:
        """At static level, the problem for a file leading (by a symlink or `..`) out of the root, else None.

        A static check of an untrusted change reads only the repository's own files: a symlink to
        `/proc/self/environ` or `~/.ssh` is refused before it is opened, and its target's content never shown.
        """
        if self.settings.level > Level.STATIC:
            return None
        try:
            real = Path(path).resolve()
        except (OSError, RuntimeError):
            real = None
        if real is not None and (real == self.root or self.root in real.parents):
            return None
        written = os.path.relpath(os.path.abspath(path), self.root)
        return Problem(
            "file.outside_repository",
            f"{written} leads outside the repository (to {real or 'a symlink loop'}); at --gym-level static "
            "it is not read",
            Location(written),
            "commit the file itself instead of a symlink (or a path with ..) that points out of the repository",
        )

    def refused_read(self, path: Path) -> Problem | None:
        """Return why `path` is not read, else None: it leads out of the repository (static level), or it is
        there but is no regular file (a FIFO would block, a device never end). The one guard of every read
        of a folder file; a missing file is None (each check says what a missing file means).
        """
        outside = self.outside_repository(path)
        if outside is not None or not os.path.lexists(path):
            return outside
        try:
            kind = file_kind(path)
        except OSError:
            kind = "dangling symlink" if Path(path).is_symlink() else None
        if kind is None:
            return None
        written = os.path.relpath(os.path.abspath(path), self.root)  # the path as committed, not its target
        return Problem(
            "file.not_regular",
            f"{written} is a {kind}, not a regular file; it was not read",
            Location(written),
            "commit a regular file at this path (a pipe, socket or device is never read: it could block or never end)",
        )

    def note(self, text: str) -> None:
        """Record something a passing check did (e.g. a rewritten file); reports list these notes."""
        self.notes.append(text)

    def _memo(self, key: Any, compute: Callable[[], T]) -> T:
        """Return `compute()`'s value, computed once; a GymConformError it raises is raised again each time."""
        if key not in self._cache:
            try:
                self._cache[key] = (True, compute())
            except GymConformError as error:
                self._cache[key] = (False, error)
        ok, value = self._cache[key]
        if ok:
            return value
        raise value

    # Paths ----------------------------------------------------------------------------------------------------

    @property
    def project_root(self) -> Path:
        """Return the directory NeMo Gym paths such as `resources_servers/<name>/data/...` are relative to."""
        return self.folder.parent.parent

    @property
    def read_roots(self) -> list[Path]:
        """Return where relative config and data paths are looked up: this folder's project, then the rootdir.

        Unlike NeMo Gym's search roots, the working directory and the install root are left out, so that a
        folder is never checked against another checkout's files.
        """
        return list(dict.fromkeys([self.project_root, self.root]))

    def resolve_data_path(self, jsonl_fpath: str) -> Path:
        """Return where a dataset path from a config points: the first read root holding it, else the first one."""
        path = Path(jsonl_fpath)
        if path.is_absolute():
            return path
        for base in self.read_roots:
            if (base / path).exists():
                return base / path
        return self.project_root / path

    def points_to(self, jsonl_fpath: str, target: Path) -> bool:
        """Return whether a dataset path from a config names `target` under any read root."""
        path = Path(jsonl_fpath)
        candidates = [path] if path.is_absolute() else [base / path for base in self.read_roots]
        return any(os.path.normpath(candidate) == os.path.normpath(target) for candidate in candidates)

    @property
    def data_dir(self) -> Path:
        """Return the folder's data/ directory."""
        return self.folder / "data"

    @property
    def example_path(self) -> Path:
        """Return data/example.jsonl, the fixed path NeMo Gym's CI reads the example rows from."""
        return self.data_dir / "example.jsonl"

    @property
    def metrics_path(self) -> Path:
        """Return data/example_metrics.json, the metrics sidecar of the example rows."""
        return self.data_dir / "example_metrics.json"

    @property
    def rollouts_path(self) -> Path:
        """Return data/example_rollouts.jsonl, the example rollouts."""
        return self.data_dir / "example_rollouts.jsonl"

    @property
    def readme_path(self) -> Path:
        """Return the folder's README.md."""
        return self.folder / "README.md"

    # Configs --------------------------------------------------------------------------------------------------

    @property
    def config_files(self) -> list[Path]:
        """Return the folder's configs (configs/*.yaml, or an environment's config*.yaml), sorted."""
        return config_files(self.folder)

    @property
    def is_environment(self) -> bool:
        """Return whether the folder is a 0.7.0 environment (server + agent + datasets), not a resources server."""
        return not (self.folder / "configs").is_dir() and is_environment_folder(self.folder)

    @property
    def primary_config_file(self) -> Path:
        """Return `configs/<folder name>.yaml`, else the only config, else the first declaring a resources server."""
        files = self.config_files
        if not files:
            raise ConfigError(
                "no config file: configs/*.yaml is empty or missing",
                code="config.no_file",
                location=Location(self.show(self.folder / "configs")),
                hint=f"add configs/{self.folder.name}.yaml declaring `<name>: {{resources_servers: "
                f"{{{self.folder.name}: {{entrypoint: app.py, domain: ...}}}}}}` and an agent that uses it",
            )
        named = [path for path in files if path.stem in (self.folder.name, "config")]
        if named:
            return named[0]
        if len(files) == 1:
            return files[0]
        return next((path for path in files if declares_resources_server(path)), files[0])

    def load_config_file(self, path: Path) -> LoadedConfig:
        """Load one config file as NeMo Gym would for data preparation (no model config needed).

        Values left to the user (`???`, `${oc.env:VAR}`, keys env.yaml sets) become placeholders and
        `needs(path)` lists them. An overlay (a config whose resources-server block has no `entrypoint`) is
        loaded on top of the primary config, as it is meant to be passed.
        """

        def load() -> LoadedConfig:
            needs: list[ConfigError] = []
            paths = [str(path)]
            primary = self.primary_config_file
            if Path(path) != primary and is_overlay(Path(path)):
                paths = [str(primary), str(path)]
            try:
                return load_config(
                    {"config_paths": paths}, initial=NO_MODEL_DEFAULTS, roots=self.read_roots, needs=needs
                )
            finally:
                self._needs[Path(path)] = [problem for error in needs for problem in error.problems]

        return self._memo(("config", Path(path)), load)

    def needs(self, path: Path) -> list[Problem]:
        """Return what loading a config file needs from its user (`config.needs_value`); [] when nothing."""
        return list(self._needs.get(Path(path), []))

    @property
    def config(self) -> LoadedConfig:
        """Return the primary config, loaded and resolved; raise its ConfigError when it does not load."""
        return self.load_config_file(self.primary_config_file)

    def schema_problems(self, path: Path) -> list[Problem]:
        """Return every server-instance problem of one config file ([] when valid); load errors are raised."""
        cfg = self.load_config_file(path)

        def validate() -> list[Problem]:
            try:
                parse_server_instances(cfg)
            except ProblemsFound as found:
                return found.problems
            return []

        return self._memo(("schema", Path(path)), validate)

    @property
    def instances(self) -> list[ServerInstance]:
        """Return the primary config's server instances; raise ProblemsFound when any of them is invalid."""
        return self._memo("instances", lambda: parse_server_instances(self.config))

    @property
    def resources_instance(self) -> ServerInstance:
        """Return the primary config's resources-server instance for this folder's implementation.

        As the server loader finds it: a dataset or license problem elsewhere in the config is the `config`
        check's to report, never a reason for a server check to fail.
        """

        def find() -> ServerInstance:
            servers = [i for i in buildable_instances(self.config) if i.server_type == RESOURCES_SERVER_TYPE]
            own = [i for i in servers if i.implementation == self.folder.name] or servers
            if not own:
                raise ConfigError(
                    f"{self.show(self.primary_config_file)} declares no resources server",
                    code="config.no_resources_server",
                    location=Location(self.show(self.primary_config_file), 1),
                    hint=f"start the file with `<name>: {{resources_servers: {{{self.folder.name}: "
                    "{entrypoint: app.py, domain: ...}}}`",
                )
            return own[0]

        return self._memo("resources_instance", find)

    def dataset_entries(self, path: Path | None = None) -> list[DatasetEntry]:
        """Return every agent's dataset entries in a config file (default: the primary), each validated alone."""
        path = Path(path) if path is not None else self.primary_config_file
        cfg = self.load_config_file(path)
        return self._memo(("datasets", path), lambda: list(_dataset_entries(cfg, path)))

    @property
    def example_dataset(self) -> DatasetEntry | None:
        """Return the primary config's `example` dataset entry that reads data/example.jsonl, if any."""
        return next(
            (
                entry
                for entry in self.dataset_entries()
                if entry.type == "example"
                and entry.jsonl_fpath
                and self.points_to(entry.jsonl_fpath, self.example_path)
            ),
            None,
        )

    # Data -----------------------------------------------------------------------------------------------------

    @property
    def example_scan(self) -> JsonlScan:
        """Return data/example.jsonl read and validated (every bad row listed)."""

        def scan() -> JsonlScan:
            try:
                taskset = self.example_taskset
            except GymConformError:
                taskset = None  # the config check reports a config that does not load
            refused = self.refused_read(self.example_path)
            if refused is not None:
                return JsonlScan(self.example_path, exists=True, problems=[refused])
            return scan_rows(self.example_path, self.show(self.example_path), requests=taskset is None)

        return self._memo("example_scan", scan)

    @property
    def example_taskset(self) -> str | None:
        """Return the taskset the example dataset's rows feed (0.7.0 materializes them into requests), if any."""
        entry = self.example_dataset
        raw = entry.raw.get("taskset") if entry is not None and isinstance(entry.raw, dict) else None
        return str(raw) if raw else None

    @property
    def example_rows(self) -> list[tuple[int, dict]]:
        """Return the (line, row) of every valid row of data/example.jsonl."""
        return self.example_scan.rows

    # Server code (server level and above) -------------------------------------------------------------------

    @property
    def server(self) -> LoadedServer:
        """Return the folder's server, imported and built in-process; never at static level."""
        if self.settings.level < Level.SERVER:
            raise CheckSkipped(f"server code is not loaded at --gym-level {self.settings.level.label}")
        # Imported (in _load_server) only here, so that static runs never import the server layer.
        return self._memo("server", self._load_server)

    @property
    def server_url(self) -> str | None:
        """Return the base URL the checks send requests to: --gym-server-url, or the server process mode started.

        None: the server is built where the checks run and called in-process.
        """
        if self.settings.server_url is not None:
            return self.settings.server_url
        if not self.starts_own_process:
            return None
        return self._memo("server_process_url", lambda: self._start_process(self.server))

    @property
    def starts_own_process(self) -> bool:
        """Return whether process mode starts the server in a Python of its own (never with --gym-server-url)."""
        if self.settings.server_url is not None or self.settings.level < Level.SERVER:
            return False
        if self.settings.server_launch == "process":
            return True
        if self.settings.server_launch != "auto":
            return False
        from gym_conform.server.process import is_nemo_gym_app, own_venv_python

        # Asked by every server check: the folder is looked at (its .venv, app.py read) once.
        return self._memo(
            "auto_process",
            lambda: own_venv_python(self.folder) is not None and is_nemo_gym_app(self.folder / "app.py"),
        )

    def _load_server(self) -> LoadedServer:
        from gym_conform.server.loader import load_server_facts, load_server_folder

        if self.starts_own_process:
            # The server's code runs only in its own process: here, its config is all that is read.
            return load_server_facts(self.folder)
        try:
            return load_server_folder(
                self.folder, choose=True, judge_standin=self._judge_standin if self.settings.judge_standin else None
            )
        except GymConformError:
            if self.settings.server_url is None:
                raise
            # A running server is checked over HTTP: its config is enough when its code does not import here.
            return load_server_facts(self.folder)

    def _start_process(self, loaded: LoadedServer) -> str:
        """Start the folder's server in its own process (stopped with the context); return its base URL."""
        from gym_conform.server.process import ServerProcess, chosen_python

        python, origin = chosen_python(self.folder, self.settings.server_python, self.show(self.folder))
        if origin is not None:
            loaded.notes.append(f"its Python: {origin}")
        process = ServerProcess(
            self.folder,
            loaded.app_path,
            python,
            (loaded.name, RESOURCES_SERVER_TYPE, loaded.implementation),
            loaded.global_config,
            self.settings.startup_timeout,
            shown_app=self.show(loaded.app_path),
        )
        self.add_cleanup(process.stop)
        url = process.start()
        loaded.notes.append(f"started in its own process: {process.command_text()}, at {url}")
        return url

    def _judge_standin(self) -> tuple[str, dict]:
        """Start the scripted judge stand-in for this folder's server (stopped with the context)."""
        from gym_conform.server.judge_standin import JudgeStandIn

        standin = JudgeStandIn()
        url = standin.start()
        self.judge_standin = standin
        self.add_cleanup(standin.close)
        return url, standin.config_entry()

    def run_async(self, coro: Awaitable[T]) -> T:
        """Run a coroutine to completion on this folder's event loop (one loop per folder, kept until close)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def add_cleanup(self, callback: Callable[[], object]) -> None:
        """Register a callback for `close()`; an awaitable it returns is run on the folder's event loop."""
        self._cleanups.append(callback)

    def close(self) -> None:
        """Run the cleanups (last registered first), then close the event loop; re-raise the first error."""
        first_error: BaseException | None = None
        while self._cleanups:
            callback = self._cleanups.pop()
            try:
                result = callback()
                if inspect.isawaitable(result):
                    self.run_async(result)
            except Exception as error:
                first_error = first_error or error
        if self._loop is not None:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()
            self._loop = None
        if first_error is not None:
            raise first_error


def is_overlay(path: Path) -> bool:
    """Return whether a config's resources-server blocks all lack `entrypoint` (it overrides another config)."""
    data = read_yaml(Path(path))
    if not isinstance(data, dict):
        return False
    blocks = [
        fields
        for block in data.values()
        if isinstance(block, dict) and isinstance(block.get(RESOURCES_SERVER_TYPE), dict)
        for fields in block[RESOURCES_SERVER_TYPE].values()
    ]
    return bool(blocks) and all(isinstance(fields, dict) and "entrypoint" not in fields for fields in blocks)


def _dataset_entries(cfg: LoadedConfig, path: Path) -> Iterator[DatasetEntry]:
    """Yield the dataset entries of every agent and resources-server block of a loaded config, in config order.

    0.7.0 declares datasets on the resources-server block too (rows route to the agent that uses that server).
    """
    for name, block in cfg.data.items():
        if name in RESERVED_TOP_LEVEL_KEYS or not isinstance(block, dict):
            continue
        for server_type in (AGENT_SERVER_TYPE, RESOURCES_SERVER_TYPE):
            implementations = block.get(server_type)
            if not isinstance(implementations, dict):
                continue
            for implementation, fields in implementations.items():
                datasets = fields.get("datasets") if isinstance(fields, dict) else None
                for index, raw in enumerate(datasets if isinstance(datasets, list) else []):
                    key_path = (name, server_type, implementation, "datasets", index)
                    model, _ = validate_dataset(raw)
                    yield DatasetEntry(path, name, key_path, cfg.locate(key_path), raw, model)
