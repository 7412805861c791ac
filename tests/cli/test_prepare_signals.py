"""SIGINT and SIGTERM sent to a real `ng_prepare_data` mid-scan: exit 130 / 143, one line, nothing written or left."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.cli.faults import big_train, earlier_outputs, prepare_command, snapshot, wait_for


@pytest.fixture(scope="module")
def long_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A repository whose train file (40 MB) takes a scan long enough to be interrupted, with forked workers."""
    root = tmp_path_factory.mktemp("signals")
    return root, big_train(root, megabytes=40)


def children(pid: int) -> list[int]:
    """Return the pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to watch the worker processes")
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_scan_stops_the_run_and_writes_nothing(long_run, workers: int, signum: int, code: int) -> None:
    root, config = long_run
    out = root / f"out_{signum}_{workers}"
    earlier = earlier_outputs(out)
    proc = subprocess.Popen(
        prepare_command(config, out.name, f"+num_workers={workers}"),
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: any worker left behind is found below
    )
    wait_for(lambda: list(out.glob(".train.jsonl.*")) and (workers == 1 or len(children(proc.pid)) >= workers))

    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)

    assert proc.returncode == code, stdout[-2000:] + stderr
    assert "Traceback" not in stderr
    name = signal.Signals(signum).name
    assert stderr.strip().splitlines()[-1] == (
        f"interrupted by {name}: nothing was written (temporary files removed, earlier outputs unchanged)"
    )
    assert "Finished!" not in stdout
    assert snapshot(out) == earlier  # no temporary file, no lock file, the earlier outputs byte for byte
    assert not (root / "data/train_metrics.json").exists()
    wait_for(lambda: not group_alive(proc.pid), seconds=10)  # no worker outlives the run


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker processes")
def test_a_worker_killed_mid_scan_fails_the_run_instead_of_hanging_it(long_run) -> None:
    root, config = long_run
    out = root / "out_killed_worker"
    earlier = earlier_outputs(out)
    proc = subprocess.Popen(
        prepare_command(config, out.name, "+num_workers=2"),
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    workers: list[int] = []

    def scanning() -> bool:
        workers[:] = children(proc.pid)
        return bool(list(out.glob(".train.jsonl.*"))) and len(workers) >= 2

    # No pause after this: on a fast, idle machine the workers finish a 40 MB scan in well under a second.
    wait_for(scanning)
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "a worker process scanning this file died" in stderr and "[data.worker_died]" in stderr
    assert "+num_workers=1" in stderr
    assert snapshot(out) == earlier
    wait_for(lambda: not group_alive(proc.pid), seconds=10)
