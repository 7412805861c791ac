"""Scan one dataset, in worker processes over line-aligned shards or in this process, with one exact result.

Workers are forked (so they share this interpreter's hash secret and need no re-import). Each scans a
shard, keeping its collated lines in memory, then writes them into the output file right after the
previous shard's (`pwrite` at an offset the previous shard's worker publishes), so nothing is copied twice.
The parent takes the scan results in file order, places each problem at its file line and replays each
shard's metric trace. Memory stays flat: a shard is at most 32 MB of input, a trace a few bytes per row.

The output, problems and metrics are the same as a one-worker scan's, byte for byte: shards are replayed in
order, and the one thing a shard cannot know, a field whose kind (number or string) an earlier shard set
differently, makes the replay refuse, and the dataset is then scanned again in this process (it holds a
bad row, so nothing is collated, but its problems must be reported as a sequential pass finds them).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import TERMINATE as POOL_TERMINATE
from typing import IO, TYPE_CHECKING, Any

from gym_conform.core.files import file_identity, open_regular
from gym_conform.core.jsonl import MAX_LINE_BYTES
from gym_conform.core.metrics.dataset_metrics import DatasetMetrics, MixedExtraTypesError
from gym_conform.errors import DataError, Location, Problem
from gym_conform.prepare.allocator import reuse_large_buffers
from gym_conform.prepare.plan import DatasetJob
from gym_conform.prepare.scan import RangeTask, ShardScan, scan_range
from gym_conform.prepare.shards import line_aligned_ranges, shard_size

if TYPE_CHECKING:
    from multiprocessing.pool import IMapIterator
    from multiprocessing.sharedctypes import SynchronizedArray
    from multiprocessing.synchronize import Condition

    from gym_conform.core.task_data import TaskIssue

# Smaller files are scanned in this process: starting workers would cost more than it saves.
PARALLEL_MIN_BYTES = 16 << 20
_POLL_SECONDS = 0.25
_TERMINATE_SECONDS = 5.0

Advance = Callable[[int, int], None]


@dataclass
class ScanResult:
    """What one pass over a dataset found."""

    job: DatasetJob
    metrics: DatasetMetrics = field(default_factory=DatasetMetrics)
    problems: list[Problem] = field(default_factory=list)
    lines_read: int = 0
    # Rows checked against the task_data schema, and each row's issues at its file line, in file order.
    task_rows: int = 0
    task_issues: list[tuple[int, list[TaskIssue]]] = field(default_factory=list)
    # An overlong line ended the scan: later shards' lines cannot be numbered, so they are not taken.
    stopped: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def scan_job(
    job: DatasetJob,
    sink: IO[bytes] | None,
    num_workers: int,
    advance: Advance | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> ScanResult:
    """Validate, measure and collate (into `sink`, a seekable file) every row of `job` with up to `num_workers`."""
    path = str(job.path)
    reuse_large_buffers()
    try:
        with open_regular(path, "dataset file") as handle:
            info = os.fstat(handle.fileno())
        ranges = line_aligned_ranges(path, shard_size(info.st_size, max(1, num_workers)), max_line_bytes)
    except OSError as exc:
        raise DataError(
            f"cannot read dataset file: {exc.strerror or exc}",
            code="data.unreadable",
            location=Location(path=path),
            hint="check that the path exists and is a readable file (was it moved or removed while the command ran?)",
        ) from exc
    limits = (max_line_bytes, file_identity(info))
    if job.taskset is not None:
        # A taskset row's default id is its line number in the file: one range knows them all.
        ranges = [(ranges[0][0], ranges[-1][1])] if ranges else ranges
    elif num_workers > 1 and info.st_size >= PARALLEL_MIN_BYTES and len(ranges) > 1:
        result = _scan_parallel(job, ranges, sink, num_workers, advance, limits)
        if result is not None:
            return result
        sink = None
        advance = None
    return _scan_here(job, ranges, sink, advance, limits)


Limits = tuple[int, tuple[int, int, int, int]]


def _task(job: DatasetJob, start: int, end: int, limits: Limits, known: dict[str, type] | None = None) -> RangeTask:
    max_line_bytes, identity = limits
    return RangeTask(
        str(job.path),
        start,
        end,
        job.agent,
        job.num_repeats,
        job.dataset,
        known or {},
        job.routing,
        max_line_bytes=max_line_bytes,
        identity=identity,
        schema_dir=None if job.schema_dir is None else str(job.schema_dir),
        taskset=job.taskset,
        task_base=job.task_base,
    )


def _scan_here(
    job: DatasetJob, ranges: list[tuple[int, int]], sink: IO[bytes] | None, advance: Advance | None, limits: Limits
) -> ScanResult:
    """Scan the ranges one after another in this process; each trace starts from the kinds seen so far."""
    result = ScanResult(job)
    for start, end in ranges:
        if result.stopped:
            break
        task = _task(job, start, end, limits, result.metrics.extra_kinds())
        shard = scan_range(task, None if result.problems else sink, advance)
        _absorb(result, shard)
    return result


def _absorb(result: ScanResult, shard: ShardScan) -> None:
    """Add one shard's problems (placed at file lines) and metrics to `result`, in file order."""
    if result.stopped:
        return
    result.problems += shard.located(result.job.display_path, result.lines_read)
    result.task_rows += shard.task_rows
    result.task_issues += [(result.lines_read + line, issues) for line, issues in shard.task_issues]
    result.lines_read += shard.lines
    result.stopped = shard.stopped
    shard.trace.replay(result.metrics, result.job.num_repeats)


