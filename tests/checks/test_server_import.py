"""Tests for the `import` check and the shared server access: load failures, skips, closing the server."""

from __future__ import annotations

import pytest

from gym_conform.checks import CheckFailed, CheckSkipped, Level
from gym_conform.checks.server_import import check_import, client_of, fresh_server, loaded_server, server_or_skip
from gym_conform.checks.server_rows import check_row_fields
from tests.checks.server_apps import app, context, isolated_imports, server_folder  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_imports")


def test_an_importable_server_passes(tmp_path):
    ctx = context(server_folder(tmp_path), tmp_path)

    check_import(ctx)

    assert type(server_or_skip(ctx).server).__name__ == "AlphaServer"
    ctx.close()


def test_a_missing_module_fails_import_with_the_file_line_and_hint(tmp_path):
    folder = server_folder(tmp_path, "import os\nimport not_installed_anywhere\n" + app())
    ctx = context(folder, tmp_path)

    with pytest.raises(CheckFailed) as raised:
        check_import(ctx)

    (problem,) = raised.value.problems
    assert problem.code == "server.import"
    assert "imports 'not_installed_anywhere', which is not installed" in problem.message
    assert (problem.location.path, problem.location.line) == ("resources_servers/alpha/app.py", 2)
    assert "pip install not_installed_anywhere" in problem.hint


def test_other_server_checks_skip_with_the_import_reason(tmp_path):
    folder = server_folder(tmp_path, "import not_installed_anywhere\n")
    ctx = context(folder, tmp_path)

    with pytest.raises(CheckSkipped) as raised:
        check_row_fields(ctx)

    assert raised.value.reason == (
        "server could not be imported: app.py imports 'not_installed_anywhere', which is not installed"
    )


def test_at_static_level_the_server_is_not_loaded(tmp_path):
    folder = server_folder(tmp_path, "raise SystemExit('imported at static level')\n")
    ctx = context(folder, tmp_path, level=Level.STATIC)

    with pytest.raises(CheckSkipped, match="not loaded at --gym-level static"):
        check_import(ctx)


def test_closing_the_context_closes_the_server_and_its_client(tmp_path):
    closing = app(extra="\n    def close(self):\n        open(CLOSED, 'w').write('closed')\n")
    marker = tmp_path / "closed.txt"
    folder = server_folder(tmp_path, f"CLOSED = {str(marker)!r}\n" + closing)
    ctx = context(folder, tmp_path)
    client = client_of(ctx)
    assert client_of(ctx) is client
    loaded_server(ctx)  # a second access registers no second cleanup

    ctx.close()

    assert marker.read_text() == "closed"


def test_a_fresh_server_has_the_same_class_and_config_but_no_shared_state(tmp_path):
    ctx = context(server_folder(tmp_path, config_fields={"reward_range": "[0, 2]"}), tmp_path)
    loaded = server_or_skip(ctx)

    fresh = fresh_server(loaded)

    assert type(fresh) is type(loaded.server) and fresh is not loaded.server
    assert fresh.config.reward_range == (0.0, 2.0)
    ctx.close()
