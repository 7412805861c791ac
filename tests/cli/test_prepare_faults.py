"""`ng_prepare_data` under bad bytes and OS faults: one located error, exit 1, no traceback, nothing half-written."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.cli.faults import (
    assert_one_line_error,
    big_train,
    can_mount_in_namespace,
    earlier_outputs,
    prepare_command,
    run,
    snapshot,
    train_and_validation,
    unprivileged,
    wait_for,
)
from tests.conftest import BIN, math_row


def test_bad_bytes_in_rows_fail_their_type_and_leave_the_clean_type_collated(tmp_path: Path) -> None:
    config = train_and_validation(tmp_path)
    good = json.dumps(math_row("q", "1")).encode()
    bad = [
        b'{"responses_create_params": {"input": "caf\xe9"}, "expected_answer": "1"}',
        b"\xef\xbb\xbf" + good,
        b'{"responses_create_params": {"input": "a\x00b"}, "expected_answer": "1"}',
        json.dumps(math_row("half an emoji \ud83d", "1")).encode(),
    ]
    train = tmp_path / "data/train.jsonl"
    train.write_bytes(b"\n".join([good, *bad, good]) + b"\n")
    before = train.read_bytes()

    result = run(prepare_command(config), tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    for line, code in ((2, "row.encoding"), (3, "row.bom"), (4, "row.nul"), (5, "row.surrogate")):
        assert f"data/train.jsonl:{line}: " in result.stderr and f"[{code}]" in result.stderr
    assert "file offset " in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["validation.jsonl", "validation_metrics.json"]
    assert train.read_bytes() == before


def test_output_path_that_is_a_file_is_refused_before_reading(tmp_path: Path) -> None:
    config = train_and_validation(tmp_path)
    (tmp_path / "out").write_text("a file\n")

    result = run(prepare_command(config), tmp_path)

    assert_one_line_error(result, "out: the output directory is a file", "[output.not_directory]")
    assert (tmp_path / "out").read_text() == "a file\n"
    assert not (tmp_path / "data/train_metrics.json").exists()


@pytest.mark.parametrize("kind", ["directory", "FIFO", "socket", "character device"])
def test_a_dataset_that_is_not_a_regular_file_is_refused_up_front(tmp_path: Path, kind: str) -> None:
    config = train_and_validation(tmp_path)
    path = tmp_path / "data/validation.jsonl"
    path.unlink()
    listener = None
    if kind == "directory":
        path.mkdir()
    elif kind == "FIFO":
        os.mkfifo(path)  # reading it would wait for a writer forever
    elif kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
    else:
        path.symlink_to("/dev/zero")  # reading it would never end
    try:
        result = run(prepare_command(config), tmp_path, timeout=60)
    finally:
        if listener is not None:
            listener.close()

    assert_one_line_error(result, f"is a {kind}", "not a regular file", "[file.not_regular]", "tiny.yaml:")
    assert "rows read" not in result.stdout  # refused before any dataset was scanned
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_a_sparse_file_of_nul_bytes_is_refused_without_reading_it(tmp_path: Path) -> None:
    config = train_and_validation(tmp_path)
    with open(tmp_path / "data/train.jsonl", "r+b") as handle:
        handle.truncate(16 << 30)  # 16 GiB, almost all a hole: reading it through would take minutes

    result = run(prepare_command(config), tmp_path, timeout=120)

    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "data/train.jsonl:11: NUL bytes and no line end" in result.stderr
    assert "[row.nul]" in result.stderr and "rest of the file was not read" in result.stderr
    assert not (tmp_path / "out/train.jsonl").exists()


def test_permission_denied_on_a_dataset(tmp_path: Path) -> None:
    prefix = unprivileged()
    config = train_and_validation(tmp_path)
    (tmp_path / "data/validation.jsonl").chmod(0)

    result = run(prefix + prepare_command(config), tmp_path)

    assert_one_line_error(result, "data/validation.jsonl", "Permission denied")
    assert not list((tmp_path / "out").iterdir())  # train.jsonl was ready, but a run writes all or nothing


def test_a_read_only_output_directory(tmp_path: Path) -> None:
    prefix = unprivileged()
    config = train_and_validation(tmp_path)
    earlier = earlier_outputs(tmp_path / "out")
    (tmp_path / "out").chmod(0o555)

    result = run(prefix + prepare_command(config), tmp_path)
    (tmp_path / "out").chmod(0o755)

    assert_one_line_error(result, "out", "Permission denied", "[os.EACCES]")
    assert snapshot(tmp_path / "out") == earlier


def _disk_full_run(tmp_path: Path, config: str) -> tuple[subprocess.CompletedProcess, dict[str, bytes]]:
    """Run into a 256 KB output area: a private tmpfs when a mount namespace is allowed, else `ulimit -f`."""
    command = prepare_command(config, "out", "+num_workers=2")
    if can_mount_in_namespace():
        script = (
            'mount -t tmpfs -o size=256k tmpfs out && cp -p earlier/* out/ && "$@"; rc=$?; '
            "mkdir -p after && cp -a out/. after/; exit $rc"
        )
        (tmp_path / "out").mkdir()
        earlier = earlier_outputs(tmp_path / "earlier")
        result = run(["unshare", "-rm", "sh", "-c", script, "sh", *command], tmp_path)
        return result, earlier | {"left": snapshot(tmp_path / "after")}  # type: ignore[dict-item]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 10, 256 << 10))

    earlier = earlier_outputs(tmp_path / "out")
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    return proc, earlier | {"left": snapshot(tmp_path / "out")}  # type: ignore[dict-item]


def test_disk_full_leaves_earlier_outputs_intact(tmp_path: Path) -> None:
    config = big_train(tmp_path, megabytes=20)
    result, earlier = _disk_full_run(tmp_path, config)
    left = earlier.pop("left")

    assert_one_line_error(result, "out/train.jsonl")
    assert "No space left on device" in result.stderr or "File too large" in result.stderr
    assert left == earlier  # no temporary file, no partial output, the earlier files byte for byte
    assert not (tmp_path / "data/train_metrics.json").exists()


def test_an_input_removed_mid_run_is_one_error_and_nothing_is_written(tmp_path: Path) -> None:
    config = big_train(tmp_path, megabytes=24)
    proc = subprocess.Popen(
        prepare_command(config, "out", "+num_workers=1"), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: list((tmp_path / "out").glob(".train.jsonl.*")))
    proc.send_signal(signal.SIGSTOP)  # hold it mid-scan of train, so the removal surely comes first
    (tmp_path / "data/validation.jsonl").unlink()
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=120)
    stderr = err.decode()

    assert proc.returncode == 1 and "Traceback" not in stderr
    assert "data/validation.jsonl" in stderr and "No such file or directory" in stderr
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "data/train_metrics.json").exists()


def test_a_second_run_into_the_same_directory_refuses_and_the_first_completes(tmp_path: Path) -> None:
    config = big_train(tmp_path, megabytes=24)
    first = subprocess.Popen(
        prepare_command(config, "out", "+num_workers=1"), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: (tmp_path / "out/.gym-conform.lock").exists())
    first.send_signal(signal.SIGSTOP)  # hold the first run while it holds the lock
    try:
        second = run(prepare_command(config), tmp_path)
    finally:
        first.send_signal(signal.SIGCONT)
    first.communicate(timeout=120)

    assert_one_line_error(second, "another run is writing into this directory", f"(pid {first.pid})")
    assert "[output.locked]" in second.stderr
    assert first.returncode == 0
    rows = (tmp_path / "out/train.jsonl").read_bytes().count(b"\n")
    assert rows == (tmp_path / "data/train.jsonl").read_bytes().count(b"\n")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "train.jsonl",
        "train_metrics.json",
        "validation.jsonl",
        "validation_metrics.json",
    ]


def test_a_killed_run_does_not_block_the_next_one(tmp_path: Path) -> None:
    config = big_train(tmp_path, megabytes=24)
    first = subprocess.Popen(
        prepare_command(config), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: (tmp_path / "out/.gym-conform.lock").exists())
    first.kill()
    first.wait()

    result = run(prepare_command(config), tmp_path)

    assert result.returncode == 0, result.stderr
    assert not list((tmp_path / "out").glob(".*"))


def test_other_commands_turn_os_errors_into_one_line(tmp_path: Path) -> None:
    (tmp_path / "resources_servers").write_text("a file where a folder should be\n")

    result = run([str(BIN / "ng_init_resources_server"), "+entrypoint=resources_servers/my_env"], tmp_path)

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "resources_servers" in result.stderr and "error: " in result.stderr


@pytest.mark.skipif(shutil.which("setpriv") is None and os.geteuid() == 0, reason="needs setpriv as root")
def test_an_unreadable_config_file(tmp_path: Path) -> None:
    prefix = unprivileged()
    config = train_and_validation(tmp_path)
    (tmp_path / config).chmod(0)

    result = run(prefix + prepare_command(config), tmp_path)

    assert_one_line_error(result, "tiny.yaml", "Permission denied")


def test_a_jsonl_fpath_that_escapes_the_repository_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    config = train_and_validation(repo)
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps(math_row("q", "1")) + "\n")
    yaml_path = repo / config
    yaml_path.write_text(
        yaml_path.read_text().replace("jsonl_fpath: data/validation.jsonl", "jsonl_fpath: ../outside.jsonl")
    )

    result = run(prepare_command(config), repo)

    assert_one_line_error(result, "jsonl_fpath '../outside.jsonl'", "leads outside the repository", "tiny.yaml:")
    assert "[config.path_escapes]" in result.stderr and "absolute path" in result.stderr
    assert not (tmp_path / "outside_metrics.json").exists()  # nothing written next to it
    assert "rows read" not in result.stdout


def test_a_metrics_sidecar_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    config = train_and_validation(tmp_path)
    os.mkfifo(tmp_path / "data/train_metrics.json")

    result = run(prepare_command(config), tmp_path, timeout=60)

    assert_one_line_error(result, "data/train_metrics.json", "metrics file is a FIFO", "[file.not_regular]")
    assert not list((tmp_path / "out").iterdir())
