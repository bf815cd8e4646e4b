"""Running untrusted code in a child process: limits, isolation, deadlines, kill, capture.

One child per answer, running ``engine/evaluation/harness.py`` in a new session (so its process
group can be killed at once), with its own temporary directory as cwd (deleted
afterwards), stdin from ``/dev/null``, a clean environment, and
stdout/stderr read incrementally by threads that keep only the first
``output_bytes`` of each (the rest is read and dropped, so neither memory nor the
child's writes are ever blocked).

As root the child is forked by a fork server, without root it is a fresh interpreter
(``fork_server``). The values that cross (job, limits, outcomes, result) are in
``sandbox_job``; reading the result channel, in ``result_channel``; killing what is left,
in ``sweep``. This module runs one child from start to end.

When gradebench runs as root (it does in its container) the child, before it reads
any candidate code, sets its resource limits, enters new network and mount
namespaces (no interface up; its work dir a size-limited tmpfs; /tmp and the other
world-writable folders, and every non-system top-level folder, covered by empty
tmpfs; the Python installation bound back read-only) and drops to a fresh
unprivileged uid used by no other process. That
uid makes ``RLIMIT_NPROC`` count only the answer's own processes (root ignores
it), stops writes outside the work dir, and lets the parent find and kill every
process the answer started, even ones that left the process group with
``setsid``. Without root the same limits apply except ``RLIMIT_NPROC``, the uid
change and the mount namespace, and the sweep falls back to a marker in the
environment. ``SandboxResult.isolation`` records what was in force.

The parent enforces the time limits itself: each test has a deadline measured
from the previous result, and when one passes the whole group and every process
of the sandbox uid are killed with SIGKILL (``kill(-1)`` sent as that uid, then
confirmed by scanning ``/proc``); after a normal end that sweep runs only when the
monitor found processes of the uid left. Results arrive over a dedicated pipe
as encoded outputs (see ``engine/evaluation/harness.py``); the parent only accepts them in
the order it sent the tests.

Nothing the child writes is trusted: the answer runs in it and can write any bytes
to every descriptor it holds. stdout and stderr are only kept (capped) as text; each
result-channel line is checked in full by ``result_channel.parse_control`` or ``parse_result``
before anything uses it, and every wrong shape, bad encoding, too deep nesting, out
of order or repeated message, or a channel closed early stops the child with
``stopped="protocol"`` (a verdict ``error`` for that answer), never an exception in
the parent. Memory is bounded by ``SandboxLimits.result_bytes`` and waiting by the
deadlines.
"""

from __future__ import annotations

import fcntl
import math
import os
import pickle
import random
import shutil
import tempfile
import threading
import time
from typing import Any

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.fork_server import FORK_SERVER, ExecChild, ForkedChild
from gradebench.engine.evaluation.result_channel import decode_results, watch_results
from gradebench.engine.evaluation.sandbox_job import SandboxJob, SandboxLimits, SandboxResult
from gradebench.engine.evaluation.sweep import UID_CANDIDATES, UIDS, kill_group, sweep_sandbox


