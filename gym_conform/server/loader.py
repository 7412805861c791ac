"""Load a resources-server folder (configs/*.yaml + app.py) into a configured `ResourcesServer` instance."""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gym_conform.core.config.loader import LoadedConfig
from gym_conform.core.config.schema import ServerInstance
from gym_conform.errors import ConfigError, Location, Problem, ProblemsFound, ServerError
from gym_conform.server.base import ResourcesServer, ResourcesServerConfig
from gym_conform.server.instances import find_instance, is_placeholder, unset_own_values
from gym_conform.server.outside import outside_need
from gym_conform.server.upstream import UPSTREAM_BASE, UpstreamServer, adapter_for, is_upstream_server_class
from gym_conform.server.watch import STARTUP, watched

RESOURCES_SERVERS_DIR = "resources_servers"
_FALLBACK_PACKAGE = "gym_conform_servers"
_CONFIG_SUFFIXES = (".yaml", ".yml")
# Marks modules this loader executed, with the file state they were executed from.
_SOURCE_STAMP = "__gym_conform_source__"
# Top-level packages of a checkout itself: a missing one is a wrong import, never a missing dependency.
_LOCAL_TOP_PACKAGES = frozenset({RESOURCES_SERVERS_DIR, "responses_api_models", "responses_api_agents", "nemo_gym"})


@dataclass
class LoadedServer:
    """A server folder loaded: its instance name, config, live server object and where they came from.

    `instances` holds every server instance of the merged config file (agents too, e.g. for `max_steps`).
    """

    folder: Path
    name: str
    implementation: str
    config: ResourcesServerConfig
    server: ResourcesServer
    config_path: Path
    app_path: Path
    instances: list[ServerInstance] = field(default_factory=list)
    # What the server needs from outside to verify (a model server its config points at), in words; [] if nothing.
    needs: list[str] = field(default_factory=list)
    # What the loader chose or left aside (one of several instances), for the import check's notes.
    notes: list[str] = field(default_factory=list)
    # The model servers (judges) a scripted stand-in answers: checks whose verdict is the judge's skip.
    standin_judges: list[str] = field(default_factory=list)
    # The merged config of the instance's config file (what NeMo Gym hands a server process it starts).
    global_config: dict[str, Any] = field(default_factory=dict)


def load_server_folder(
    folder: Path,
    *,
    config_file: Path | None = None,
    choose: bool = False,
    judge_standin: Callable[[], tuple[str, dict]] | None = None,
) -> LoadedServer:
    """Load `folder`'s single resources-server instance from its configs, import its app and build it.

    With `choose`, several different instances (one per config file) narrow to the primary config's, noted.
    `judge_standin`, called only when a NeMo Gym server's block names a model server, returns a stand-in's URL
    and model-server block: each such name then resolves to it.
    Every failure is a `ServerError` (or `ProblemsFound`) with the file, line and a hint; nothing is printed.
    """
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise ServerError(
            f"no resources-server folder at {folder}",
            code="server.folder_missing",
            hint="give the folder that holds configs/ and app.py, e.g. resources_servers/<name>",
        )
    files = _config_files(folder, config_file)
    found = find_instance(folder, files, choose=choose)
    instance, config_path, cfg, instances = found.instance, found.config_path, found.cfg, found.instances
    _refuse_unset_values(found.config_path, unset_own_values(found))
    app_path = folder / str(instance.fields.get("entrypoint") or "app.py")
    block = (instance.name, instance.server_type, instance.implementation)
    if not app_path.is_file():
        raise ServerError(
            f"the entrypoint {app_path.name} of '{instance.name}' does not exist in {folder}",
            code="server.entrypoint_missing",
            location=cfg.locate((*block, "entrypoint")),
            hint=f"create {app_path} or point `entrypoint:` at the server's Python file",
        )
    with watched(STARTUP, f"the import of {app_path.name}", path=app_path):
        module = _import_app(folder, app_path)
    server_class = _server_class(module, app_path)
    if issubclass(server_class, UpstreamServer):
        # NeMo Gym's ServerClient carries the merged config (other servers' addresses, shared keys).
        server_class.global_config = cfg.data
        standins = judged_names(instance.fields) if judge_standin is not None else []
        if standins and judge_standin is not None:
            url, entry = judge_standin()
            server_class.global_config = {**cfg.data, **dict.fromkeys(standins, entry)}
            found.notes.append(
                f"the judge model server(s) {', '.join(repr(n) for n in standins)} answered by the scripted stand-in "
                f"at {url} (--gym-judge-standin): checks whose verdict is the judge's skip"
            )
    config = _build_config(server_class, instance, cfg)
    try:
        with watched(STARTUP, f"{server_class.__name__}(config)", path=app_path):
            server = server_class(config=config)
    except Exception as error:
        _raise_if_outside(error, app_path)
        raise ServerError(
            f"creating {server_class.__name__} failed: {type(error).__name__}: {error}",
            code="server.init_failed",
            location=_location_in(error, app_path),
            hint="fix __init__ (or a missing verify()) so the class can be built from its config",
        ) from None
    needs = outside_needs(instance.fields) if isinstance(server, UpstreamServer) else []
    judged = judged_names(instance.fields) if judge_standin is not None and isinstance(server, UpstreamServer) else []
    if judged:
        needs = []
    return LoadedServer(
        folder,
        instance.name,
        instance.implementation,
        config,
        server,
        config_path,
        app_path,
        instances,
        needs,
        found.notes,
        judged,
    )


