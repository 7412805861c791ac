"""Run the reward-hacking probes and model-free floors on NeMo Gym 0.7.0 resources servers, offline.

Needs the layered CPython 3.13 venv beside nemo-gym 0.7.0 (see the brief in bench/README.md). Each named server
folder is copied from the 0.7.0 tree to a scratch directory (the tree is never written), imported, built with
its config block (interpolated values dropped, no head server) and called in process over ASGI through
gym-conform's ServerClient; its `data/example.jsonl` rows get every probe of `gym_conform.checks.probes` and
the floors' trivial policies. Each probe or policy that scores 1.0 is written as one JSON line with the exact
verify request; servers that cannot load offline (missing packages, downloads) are listed with the reason.

    .venv313/bin/python bench/probes_070.py --tree /work/ng070/tree mcqa hotpotqa_qa ...
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import json
import os
import shutil
import signal
import sys
import tempfile
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from types import FrameType
from typing import Any
from unittest.mock import MagicMock

import httpx
import yaml

from gym_conform.checks.probes import PROBES, probe_rows, probe_texts, states_gold
from gym_conform.checks.server_floors import leaked_gold, trivial_answers
from gym_conform.checks.server_probes import answer_response
from gym_conform.checks.server_session import VerifyFailed, payload_line, verify_reward
from gym_conform.server.client import ServerClient

SECONDS_PER_SERVER = 240


def response(text: str) -> dict:
    """Return a one-message response with the three fields 0.7.0's NeMoGymResponse requires (a model sends them)."""
    return {**answer_response(text), "parallel_tool_calls": True, "tool_choice": "auto", "tools": []}


def build(tree: Path, scratch: Path, name: str) -> Any:
    """Copy, import and build one 0.7.0 resources server; return the server object."""
    from nemo_gym.base_resources_server import BaseResourcesServerConfig, SimpleResourcesServer
    from nemo_gym.server_utils import ServerClient as NemoGymClient

    folder = scratch / "resources_servers" / name
    if not folder.exists():
        shutil.copytree(tree / "resources_servers" / name, folder)
    (scratch / "resources_servers" / "__init__.py").touch()
    sys.path[:0] = [str(folder), str(scratch)]
    for _ in range(5):
        spec = importlib.util.spec_from_file_location(f"ng070_{name}_app", folder / "app.py")
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs, as an import does: pydantic and FastAPI resolve the string annotations of
        # `from __future__ import annotations` modules through sys.modules (else every verify body fails).
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
            break
        except ModuleNotFoundError as missing:
            # A server that builds on another one (gpqa_diamond on mcqa): copy that folder too, then retry.
            other = (missing.name or "").split(".")
            source = tree / "resources_servers" / other[1] if len(other) > 1 else None
            if other[0] != "resources_servers" or source is None or not source.is_dir():
                raise
            shutil.copytree(source, scratch / "resources_servers" / other[1])
    own = [value for value in vars(module).values() if inspect.isclass(value) and value.__module__ == module.__name__]
    server_class = [c for c in own if issubclass(c, SimpleResourcesServer)][-1]
    config_class = server_class.model_fields["config"].annotation
    if not inspect.isclass(config_class):
        configs = [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, BaseResourcesServerConfig)]
        config_class = configs[-1]
    # Servers written with `from __future__ import annotations` name config types the module never binds.
    import nemo_gym.config_types as config_types

    namespace = {**vars(config_types), **vars(module)}
    for model in (config_class, server_class):
        model.model_rebuild(_types_namespace=namespace)
    fields: dict = {}
    for path in sorted((folder / "configs").glob("*.yaml")):
        for block in (yaml.safe_load(path.read_text()) or {}).values():
            servers = block.get("resources_servers") if isinstance(block, dict) else None
            if isinstance(servers, dict) and name in servers and not fields:
                fields = dict(servers[name])
    fields = {key: value for key, value in fields.items() if not (isinstance(value, str) and "${" in value)}
    fields.update(host="127.0.0.1", port=1, entrypoint="app.py", name=name)
    return server_class(config=config_class.model_validate(fields), server_client=MagicMock(spec=NemoGymClient))


async def probe(tree: Path, scratch: Path, name: str) -> dict:
    """Return one server's findings: probes and trivial policies that score 1.0, gold answers in prompts."""
    app = build(tree, scratch, name).setup_webserver()
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver", cookies=jar)
    client = ServerClient(http, where=name, timeout=60)
    lines = (tree / "resources_servers" / name / "data" / "example.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    found: dict = {"server": name, "rows": len(rows), "findings": [], "unscored": 0}
    bounds = (float("-inf"), float("inf"))
    inputs = probe_rows(rows)
    for line, row in enumerate(inputs, start=1):
        tried = [(f"probe {p.name}", text) for p in PROBES.values() for text in probe_texts(p, row)]
        # As the floors check: a trivial answer that states the gold is a lucky guess, not a finding.
        tried += [
            (f"floor: {policy}", text) for policy, text in trivial_answers(row) if not states_gold(text, row.golds)
        ]
        for what, text in tried:
            try:
                reward = await verify_reward(client, row.row, response(text), bounds)
            except VerifyFailed:
                found["unscored"] += 1
                continue
            if reward >= 1.0:
                found["findings"].append({"line": line, "what": what, "reward": reward, "text": text[:300],
                                          "request": payload_line(row.row, response(text))})  # fmt: skip
        gold = leaked_gold(row.row, [other.gold for other in inputs if other is not row and other.gold])
        if gold:
            found["findings"].append({"line": line, "what": "gold in prompt", "gold": gold})
    await http.aclose()
    return found


def _too_slow(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"over {SECONDS_PER_SERVER} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True, help="the unpacked nemo-gym 0.7.0 wheel")
    parser.add_argument("--out", type=Path, default=Path("bench/results/probes_070.jsonl"))
    parser.add_argument("servers", nargs="+")
    args = parser.parse_args()
    del sys.argv[1:]  # some servers parse the command line (Hydra) when imported
    args.out.parent.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGALRM, _too_slow)
    args.out, args.tree = args.out.resolve(), args.tree.resolve()
    with tempfile.TemporaryDirectory() as scratch, args.out.open("w") as out:
        # Some servers run Hydra when imported, which writes outputs/ into the working directory: keep it scratch.
        os.chdir(scratch)
        for name in args.servers:
            signal.alarm(SECONDS_PER_SERVER)
            try:
                result = asyncio.run(probe(args.tree, Path(scratch), name))
            except Exception as error:
                result = {"server": name, "not_run": f"{type(error).__name__}: {error}"[:300]}
            signal.alarm(0)
            out.write(json.dumps(result) + "\n")
            out.flush()
            shown = {k: (len(v) if isinstance(v, list) else v) for k, v in result.items()}
            print(json.dumps(shown), flush=True)


if __name__ == "__main__":
    main()