def _scan_parallel(
    job: DatasetJob,
    ranges: list[tuple[int, int]],
    sink: IO[bytes] | None,
    num_workers: int,
    advance: Advance | None,
    limits: Limits,
) -> ScanResult | None:
    """Scan shards in worker processes; return None when a field's kind changes across a shard boundary."""
    context = multiprocessing.get_context("fork")
    # Forked workers flush inherited stdio buffers when they exit: leave them nothing to print twice.
    for stream in (sink, sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    done = context.Array("q", 2)
    # offsets[k] is where shard k's output goes, known once shard k - 1 is written; -1 until then.
    offsets = context.Array("q", [-1] * (len(ranges) + 1), lock=False)
    turn = context.Condition()
    output = None if sink is None else sink.fileno()
    if sink is not None:
        offsets[0] = sink.tell()
    result = ScanResult(job)
    conflict = False
    state = (output, offsets, turn, done)
    processes = min(num_workers, len(ranges))
    pool = context.Pool(processes, _start_worker, state)
    watch = _DeathWatch(pool, processes, job.display_path)
    with _terminated(pool, watch):
        reported = [0, 0]
        tasks = [(index, _task(job, start, end, limits)) for index, (start, end) in enumerate(ranges)]
        results = pool.imap(_scan_shard, tasks)
        for shard in _in_order(results, done, advance, reported, watch):
            if not conflict:
                try:
                    _absorb(result, shard)
                except MixedExtraTypesError:
                    conflict = True
        if advance is not None:
            advance(done[0] - reported[0], done[1] - reported[1])
    if sink is not None:
        sink.seek(offsets[len(ranges)])
    return None if conflict else result


@contextlib.contextmanager
def _terminated(pool: Any, watch: _DeathWatch) -> Iterator[Any]:
    """Use a pool, then stop its workers: `terminate` after a complete scan, SIGKILL on any error or signal.

    `Pool.terminate` waits for locks and pipes the workers share, which a worker stopped at the wrong moment
    can leave held or half-written; on the way out of an error nothing is waited for.
    """
    try:
        yield pool
    except BaseException:
        watch.abandon()
        raise
    if watch.replaced():
        watch.abandon()  # a worker died while idle: it may hold the task queue's lock that terminate takes
        return
    # Every result is in; `terminate` normally takes milliseconds. Should it wait on something a dead worker
    # left behind, the pool is abandoned instead of the run hanging.
    stopper = threading.Thread(target=pool.terminate, name="gym-conform-pool-stop", daemon=True)
    stopper.start()
    stopper.join(_TERMINATE_SECONDS)
    if stopper.is_alive():
        watch.abandon()


class _DeathWatch:
    """Notice a worker that died (killed, out of memory): the pool replaces it silently and its shard is lost."""

    def __init__(self, pool: Any, processes: int, shown: str) -> None:
        self.pool = pool
        self.processes = processes
        self.shown = shown
        # Taken as soon as the pool exists: a worker replaced before the first look would go unnoticed.
        self.pids: set[int] = {worker.pid for worker in getattr(pool, "_pool", ())}

    def replaced(self) -> bool:
        """Return whether the pool has had more workers than it keeps: one died and was replaced."""
        # `Pool._pool` (the live worker processes) is private, but has been there since Python 2.6.
        self.pids.update(worker.pid for worker in getattr(self.pool, "_pool", ()))
        return len(self.pids) > self.processes

    def check(self) -> None:
        """Raise `data.worker_died` once a worker died (its shard may be lost: the scan could never finish)."""
        if self.replaced():
            self.abandon()
            raise DataError(
                "a worker process scanning this file died (killed by a signal, or the system ran out of memory)",
                code="data.worker_died",
                location=Location(path=self.shown),
                hint="rerun with +num_workers=1 (one process, least memory), or see `dmesg` for the out-of-memory "
                "killer; nothing was written",
            )

    def abandon(self) -> None:
        """Kill the workers and give the pool up, waiting for nothing they might hold.

        A worker killed mid-read leaves the task pipe unreadable, and may hold the task queue's lock for good,
        which `Pool.terminate` takes first (CPython gh-66587). So the pool's threads are told to stop, its exit
        handler is cancelled, and every worker (also one started meanwhile) gets SIGKILL.
        """
        pool = self.pool
        pool._state = POOL_TERMINATE  # also keeps `Pool.__del__` from touching its closed pipes
        for name in ("_worker_handler", "_task_handler", "_result_handler"):
            thread = getattr(pool, name, None)
            if thread is not None:
                thread._state = POOL_TERMINATE
        finalizer = getattr(pool, "_terminate", None)
        if finalizer is not None:
            finalizer.cancel()
        self._kill_all()
        handler = getattr(pool, "_worker_handler", None)
        if handler is not None:
            handler.join(1)  # it may have started a replacement just before it saw the state
        self._kill_all()

    def _kill_all(self) -> None:
        for worker in list(getattr(self.pool, "_pool", ())):
            with contextlib.suppress(OSError, ValueError):
                worker.kill()
                worker.join(1)


def _in_order(
    results: IMapIterator[ShardScan],
    done: SynchronizedArray[int],
    advance: Advance | None,
    reported: list[int],
    watch: _DeathWatch,
) -> Iterator[ShardScan]:
    """Yield the pool's results in order, reporting the workers' progress while waiting; stop if one died."""
    while True:
        try:
            yield results.next(_POLL_SECONDS)
        except StopIteration:
            return
        except multiprocessing.TimeoutError:
            pass
        watch.check()
        if advance is not None:
            # Read without the lock: a worker killed while holding it would block the parent for good; an
            # aligned 64-bit read is whole, and progress is only displayed.
            now = done[0], done[1]
            advance(now[0] - reported[0], now[1] - reported[1])
            reported[:] = now


_worker: dict[str, Any] = {}


def _start_worker(
    output: int | None, offsets: SynchronizedArray[int], turn: Condition, done: SynchronizedArray[int]
) -> None:
    # Ctrl-C reaches the whole process group: the parent alone handles it (and stops the workers).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGTERM (the parent stopping the pool, or a scheduler signalling the group) ends a worker at once, not
    # through the front end's handler forked with it; and a worker never outlives its parent.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    _worker.update(output=output, offsets=offsets, turn=turn, done=done)


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent dies (even by SIGKILL), so no orphan waits forever."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's pool still stops the workers on every exit it survives


_PR_SET_PDEATHSIG = 1
_IOV_MAX = 1024


def _count(bytes_read: int, rows: int) -> None:
    done = _worker["done"]
    with done.get_lock():
        done[0] += bytes_read
        done[1] += rows


def _scan_shard(indexed: tuple[int, RangeTask]) -> ShardScan:
    """Worker: scan shard k, writing its lines right after shard k - 1's (held back until those are in).

    Shards are handed out in order, so the shard a worker waits for is already being scanned: no deadlock.
    """
    index, task = indexed
    output = _worker["output"]
    if output is None:
        return scan_range(task, None, _count)
    sink = _ShardOutput(output, index, _worker["offsets"])
    shard = scan_range(task, sink, _count)
    turn = _worker["turn"]
    with turn:
        turn.wait_for(sink.placed)
    end = sink.flush()
    with turn:
        sink.offsets[index + 1] = end
        turn.notify_all()
    return shard


class _ShardOutput:
    """A shard's output: written in place once the shard's start offset is published, kept in memory until then."""

    def __init__(self, fd: int, index: int, offsets: SynchronizedArray[int]) -> None:
        self.fd = fd
        self.index = index
        self.offsets = offsets
        self.offset = -1
        self.pending: list[bytes] = []

    def placed(self) -> bool:
        """Return whether this shard's start offset is known (the previous shard is written)."""
        if self.offset < 0:
            self.offset = self.offsets[self.index]
        return self.offset >= 0

    def writelines(self, chunks: list[bytes]) -> None:
        """Write `chunks` in place when the offset is known, else keep them for `flush`."""
        self.pending += chunks
        if self.placed():
            self.flush()

    def flush(self) -> int:
        """Write every kept chunk at the current offset (which must be known); return the new offset."""
        views = [memoryview(chunk) for chunk in self.pending if chunk]
        first = 0
        while first < len(views):
            # One system call for many chunks (at most the kernel's IOV_MAX at once), no joined copy.
            written = os.pwritev(self.fd, views[first : first + _IOV_MAX], self.offset)
            self.offset += written
            while written:
                if written >= len(views[first]):
                    written -= len(views[first])
                    first += 1
                else:
                    views[first] = views[first][written:]
                    written = 0
        self.pending.clear()
        return self.offset
