"""Helpers for the fault tests: a real `ng_prepare_data` run over a tiny agent config, and ways to inject faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import BIN, dataset_yaml, math_row, tiny_config

# Drops root's power to ignore file modes: tests of "permission denied" must work when they run as root.
DROP_DAC = ["--bounding-set=-dac_override,-dac_read_search", "--"]


def prepare_command(config: str, out: str = "out", *extra: str) -> list[str]:
    """The `ng_prepare_data` command line for a train_preparation run of `config` into `out`."""
    return [
        str(BIN / "ng_prepare_data"),
        f"+config_paths=[{config}]",
        f"+output_dirpath={out}",
        "+mode=train_preparation",
        *extra,
    ]


def run(command: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command with a hang guard (a hung run fails the test instead of stalling the suite)."""
    env = {k: v for k, v in os.environ.items() if k != "GYM_CONFORM_TRACEBACK"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def train_and_validation(root: Path, train_rows: int = 10, text: str = "What is 2+2?") -> str:
    """Write data/train.jsonl (`train_rows` rows) and data/validation.jsonl (3 rows); return the config path."""
    (root / "data").mkdir(exist_ok=True)
    line = json.dumps(math_row(text, "4")) + "\n"
    with open(root / "data/train.jsonl", "w") as handle:
        for _ in range(train_rows):
            handle.write(line)
    (root / "data/validation.jsonl").write_text(line * 3)
    datasets = "\n".join(
        dataset_yaml(split, split, f"data/{split}.jsonl", "license: MIT") for split in ("train", "validation")
    )
    return tiny_config(root, datasets)


def big_train(root: Path, megabytes: int = 40) -> str:
    """A config whose train file is large enough for forked workers and a scan of a second or more."""
    text = "x" * 480
    rows = megabytes * (1 << 20) // 560
    return train_and_validation(root, rows, text)


def earlier_outputs(out: Path) -> dict[str, bytes]:
    """Put an earlier run's outputs in `out`; return their bytes to compare with afterwards."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"train.jsonl": b'{"earlier": 1}\n', "train_metrics.json": b"{}\n", "validation.jsonl": b'{"e": 2}\n'}
    for name, data in files.items():
        (out / name).write_bytes(data)
    return files


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative name -> bytes), hidden temporary files included."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def unprivileged() -> list[str]:
    """A command prefix under which file modes apply (setpriv when running as root), or skip."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None or subprocess.run([setpriv, *DROP_DAC, "true"], capture_output=True).returncode:
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE (no usable setpriv): modes do not apply")
    return [setpriv, *DROP_DAC]


def can_mount_in_namespace() -> bool:
    """Whether `unshare -rm` can mount a private tmpfs here (a user and mount namespace)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", "mkdir -p /tmp/.gc-probe && mount -t tmpfs -o size=64k tmpfs /tmp/.gc-probe"],
        capture_output=True,
    )
    return probe.returncode == 0


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 1, no traceback, and an `error:` line (with its hint) holding every needle."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors, result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    assert "hint: " in result.stderr


def wait_for(condition: Callable[[], object], seconds: float = 60) -> None:
    """Poll until `condition()` is true (a hang guard, not a timing claim); fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never became true")
        time.sleep(0.005)