class _CappedReader(threading.Thread):
    """Reads a pipe to EOF, keeping the first ``cap`` bytes."""

    def __init__(self, stream: Any, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.cap = cap
        self.kept = bytearray()
        self.dropped = 0

    def run(self) -> None:
        fd = self.stream.fileno()
        try:
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                room = self.cap - len(self.kept)
                if room > 0:
                    self.kept += chunk[:room]
                self.dropped += max(0, len(chunk) - max(room, 0))
        except OSError:
            return

    def text(self) -> str:
        text = self.kept.decode("utf-8", "replace")
        if self.dropped:
            text += f"\n[... {self.dropped} more bytes discarded]"
        return text


PIPE_BYTES = 1 << 20


"""Buffer asked for the job and result pipes (Linux's default is 64 KiB): large inputs
and outputs then cross in 16 times fewer wake-ups of the reader."""


def _widen_pipe(fd: int) -> None:
    """Grow a pipe's buffer to ``PIPE_BYTES`` where the OS allows; else leave it."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is None:
        return
    try:
        fcntl.fcntl(fd, setter, PIPE_BYTES)
    except OSError:  # above the user's pipe quota or pipe-max-size: the default works too
        pass


def prepare_args(args: Any, encoded: str | None = None) -> tuple[str, bytes | str]:
    """How a test's args travel to the child: ``("pickle", bytes)`` for plain data, or
    ``("tagged", harness.encode(args))`` when unpickling would look up a global the
    answer could have replaced (complex numbers) or the args are not plain data."""
    encoded = harness.encode(args) if encoded is None else encoded
    if '["c",' in encoded or '["o",' in encoded:
        return ("tagged", encoded)
    return ("pickle", pickle.dumps(args, protocol=5))


def running_as_root() -> bool:
    """Whether the child can get its own uid and namespaces (tests switch this off)."""
    return os.geteuid() == 0


def run_in_sandbox(job: SandboxJob, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``job`` in a fresh isolated child and collect the outputs; never raises for
    anything the candidate code does."""
    limits = limits or SandboxLimits()
    started = time.monotonic()
    budget = job.total_limit if job.total_limit is not None else sum(job.test_limits)
    cpu_seconds = math.ceil(limits.startup_seconds + job.load_limit + budget) + 2
    # Candidate uids, unique in this process; the fork server's monitor takes the first
    # one no live process uses (a probe as that uid) and owns the work dir to it.
    candidates = UIDS.take_several(UID_CANDIDATES) if running_as_root() else []
    uid = candidates[0] if candidates else None
    marker = f"GRADEBENCH_SANDBOX={os.getpid()}-{random.getrandbits(64):016x}"
    workdir = tempfile.mkdtemp(prefix="gradebench-sandbox-")
    job_r, job_w = os.pipe()
    result_r, result_w = os.pipe()
    _widen_pipe(job_w)
    _widen_pipe(result_w)
    config = {
        "job_fd": job_r,
        "result_fd": result_w,
        "uid": uid,
        "limits": {
            "niceness": limits.niceness,
            "memory_bytes": limits.memory_bytes,
            "cpu_seconds": cpu_seconds,
            "file_bytes": limits.file_bytes,
            "open_files": limits.open_files,
            "processes": limits.processes,
            "work_dir_bytes": limits.work_dir_bytes,
        },
    }
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": "/tmp",
        marker.split("=")[0]: marker.split("=")[1],
    }
    prepared = job.prepared_args or tuple(prepare_args(args) for _, args in job.tests)
    payload = pickle.dumps(
        {
            "code": job.code,
            "entry_point": job.entry_point,
            "kind": job.kind,
            "take": job.take,
            "tests": [
                (index, form, data)
                for (index, _), (form, data) in zip(job.tests, prepared, strict=True)
            ],
        },
        protocol=5,
    )
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    status_r, status_w = os.pipe()
    request = {"config": config, "env": env, "workdir": workdir, "uids": candidates}
    try:
        if uid is not None:
            fds = [job_r, result_w, out_w, err_w, status_w]
            process: ForkedChild | ExecChild = FORK_SERVER.start(request, fds, status_r)
            uid = process.uid
        else:
            os.close(status_r)
            process = ExecChild(request, job_r, result_w, out_w, err_w)
    except BaseException:
        for fd in (job_w, result_r, out_r, err_r):
            os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)
        for candidate in candidates:
            UIDS.give_back(candidate)
        raise
    finally:
        for fd in (job_r, result_w, out_w, err_w, status_w):
            os.close(fd)
    for candidate in candidates:
        if candidate != uid:
            UIDS.give_back(candidate)
    process.stdout, process.stderr = os.fdopen(out_r, "rb", 0), os.fdopen(err_r, "rb", 0)
    out_reader = _CappedReader(process.stdout, limits.output_bytes)
    err_reader = _CappedReader(process.stderr, limits.output_bytes)
    writer = threading.Thread(target=_write_all, args=(job_w, payload), daemon=True)
    for thread in (out_reader, err_reader, writer):
        thread.start()
    load = machine_load()
    cpu_used: tuple[float | None, float | None] | None = None
    try:
        watched = watch_results(process, result_r, job, limits, len(payload))
        if watched.stopped == "timeout":
            cpu_used = group_cpu_seconds(process.pid), run_delay_seconds(process.pid)
    finally:
        kill_group(process.pid)
        if process.wait(timeout=5) is None:
            kill_group(process.pid)
            process.wait(timeout=5)
        # The monitor already asked, as the sandbox uid, whether anything is left:
        # only then is the full sweep (scan, uid-wide kill, scan) needed.
        leftovers = sweep_sandbox(uid, marker) if process.uid_busy else 0
        process.close()
        os.close(result_r)
        writer.join(timeout=2)
        out_reader.join(timeout=2)
        err_reader.join(timeout=2)
        process.stdout.close()
        process.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if uid is not None:
            UIDS.give_back(uid)
    decode_results(watched, job)
    return SandboxResult(
        outcomes=tuple(watched.outcomes),
        matched=tuple(watched.matched),
        stopped=watched.stopped,
        stopped_test=watched.stopped_test,
        message=watched.message,
        load_error=watched.load_error,
        exit_code=process.returncode if watched.stopped else None,
        stdout=out_reader.text(),
        stderr=err_reader.text(),
        seconds=time.monotonic() - started,
        isolation={**watched.isolation, "wall_seconds": round(budget, 3), **load},
        uid=uid,
        leftovers_killed=leftovers,
        cpu_seconds=None if cpu_used is None else cpu_used[0],
        wait_seconds=None if cpu_used is None else cpu_used[1],
    )


def group_cpu_seconds(leader: int) -> float | None:
    """User + system CPU seconds of every live process in ``leader``'s process group (the
    child and whatever it forked), from ``/proc/PID/stat`` (None when none can be read)."""
    total, seen = 0, False
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                text = stat.read()
            fields = text[text.rindex(b")") + 2 :].split()
            if int(fields[2]) != leader:  # pgrp (field 5)
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
            seen = True
        except (OSError, ValueError, IndexError):
            continue
    return total / tick if seen else None


def run_delay_seconds(pid: int) -> float | None:
    """Seconds the process spent runnable but waiting for a CPU (``/proc/PID/schedstat``,
    second field; None when it cannot be read)."""
    try:
        with open(f"/proc/{pid}/schedstat", "rb") as schedstat:
            return int(schedstat.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def machine_load() -> dict[str, object]:
    """The machine's load when a test run starts: the 1-minute load average and the
    generation threads this process has running (``thread_budget``)."""
    from gradebench.engine.generation.thread_budget import threads_generating

    try:
        average = round(os.getloadavg()[0], 2)
    except OSError:
        average = None
    return {"load_average": average, "threads_generating": threads_generating()}


def _write_all(fd: int, payload: bytes) -> None:
    try:
        view = memoryview(payload)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    except OSError:
        pass
    finally:
        os.close(fd)
