"""Hand-made server folders for the server-level checks: the static files of `tests.checks` plus an app.py.

`app(body)` builds an app.py whose verify computes `reward` from `text` (the response's output text) and
`body` (the request, with the row's `expected_answer`); the default rewards `\\boxed{<expected_answer>}`,
as the rollouts of `tests.checks.rollout` expect.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from gym_conform.checks import CheckSettings, FolderContext, Level
from tests.checks import CONFIG, build_server

APP = """\
import math
import random

from gym_conform.core.responses import make_response, message_item
from gym_conform.server import BaseVerifyRequest, BaseVerifyResponse, ResourcesServer


class AlphaVerifyRequest(BaseVerifyRequest):
    expected_answer: str
{fields}

class AlphaVerifyResponse(AlphaVerifyRequest, BaseVerifyResponse):
    pass


class AlphaServer(ResourcesServer):
    async def verify(self, body: AlphaVerifyRequest) -> AlphaVerifyResponse:
        text = body.response.output_text
{body}
        return AlphaVerifyResponse(**body.model_dump(), reward=reward)
{extra}
"""
SERVER_PACKAGES = ("resources_servers.", "gym_conform_servers")
BOXED = 'reward = 1.0 if text.strip() == "\\\\boxed{" + body.expected_answer + "}" else 0.0'
GOLD = """
    def gold_response(self, row):
        return make_response([message_item("\\\\boxed{" + row["expected_answer"] + "}")])
"""


def app(body: str = BOXED, *, fields: str = "", extra: str = GOLD) -> str:
    """Return an app.py whose verify runs `body` (it must set `reward`); `extra` adds class members."""
    return APP.format(
        body=textwrap.indent(textwrap.dedent(body), " " * 8),
        fields=textwrap.indent(textwrap.dedent(fields), " " * 4),
        extra=extra,
    )


def config(name: str = "alpha", **fields: object) -> str:
    """Return the static tests' config with extra fields (reward_range, stochastic, ...) in the server block."""
    lines = "".join(f"      {key}: {value}\n" for key, value in fields.items())
    text = CONFIG.format(name=name, train_license="Apache 2.0")
    return text.replace("      description: Add two numbers\n", "      description: Add two numbers\n" + lines)


def server_folder(root: Path, app_text: str | None = None, *, config_fields: dict | None = None, **options) -> Path:
    """Create resources_servers/alpha passing every static check, with `app_text` (default: `app()`) as app.py."""
    if config_fields:
        options["config"] = config(**config_fields)
    folder = build_server(root, **options)
    (folder / "app.py").write_text(app() if app_text is None else app_text)
    return folder


def context(folder: Path, root: Path, **settings) -> FolderContext:
    """Return a server-level context with the CI Hypothesis profile (derandomized, no database)."""
    settings.setdefault("hypothesis_profile", "gym-conform-ci")
    return FolderContext(folder, CheckSettings(level=settings.pop("level", Level.SERVER), **settings), root=root)


@pytest.fixture
def isolated_imports(monkeypatch):
    """Undo the sys.path entries and modules a load adds, so one test's app.py never serves another test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    # Only server modules: dropping a library module imported lazily mid-test would load it twice.
    for name in set(sys.modules) - before:
        if name.startswith(SERVER_PACKAGES):
            del sys.modules[name]