def _refuse_unset_values(config_path: Path, unset: list[ConfigError]) -> None:
    """Raise `server.needs_value` naming every value the server's own block reads that is left to the user."""
    if not unset:
        return
    keys = "; ".join(error.message.removeprefix("needs value: ") for error in unset)
    raise ServerError(
        f"the server's config leaves {len(unset)} value(s) to its user: {keys}",
        code="server.needs_value",
        location=unset[0].location,
        hint=(unset[0].hint or "set it in env.yaml or on the command line") + f" ({config_path.name})",
    )


def _raise_if_outside(error: BaseException, app_path: Path) -> None:
    """Raise `server.needs_outside` when building the server failed for want of something this machine lacks."""
    if isinstance(error, ModuleNotFoundError) and error.name:
        raise _import_error(error, app_path) from None
    if isinstance(error, ValidationError) and all(item.get("input", "") is None for item in error.errors()):
        # A required field the YAML leaves null (`${oc.select:api_key,null}`): NeMo Gym needs it set too.
        keys = ", ".join(dict.fromkeys(str(item["loc"][0]) for item in error.errors() if item["loc"]))
        raise ServerError(
            f"the server's config leaves {keys} null, and its config class requires a value",
            code="server.needs_value",
            location=_location_in(error, app_path),
            hint="set it in env.yaml or on the command line (++<instance>.resources_servers.<name>.<key>=<value>)",
        )
    need = outside_need(f"{type(error).__name__}: {error}", app_path.parent)
    if need is not None:
        raise ServerError(
            f"building the server needs {need}: {type(error).__name__}: {error}",
            code="server.needs_outside",
            location=_location_in(error, app_path),
            hint="run it where that is available (NeMo Gym's own venv and network), or give it what it names",
        )


_MODEL_SERVERS = "responses_api_models"
# Config keys that switch a judge off; a server configured so does not call its model server.
_JUDGE_SWITCHES = ("should_use_judge", "use_judge")


def judged_names(fields: dict) -> list[str]:
    """Return the model-server names a server's config block references (placeholders too), unless switched off."""
    if any(fields.get(switch) is False for switch in _JUDGE_SWITCHES):
        return []
    return [
        str(value["name"])
        for value in fields.values()
        if isinstance(value, dict) and value.get("type") == _MODEL_SERVERS and value.get("name")
    ]


def outside_needs(fields: dict) -> list[str]:
    """Return the model servers a server's config block references (judges), unless a switch turns them off."""
    if any(fields.get(switch) is False for switch in _JUDGE_SWITCHES):
        return []
    found = []
    for key, value in fields.items():
        if isinstance(value, dict) and value.get("type") == _MODEL_SERVERS and is_placeholder(value.get("name")):
            found.append(
                f"a model server (`{key}.name` is left to the user: ++...{key}.name=<a responses_api_models "
                "instance>), which verify calls over HTTP"
            )
        elif isinstance(value, dict) and value.get("type") == _MODEL_SERVERS and value.get("name"):
            found.append(
                f"the model server '{value['name']}' (`{key}` in its config), which verify calls over HTTP; none "
                "runs here: check this server against a running NeMo Gym (`gym env start` with that model "
                "configured in env.yaml)"
            )
    return found


class RemoteServer(ResourcesServer):
    """Stands for a server that runs elsewhere (--gym-server-url) and whose code does not import here."""

    # NeMo Gym's form verify(self, body), which the base class accepts too.
    async def verify(self, body: Any) -> Any:  # type: ignore[override]
        """Never called: the checks send every request to the running server."""
        raise ServerError("this server runs elsewhere; its verify is reached over HTTP", code="server.remote")


def load_server_facts(folder: Path) -> LoadedServer:
    """Return a folder's server from its config alone (no code imported), for checks of a server running elsewhere."""
    folder = Path(folder).resolve()
    files = _config_files(folder, None)
    found = find_instance(folder, files, choose=True)
    instance, config_path, cfg, instances = found.instance, found.config_path, found.cfg, found.instances
    config = _build_config(RemoteServer, instance, cfg)
    app_path = folder / str(instance.fields.get("entrypoint") or "app.py")
    server = RemoteServer(config=config)
    return LoadedServer(
        folder,
        instance.name,
        instance.implementation,
        config,
        server,
        config_path,
        app_path,
        instances,
        needs=outside_needs(instance.fields),
        global_config=cfg.data,
    )


def _config_files(folder: Path, config_file: Path | None) -> list[Path]:
    if config_file is not None:
        given = Path(config_file)
        candidates = [given] if given.is_absolute() else [Path.cwd() / given, folder / given]
        for candidate in candidates:
            if candidate.is_file():
                return [candidate.resolve()]
        raise ServerError(
            f"config file {config_file} not found",
            code="server.no_config",
            hint=f"give a path relative to the current directory or to {folder}",
        )
    files = sorted(p for p in (folder / "configs").glob("*") if p.suffix in _CONFIG_SUFFIXES and p.is_file())
    if not files:
        raise ServerError(
            f"no config files in {folder / 'configs'}",
            code="server.no_config",
            hint=f"add configs/{folder.name}.yaml declaring `<instance>: {{resources_servers: "
            f"{{{folder.name}: {{entrypoint: app.py, domain: ...}}}}}}`",
        )
    return files


def _module_name(folder: Path, app_path: Path) -> tuple[str, Path]:
    """Return the module name for app.py and the directory standing for the project root on sys.path."""
    stem = _identifier(app_path.stem)
    if folder.parent.name == RESOURCES_SERVERS_DIR and folder.name.isidentifier():
        return f"{RESOURCES_SERVERS_DIR}.{folder.name}.{stem}", folder.parent.parent
    # Unique per folder (two folders may share a name) and stable across loads of the same folder.
    digest = hashlib.sha1(str(folder).encode()).hexdigest()[:8]
    return f"{_FALLBACK_PACKAGE}.{_identifier(folder.name)}_{digest}.{stem}", folder.parent


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    return name if name.isidentifier() else f"_{name}"


def _import_app(folder: Path, app_path: Path) -> types.ModuleType:
    """Import app.py under a stable package name, so `from resources_servers.x.app import ...` is the same module."""
    name, root = _module_name(folder, app_path)
    # NeMo Gym runs a server with PYTHONPATH = its folder + the project root; both import styles need them.
    for entry in (str(root), str(folder)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    existing = sys.modules.get(name)
    if existing is not None and _is_current(existing, app_path):
        return existing
    package_name = name.rsplit(".", 1)[0]
    _ensure_top_package(package_name.split(".")[0])
    _ensure_package(package_name, folder)
    spec = importlib.util.spec_from_file_location(name, app_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:
        sys.modules.pop(name, None)
        raise _import_error(error, app_path) from None
    stat = app_path.stat()
    setattr(module, _SOURCE_STAMP, (str(app_path), stat.st_mtime_ns, stat.st_size))
    setattr(sys.modules[package_name], name.rsplit(".", 1)[1], module)
    return module


def _is_current(module: types.ModuleType, app_path: Path) -> bool:
    """Return True if `module` was loaded from `app_path` as it is now (a plain import counts as current)."""
    file = getattr(module, "__file__", None)
    if not file or Path(file).resolve() != app_path:
        return False
    stamp = getattr(module, _SOURCE_STAMP, None)
    if stamp is None:
        return True
    stat = app_path.stat()
    return stamp == (str(app_path), stat.st_mtime_ns, stat.st_size)


def _ensure_top_package(name: str) -> None:
    """Make sure the top-level package exists (imported normally if it can be, else an empty namespace)."""
    if name in sys.modules:
        return
    try:
        importlib.import_module(name)
    except ImportError:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = []
        sys.modules[name] = importlib.util.module_from_spec(spec)


def _ensure_package(name: str, directory: Path) -> None:
    """Make `name` the package of `directory`, replacing one of the same name that covers another directory."""
    current = sys.modules.get(name)
    covered = [os.path.realpath(p) for p in getattr(current, "__path__", [])]
    if current is not None and str(directory) in covered:
        return
    init = directory / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(directory)])
    else:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(directory)]
    assert spec is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    if spec.loader is not None:
        try:
            spec.loader.exec_module(package)
        except (Exception, SystemExit) as error:
            sys.modules.pop(name, None)
            raise _import_error(error, init) from None
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, package)


def _import_error(error: BaseException, app_path: Path) -> ServerError:
    """Turn an exception raised while importing app.py into a ServerError without a traceback."""
    if isinstance(error, SyntaxError):
        where = Location(path=error.filename or str(app_path), line=error.lineno)
        text = (error.text or "").strip()
        return ServerError(
            f"syntax error: {error.msg}" + (f": {text}" if text else ""),
            code="server.syntax",
            location=where,
            hint="fix the Python syntax at that line",
        )
    if isinstance(error, ImportError):
        missing = error.name
        if isinstance(error, ModuleNotFoundError) and missing:
            top = missing.split(".")[0]
            requirements = app_path.parent / "requirements.txt"
            if requirements.is_file() and top not in _LOCAL_TOP_PACKAGES:
                # A dependency the server declares: the server is fine, this environment lacks it.
                return ServerError(
                    f"{app_path.name} imports '{missing}', which is not installed here; the server declares its "
                    f"dependencies in {requirements.parent.name}/requirements.txt",
                    code="server.needs_package",
                    location=_location_in(error, app_path),
                    hint=f"pip install -r {requirements} (NeMo Gym gives each server its own venv from that file)",
                )
            return ServerError(
                f"{app_path.name} imports '{missing}', which is not installed",
                code="server.import",
                location=_location_in(error, app_path),
                hint=f"pip install {top} (and add it to {app_path.parent.name}/requirements.txt); "
                "if it is a file of this server, check its name",
            )
        return ServerError(
            f"{app_path.name} failed to import: {error}",
            code="server.import",
            location=_location_in(error, app_path),
            hint="check the imported name exists in that module (and its version in requirements.txt)",
        )
    if isinstance(error, SystemExit):
        return ServerError(
            f"importing {app_path.name} raised SystemExit: {error}",
            code="server.exit",
            location=_location_in(error, app_path),
            hint="a server must never exit its process: raise an exception instead (its tests import it too)",
        )
    need = outside_need(f"{type(error).__name__}: {error}", app_path.parent)
    if need is not None:
        return ServerError(
            f"importing {app_path.name} needs {need}: {type(error).__name__}: {error}",
            code="server.needs_outside",
            location=_location_in(error, app_path),
            hint="run it where that is available (NeMo Gym's own venv and network), or give it what it names",
        )
    return ServerError(
        f"importing {app_path.name} raised {type(error).__name__}: {error}",
        code="server.import_failed",
        location=_location_in(error, app_path),
        hint="module-level code in the server must run without errors; move setup into the server class",
    )


def _location_in(error: BaseException, app_path: Path) -> Location:
    """Return the last line of `app_path` in the error's traceback (the file alone if it is not there)."""
    line = None
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename and os.path.realpath(frame.filename) == os.path.realpath(app_path):
            line = frame.lineno
    return Location(path=str(app_path), line=line)


def _server_class(module: types.ModuleType, app_path: Path) -> type[ResourcesServer]:
    """Return the one concrete ResourcesServer subclass defined in `module`."""
    defined = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, ResourcesServer)
        and value is not ResourcesServer
        and value.__module__ == module.__name__
    ]
    leaves = [cls for cls in defined if not any(other is not cls and issubclass(other, cls) for other in defined)]
    if len(leaves) == 1:
        return leaves[0]
    if not leaves:
        upstream = _upstream_class(module)
        if upstream is not None:
            return adapter_for(upstream)
        library = _library_note(module, app_path)
        if library is not None:
            raise ServerError(library, code="server.no_server", location=Location(path=str(app_path)))
        raise ServerError(
            f"{app_path.name} defines no subclass of gym_conform.server.ResourcesServer",
            code="server.no_class",
            location=Location(path=str(app_path)),
            hint="define `class MyServer(ResourcesServer)` with an async verify() in this file (or a NeMo Gym "
            "`SimpleResourcesServer` subclass, with nemo_gym installed)",
        )
    names = ", ".join(sorted(cls.__name__ for cls in leaves))
    raise ServerError(
        f"{app_path.name} defines {len(leaves)} ResourcesServer subclasses ({names}); a server folder has one",
        code="server.several_classes",
        location=Location(path=str(app_path)),
        hint="keep one server class per app.py: move the others to their own folders, or make them bases "
        "of the one that is served",
    )


def _library_note(module: types.ModuleType, app_path: Path) -> str | None:
    """Say why an entrypoint that serves nothing is a library (abstract base classes, or not named app.py)."""
    abstract = [
        value.__name__
        for value in vars(module).values()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and inspect.isabstract(value)
        and any((k.__module__, k.__name__) == UPSTREAM_BASE for k in value.__mro__[1:])
    ]
    if abstract:
        return (
            f"{app_path.name} defines only abstract NeMo Gym server classes ({', '.join(sorted(abstract))}): a base "
            "other servers build on, nothing to serve here"
        )
    if app_path.name != "app.py":
        return f"{app_path.name} defines no server class: the folder declares a shared library, nothing to serve"
    return None


def _upstream_class(module: types.ModuleType) -> type | None:
    """Return the one NeMo Gym server class (SimpleResourcesServer subclass) `module` defines, if there is one."""
    defined = [v for v in vars(module).values() if is_upstream_server_class(v) and v.__module__ == module.__name__]
    leaves = [cls for cls in defined if not any(other is not cls and issubclass(other, cls) for other in defined)]
    return leaves[0] if len(leaves) == 1 else None


def _build_config(
    server_class: type[ResourcesServer], instance: ServerInstance, cfg: LoadedConfig
) -> ResourcesServerConfig:
    """Validate the instance's config block with the server's own config class; report every bad field."""
    block = (instance.name, instance.server_type, instance.implementation)
    try:
        return server_class.config_class.model_validate({**instance.fields, "name": instance.name})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            key_path = (*block, *item["loc"])
            where = cfg.locate(key_path)
            problems.append(
                Problem(
                    "server.config",
                    item["msg"],
                    Location(where.path, where.line, ".".join(str(p) for p in key_path)),
                    f"fix this field of the '{instance.name}' block to match {server_class.config_class.__name__}",
                )
            )
        summary = f"{len(problems)} problem(s) in the config of '{instance.name}'"
        raise ProblemsFound(problems, summary=summary) from None
