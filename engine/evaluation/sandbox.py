"""Running untrusted code in a child process: limits, isolation, deadlines, kill, capture.

One child per answer, running ``engine/evaluation/harness.py`` in a new session (so its process
group can be killed at once), with its own temporary directory as cwd (deleted
afterwards), stdin from ``/dev/null``, a clean environment, and
stdout/stderr read incrementally by threads that keep only the first
``output_bytes`` of each (the rest is read and dropped, so neither memory nor the
child's writes are ever blocked).

As root the child is forked by a fork server (``_ForkServer``: one detached
``python -I -S -u -c <harness>`` per parent process, see ``harness._serve``) through a
per-job monitor that reports the child's pid and exit status on a status pipe and
whether any process of the sandbox uid is left; without root every child is a fresh
``python -I -S -u -c <harness>`` (``_ExecChild``).

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
result-channel line is checked in full by ``parse_control`` or ``parse_result``
before anything uses it, and every wrong shape, bad encoding, too deep nesting, out
of order or repeated message, or a channel closed early stops the child with
``stopped="protocol"`` (a verdict ``error`` for that answer), never an exception in
the parent. Memory is bounded by ``SandboxLimits.result_bytes`` and waiting by the
deadlines.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import pickle
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradebench.engine.evaluation import harness

HARNESS_SOURCE = Path(harness.__file__).read_text(encoding="utf-8")
UID_RANGE = (1_600_000, 2_000_000)
"""Fresh uids for sandboxes: far above any real account, never reused concurrently."""
UID_CANDIDATES = 4
"""uids offered per child; the monitor uses the first one no process holds."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one child; defaults suit one answer to one problem."""

    memory_bytes: int = 4 << 30
    """Address space (RLIMIT_AS): 4 GiB, as EvalPlus allows (HumanEval/130's reference needs more than 1)."""
    file_bytes: int = 16 << 20
    processes: int = 32
    open_files: int = 64
    work_dir_bytes: int = 64 << 20
    """Size of the tmpfs the work dir becomes (with the mount namespace)."""
    output_bytes: int = 64 << 10
    """stdout and stderr kept, each; the rest is read and discarded."""
    result_bytes: int = 1 << 30
    """Most bytes accepted on the result channel before the child is stopped."""
    startup_seconds: float = 10.0
    """Interpreter start and isolation, before any candidate code (generous: the
    machine is shared and a slow start is never the answer's fault)."""


@dataclass(frozen=True)
class SandboxJob:
    """What the child runs: code, its entry point, and tests in the order to run them."""

    code: str
    entry_point: str
    tests: tuple[tuple[int, Any], ...]
    """``(test index, args)``; args are plain data, sent encoded."""
    test_limits: tuple[float, ...]
    """Seconds per test, in run order."""
    kind: str = "function"
    take: int | None = None
    prepared_args: tuple[tuple[str, bytes | str], ...] | None = None
    """``prepare_args`` of each test's args, same order as ``tests``, when the caller
    has them cached (preparing large inputs takes time)."""
    total_limit: float | None = None
    """When set, all tests share this many seconds instead of ``test_limits``."""
    load_limit: float = 2.0
    """Seconds for the candidate's module-level code."""
    expected_encoded: tuple[bytes | memoryview | None, ...] | None = None
    """Parent side only, never sent to the child: per test in run order, an encoded
    output (UTF-8 bytes) that counts as a match when the child's output is that exact text (then the
    test is listed in ``SandboxResult.matched`` and its output is never decoded)."""
    decode_outputs: bool = True
    """False: returned values stay encoded text (``TestOutcome.text``), for a caller
    that keeps them as text anyway (the reference's outputs, which are cached so)."""


@dataclass(frozen=True)
class TestOutcome:
    """What one test call did: returned a value, or raised."""

    __test__ = False

    index: int
    returned: bool
    output: Any = None
    error_type: str = ""
    message: str = ""
    seconds: float = 0.0
    text: bytes | None = None
    """The output as encoded text (UTF-8), not decoded (``output`` stays None), when the
    job said ``decode_outputs=False``."""


@dataclass(frozen=True)
class SandboxResult:
    """Everything the parent observed about one child."""

    outcomes: tuple[TestOutcome, ...]
    """Every test that ran, in run order, except the ``matched`` ones."""
    stopped: str | None = None
    """None when every test ran; else ``startup``, ``load_error``, ``timeout``,
    ``exited`` (the child died or quit early) or ``protocol`` (garbage on the
    result channel)."""
    stopped_test: int | None = None
    """Index of the test running when the child was stopped (None: before tests)."""
    message: str = ""
    load_error: tuple[str, str] | None = None
    exit_code: int | None = None
    """Negative: killed by that signal."""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    uid: int | None = None
    leftovers_killed: int = 0
    """Processes of the sandbox still alive after the child ended, killed by the sweep."""
    matched: tuple[tuple[int, float], ...] = ()
    """(test index, seconds) of each test whose output was exactly the job's
    ``expected_encoded`` text: passed, recognised while reading, never decoded."""


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


class _UidPool:
    """Hands out sandbox uids no live process uses, one per running child."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_use: set[int] = set()

    def take(self) -> int:
        with self._lock:
            while True:
                uid = random.randrange(*UID_RANGE)
                if uid not in self._in_use and not processes_of_uid(uid):
                    self._in_use.add(uid)
                    return uid

    def take_several(self, count: int) -> list[int]:
        """``count`` uids not in use here; whether other processes use them is for the
        fork server's monitor to check (``harness._uid_has_processes``)."""
        with self._lock:
            taken: list[int] = []
            while len(taken) < count:
                uid = random.randrange(*UID_RANGE)
                if uid not in self._in_use:
                    self._in_use.add(uid)
                    taken.append(uid)
            return taken

    def give_back(self, uid: int) -> None:
        with self._lock:
            self._in_use.discard(uid)


_UIDS = _UidPool()


def _status_fields(pid: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError:
        pass
    return fields


def processes_of_uid(uid: int) -> list[int]:
    """Live (non-zombie) processes whose real or effective uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _status_fields(entry)
        uids = fields.get("Uid", "").split()
        if len(uids) >= 2 and str(uid) in uids[:2] and not fields.get("State", "").startswith("Z"):
            found.append(int(entry))
    return found


def processes_with_marker(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (the sweep without root)."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                holds_marker = needle in handle.read()
            if holds_marker and not _status_fields(entry).get("State", "").startswith("Z"):
                found.append(int(entry))
        except OSError:
            continue
    return found


def _kill_every_process_of(uid: int) -> None:
    """``kill(-1, SIGKILL)`` sent as ``uid``: the kernel signals every process of that uid
    in one pass that a concurrent fork cannot slip through (the sender is spared)."""
    kill = shutil.which("kill", path="/usr/bin:/bin")
    if kill is None:
        return
    try:
        subprocess.run(
            [kill, "-s", "KILL", "--", "-1"],
            user=uid,
            group=uid,
            extra_groups=[],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin"},
            cwd="/",
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        pass


def _sweep(uid: int | None, marker: str) -> int:
    """SIGKILL every process of the sandbox until none is left; returns how many."""
    killed = 0
    empty_scans = 0
    for attempt in range(200):
        pids = processes_of_uid(uid) if uid is not None else processes_with_marker(marker)
        empty_scans = 0 if pids else empty_scans + 1
        # One empty scan after the uid-wide kill is proof enough; the marker scan alone
        # is not atomic, so it must come back empty a few times in a row.
        if empty_scans >= (1 if uid is not None else 3) and attempt > 0:
            return killed
        if uid is not None:
            _kill_every_process_of(uid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.002 * min(attempt + 1, 10))
    return killed


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # the child may not have made its session yet
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


STATUS_LINE_BYTES = 4096
"""Longest line accepted on a monitor's status pipe (``pid N UID``, ``exit CODE LEFT``)."""


def _small_int(text: bytes) -> int | None:
    """An optionally signed decimal of at most 18 digits, or None (never raises)."""
    digits = text[1:] if text[:1] == b"-" else text
    if not 0 < len(digits) <= 18 or not digits.isdigit():
        return None
    return int(text)


class _ForkedChild:
    """A sandbox child forked by the fork server, seen through its monitor's status pipe:
    the parts of ``subprocess.Popen`` the sandbox uses."""

    def __init__(self, pid: int, uid: int, status_fd: int, pending: bytes) -> None:
        self.pid = pid
        self.uid = uid
        self.returncode: int | None = None
        self.uid_busy = True
        """Whether processes of the sandbox uid may be left (the monitor says no only
        when a ``kill(-1, 0)`` sent as that uid found none)."""
        self.stdout: Any = None
        self.stderr: Any = None
        self._fd = status_fd
        self._buffer = pending

    def _read(self, timeout: float | None) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if b"\n" in self._buffer:
                line, _, self._buffer = self._buffer.partition(b"\n")
                parts = line.split()
                if len(parts) == 3 and parts[0] == b"exit":
                    code = _small_int(parts[1])
                    # unreadable: as if the monitor died (killed, full sweep)
                    self.returncode = -signal.SIGKILL if code is None else code
                    self.uid_busy = code is None or parts[2] != b"0"
                continue
            if len(self._buffer) > STATUS_LINE_BYTES:  # no line is this long: not the monitor
                self.returncode = -signal.SIGKILL
                return
            wait = None if end is None else max(0.0, end - time.monotonic())
            ready, _, _ = select.select([self._fd], [], [], wait)
            if not ready:
                return
            chunk = os.read(self._fd, 4096)
            if not chunk:  # the monitor died: treat as killed, sweep in full
                self.returncode = -signal.SIGKILL
                return
            self._buffer += chunk

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        self._read(timeout)
        return self.returncode

    def close(self) -> None:
        os.close(self._fd)


class _ExecChild:
    """Without root: a fresh ``python -I -S -u -c <harness>`` per answer, whose environment
    (with the sweep's marker) is what ``/proc/PID/environ`` shows for it and anything it
    forks; the same interface as ``_ForkedChild``."""

    uid_busy = True

    def __init__(self, request: dict, job_r: int, result_w: int, out_w: int, err_w: int) -> None:
        self._popen = subprocess.Popen(
            [interpreter(), "-I", "-S", "-u", "-c", HARNESS_SOURCE, json.dumps(request["config"])],
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            pass_fds=(job_r, result_w),
            cwd=request["workdir"],
            env=request["env"],
            start_new_session=True,
        )
        self.pid = self._popen.pid
        self.stdout: Any = None
        self.stderr: Any = None

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    def poll(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        pass


class _ForkServer:
    """One pre-started harness interpreter per parent process (``harness._serve``) that
    forks each sandbox child, so an answer does not pay for a Python start-up. Started
    on first use with a clean environment, detached (it is nobody's child, so it is never
    mistaken for something an answer left behind); it ends when this process closes its
    socket, and is started again when a send finds it gone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None

    def _ensure(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            launcher = subprocess.Popen(
                [
                    interpreter(),
                    "-I",
                    "-S",
                    "-u",
                    "-c",
                    HARNESS_SOURCE,
                    "--serve",
                    str(theirs.fileno()),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                cwd="/",
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
            )
            launcher.wait()  # the server forks itself away and this launcher exits
        finally:
            theirs.close()
        ours.set_inheritable(False)
        self._sock = ours
        return ours

    def start(self, request: dict, fds: list[int], status_fd: int) -> _ForkedChild:
        """Send one job; returns once the child exists (its pid came back)."""
        data = json.dumps(request).encode()
        try:
            with self._lock:
                for attempt in range(2):
                    sock = self._ensure()
                    try:
                        socket.send_fds(sock, [data], fds)
                        break
                    except OSError:
                        if attempt:
                            raise
                        sock.close()
                        self._sock = None
        except BaseException:
            os.close(status_fd)
            raise
        pending = b""
        deadline = time.monotonic() + 10
        while b"\n" not in pending:
            ready, _, _ = select.select([status_fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(status_fd, 4096) if ready else b""
            if not chunk:
                os.close(status_fd)
                raise OSError("the sandbox fork server did not start a child")
            pending += chunk
        line, _, rest = pending.partition(b"\n")
        parts = line.split()
        if len(parts) != 3 or parts[0] != b"pid":
            os.close(status_fd)
            raise OSError("the sandbox fork server found no free uid among the candidates")
        pid, uid = _small_int(parts[1]), _small_int(parts[2])
        if pid is None or uid is None or pid <= 0:
            os.close(status_fd)
            raise OSError(f"the sandbox fork server sent an unreadable status line: {line[:80]!r}")
        return _ForkedChild(pid, uid, status_fd, rest)


_FORK_SERVER = _ForkServer()


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


def interpreter() -> str:
    """The base Python executable (the venv's symlink target): the child needs no venv."""
    return os.path.realpath(sys.executable)


def run_in_sandbox(job: SandboxJob, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run ``job`` in a fresh isolated child and collect the outputs; never raises for
    anything the candidate code does."""
    limits = limits or SandboxLimits()
    started = time.monotonic()
    budget = job.total_limit if job.total_limit is not None else sum(job.test_limits)
    cpu_seconds = math.ceil(limits.startup_seconds + job.load_limit + budget) + 2
    # Candidate uids, unique in this process; the fork server's monitor takes the first
    # one no live process uses (a probe as that uid) and owns the work dir to it.
    candidates = _UIDS.take_several(UID_CANDIDATES) if running_as_root() else []
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
            process: _ForkedChild | _ExecChild = _FORK_SERVER.start(request, fds, status_r)
            uid = process.uid
        else:
            os.close(status_r)
            process = _ExecChild(request, job_r, result_w, out_w, err_w)
    except BaseException:
        for fd in (job_w, result_r, out_r, err_r):
            os.close(fd)
        shutil.rmtree(workdir, ignore_errors=True)
        for candidate in candidates:
            _UIDS.give_back(candidate)
        raise
    finally:
        for fd in (job_r, result_w, out_w, err_w, status_w):
            os.close(fd)
    for candidate in candidates:
        if candidate != uid:
            _UIDS.give_back(candidate)
    process.stdout, process.stderr = os.fdopen(out_r, "rb", 0), os.fdopen(err_r, "rb", 0)
    out_reader = _CappedReader(process.stdout, limits.output_bytes)
    err_reader = _CappedReader(process.stderr, limits.output_bytes)
    writer = threading.Thread(target=_write_all, args=(job_w, payload), daemon=True)
    for thread in (out_reader, err_reader, writer):
        thread.start()
    try:
        watched = _watch(process, result_r, job, limits, len(payload))
    finally:
        _kill_group(process.pid)
        if process.wait(timeout=5) is None:
            _kill_group(process.pid)
            process.wait(timeout=5)
        # The monitor already asked, as the sandbox uid, whether anything is left:
        # only then is the full sweep (scan, uid-wide kill, scan) needed.
        leftovers = _sweep(uid, marker) if process.uid_busy else 0
        process.close()
        os.close(result_r)
        writer.join(timeout=2)
        out_reader.join(timeout=2)
        err_reader.join(timeout=2)
        process.stdout.close()
        process.stderr.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if uid is not None:
            _UIDS.give_back(uid)
    _decode_results(watched, job)
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
        isolation={**watched.isolation, "wall_seconds": round(budget, 3)},
        uid=uid,
        leftovers_killed=leftovers,
    )


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


@dataclass
class _Watch:
    outcomes: list[TestOutcome] = field(default_factory=list)
    raw_results: list[bytes] = field(default_factory=list)
    """Result lines, decoded after the child is done so decoding a huge output
    never eats into the next test's time."""
    stopped: str | None = None
    stopped_test: int | None = None
    message: str = ""
    load_error: tuple[str, str] | None = None
    isolation: dict[str, Any] = field(default_factory=dict)
    matched: list[tuple[int, float]] = field(default_factory=list)


def _watch(
    process: _ForkedChild | _ExecChild,
    result_fd: int,
    job: SandboxJob,
    limits: SandboxLimits,
    payload_bytes: int,
) -> _Watch:
    """Read result lines against deadlines until ``done``, EOF, a timeout or garbage."""
    watch = _Watch()
    # Per test in run order: the start of its ``ok`` line and the expected output's
    # text, so a line carrying exactly that text is recognised by two comparisons in
    # place (the text is compared where it lies, never copied or parsed).
    heads = _ok_line_heads(max((index for index, _ in job.tests), default=-1) + 1)
    prefixes = [
        None if want is None else (heads[index], want)
        for (index, _), want in zip(job.tests, job.expected_encoded or (), strict=False)
    ]
    phase = "startup"
    deadline = time.monotonic() + limits.startup_seconds
    tests_started = 0.0
    position = 0
    buffer = bytearray()
    scan_from = 0
    received = 0
    exited_at: float | None = None

    def stop(reason: str, message: str) -> _Watch:
        watch.stopped = reason
        watch.message = message
        if phase == "tests" and position < len(job.tests):
            watch.stopped_test = job.tests[position][0]
        return watch

    def next_deadline(now: float) -> float:
        if job.total_limit is not None:
            return tests_started + job.total_limit
        return now + job.test_limits[position] if position < len(job.tests) else now + 1.0

    while True:
        now = time.monotonic()
        if now >= deadline:
            what = {
                "startup": "starting the sandbox",
                "prepare": "reading the test inputs",
                "load": "loading the answer",
            }.get(
                phase,
                f"running test {job.tests[position][0]}" if position < len(job.tests) else "exit",
            )
            if phase in ("startup", "prepare"):
                return stop(
                    "startup", f"the sandbox did not start within {limits.startup_seconds}s"
                )
            return stop("timeout", f"time limit exceeded while {what}")
        ready, _, _ = select.select([result_fd], [], [], min(deadline - now, 0.05))
        if not ready:
            if process.poll() is not None:
                # The child is gone but something it started may hold the pipe open.
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > 0.2:
                    return stop("exited", _exit_message(process.returncode))
            continue
        chunk = os.read(result_fd, 1 << 20)
        if not chunk:
            # The channel is closed: no more results can come. The child is given until
            # the deadline to exit (never longer: one that closed it and sleeps on is
            # killed after this returns).
            if process.wait(timeout=max(0.0, deadline - time.monotonic())) is None:
                return stop("protocol", "protocol: the answer closed the result channel")
            return stop("exited", _exit_message(process.returncode))
        received += len(chunk)
        if received > limits.result_bytes:
            return stop(
                "protocol", "protocol: the answer's outputs exceed the result channel's cap"
            )
        buffer += chunk
        line_start = 0
        while True:
            if phase == "tests" and position < len(prefixes):
                # Lines that are exactly an expected output: recognised in place, in a
                # tight loop (no copy of the line, no parsing), the deadline set once.
                start, position = _matched_lines(buffer, line_start, prefixes, position, job, watch)
                if start != line_start:
                    line_start = scan_from = start
                    deadline = next_deadline(time.monotonic())
            newline = buffer.find(b"\n", scan_from)
            if newline < 0:
                break
            with memoryview(buffer) as view:  # one copy of the line, not two
                line = view[line_start:newline].tobytes()
            line_start = scan_from = newline + 1
            now = time.monotonic()
            # A result line is recognised by its header (index at most 18 digits) and
            # checked in full when decoded (``parse_result``); anything else must be a
            # well-formed control message (``parse_control``) or the child is stopped.
            header = _RESULT_HEADER.match(line)
            payload: Any = None
            if header is not None:
                kind, index = header.group(1).decode(), int(header.group(2))
            else:
                try:
                    kind, payload = parse_control(line)
                except ProtocolError as exc:
                    return stop("protocol", str(exc))
                index = -1
            if phase == "startup" and kind == "ready":
                watch.isolation = payload
                phase = "prepare"
                deadline = now + limits.startup_seconds + payload_bytes / 2_000_000
            elif phase == "prepare" and kind == "prepared":
                phase = "load"
                deadline = now + job.load_limit
            elif phase == "load" and kind == "loaded":
                phase = "tests"
                tests_started = now
                deadline = next_deadline(now)
            elif phase == "load" and kind == "load_error":
                watch.load_error = payload
                return stop("load_error", f"{payload[0]}: {payload[1]}")
            elif phase == "tests" and header is not None and position < len(job.tests):
                if index != job.tests[position][0]:
                    return stop(
                        "protocol", "protocol: results arrived out of order on the result channel"
                    )
                watch.raw_results.append(line)
                position += 1
                deadline = next_deadline(now)
            elif phase == "tests" and kind == "done" and position == len(job.tests):
                return watch
            else:
                return stop("protocol", f"protocol: unexpected {kind!r} on the result channel")
        del buffer[:line_start]
        scan_from = len(buffer)


_RESULT_HEADER = re.compile(rb'\["(ok|raise)","(0|[1-9][0-9]{0,17})",')
"""The start of a result line as the harness writes it: kind, then the test index
(decimal, no leading zero, at most 18 digits: ``int`` of it is cheap and never fails)."""

_INDEX = re.compile(r"0|[1-9][0-9]{0,17}")
UNREADABLE = "protocol: unreadable data on the result channel"
CONTROL_ARITY = {"ready": 2, "prepared": 1, "loaded": 1, "load_error": 3, "done": 1}
"""Every control message (a line that is not a result): its kind and how many items
its JSON list holds, all of them strings."""
LOAD_ERROR_CHARS = 2 * harness.MESSAGE_CHARS
"""A ``load_error``'s type and message are cut to this length (the harness cuts them
shorter; a longer one can only come from the answer)."""


class ProtocolError(ValueError):
    """A line on the result channel that is not the protocol; its text is the one-line
    reason (``SandboxResult.message``)."""


def _load_line(line: bytes) -> Any:
    """``json.loads`` of one line as UTF-8 (what the harness writes), any failure (bad
    UTF-8, bad JSON, nesting past the recursion limit) as ``ProtocolError``."""
    try:
        return json.loads(line.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ProtocolError(UNREADABLE) from None


def parse_control(line: bytes) -> tuple[str, Any]:
    """A control message, checked in full: ``(kind, payload)`` where the payload is the
    isolation dict for ``ready``, ``(type, message)`` for ``load_error``, else None.
    Anything else raises ``ProtocolError``: a wrong shape never reaches the caller."""
    message = _load_line(line)
    if type(message) is not list or not message or type(message[0]) is not str:
        raise ProtocolError(UNREADABLE)
    kind = message[0]
    arity = CONTROL_ARITY.get(kind)
    if arity is None:
        raise ProtocolError(f"protocol: unexpected {kind[:40]!r} on the result channel")
    if len(message) != arity or any(type(item) is not str for item in message[1:]):
        raise ProtocolError(f"protocol: malformed {kind!r} on the result channel")
    if kind == "ready":
        isolation = _load_line(message[1].encode("utf-8", "surrogatepass"))
        if type(isolation) is not dict:
            raise ProtocolError("protocol: malformed 'ready' on the result channel")
        return kind, isolation
    if kind == "load_error":
        return kind, (message[1][:LOAD_ERROR_CHARS], message[2][:LOAD_ERROR_CHARS])
    return kind, None


_OK_LINE_HEADS: list[bytes] = []
_OK_LINE_HEADS_LOCK = threading.Lock()


def _ok_line_heads(count: int) -> list[bytes]:
    """``["ok","N",`` as bytes for every test index N below ``count`` (made once per
    process, not per answer: HumanEval+ has 124,253 tests)."""
    if len(_OK_LINE_HEADS) < count:
        with _OK_LINE_HEADS_LOCK:
            _OK_LINE_HEADS.extend(
                f'["ok","{index:d}",'.encode() for index in range(len(_OK_LINE_HEADS), count)
            )
    return _OK_LINE_HEADS


def _matched_lines(
    buffer: bytearray,
    start: int,
    prefixes: list[tuple[bytes, bytes | memoryview] | None],
    position: int,
    job: SandboxJob,
    watch: _Watch,
) -> tuple[int, int]:
    """From ``start``, take every complete line that is ``prefixes[position]``'s line
    start, then its expected text (then the next test's), then ``,"`` + seconds + ``"]``;
    record each in ``watch.matched``; return where the first other line (or an
    incomplete one) begins, and the position of its test."""
    while position < len(prefixes):
        prefix = prefixes[position]
        if prefix is None:
            break
        line_head, want = prefix
        text_start = start + len(line_head)
        field_start = text_start + len(want) + 2
        if not (
            buffer.startswith(line_head, start)
            and buffer.startswith(want, text_start)
            and buffer.startswith(b',"', field_start - 2)
        ):
            break
        newline = buffer.find(b"\n", field_start, field_start + 48)
        if newline < 0:
            break
        field = bytes(buffer[field_start:newline])
        if not field.endswith(b'"]'):
            break
        try:
            seconds = float(field[:-2])
        except ValueError:
            break
        if not 0.0 <= seconds < math.inf:  # NaN, infinite, negative: the full parser says no
            break
        watch.matched.append((job.tests[position][0], seconds))
        position += 1
        start = newline + 1
    return start, position


def _decode_results(watch: _Watch, job: SandboxJob) -> None:
    """Turn the raw result lines into outcomes; garbage stops at the first bad line."""
    from gradebench.engine.evaluation.compare import Opaque

    for line in watch.raw_results:
        if not job.decode_outputs and line.startswith(b'["ok",'):
            outcome = _text_outcome(line)
            if outcome is not None:
                watch.outcomes.append(outcome)
                continue
        try:
            watch.outcomes.append(parse_result(line, Opaque))
        except ProtocolError as exc:
            watch.stopped_test = None
            watch.stopped = "protocol"
            watch.message = str(exc)
            break
    watch.raw_results.clear()


def _text_outcome(line: bytes) -> TestOutcome | None:
    """The outcome of an ``ok`` line with its value left as text; None if malformed.
    Split at the header and at the last ``,"`` (the seconds field), with no regex over
    the value (it can be many megabytes)."""
    header = _RESULT_HEADER.match(line)
    if header is None or header.group(1) != b"ok" or not line.endswith(b'"]'):
        return None
    start = header.end()
    tail = line.rfind(b',"', start)
    if tail <= start:
        return None
    seconds = _seconds(line[tail + 2 : -2])
    text = line[start:tail]
    if seconds is None:
        return None
    if not text.isascii():  # the harness writes ASCII; anything else must be UTF-8
        try:
            text.decode("utf-8", "surrogatepass")
        except ValueError:
            return None
    return TestOutcome(index=int(header.group(2)), returned=True, seconds=seconds, text=text)


def _seconds(text: str | bytes) -> float | None:
    """A test's time as the harness writes it (a float's repr): finite and not
    negative, else None."""
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0.0 <= seconds < math.inf else None


def parse_result(line: bytes, opaque: type | None = None) -> TestOutcome:
    """A result line, checked in full and its value decoded: ``["ok", index, value,
    seconds]`` or ``["raise", index, type, message, seconds]`` with the index a header
    ``_RESULT_HEADER`` accepts, strings where strings belong, seconds finite and not
    negative, and a value ``harness.decode_node`` reads. Anything else raises
    ``ProtocolError``."""
    message = _load_line(line)
    if type(message) is not list or not message:
        raise ProtocolError(UNREADABLE)
    kind = message[0]
    if not ((kind == "ok" and len(message) == 4) or (kind == "raise" and len(message) == 5)):
        raise ProtocolError(UNREADABLE)
    index, seconds = message[1], message[-1]
    if type(index) is not str or _INDEX.fullmatch(index) is None:
        raise ProtocolError(UNREADABLE)
    if type(seconds) is not str or (seconds := _seconds(seconds)) is None:
        raise ProtocolError(UNREADABLE)
    if kind == "raise":
        error_type, text = message[2], message[3]
        if type(error_type) is not str or type(text) is not str:
            raise ProtocolError(UNREADABLE)
        return TestOutcome(
            index=int(index),
            returned=False,
            error_type=error_type[:LOAD_ERROR_CHARS],
            message=text[:LOAD_ERROR_CHARS],
            seconds=seconds,
        )
    try:
        output = harness.decode_node(message[2], opaque)
    except Exception:  # any wrong shape, whatever the decoder trips on (RecursionError too)
        raise ProtocolError(UNREADABLE) from None
    return TestOutcome(index=int(index), returned=True, output=output, seconds=seconds)


def _exit_message(code: int | None) -> str:
    if code is None:
        return "the answer's process ended early"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the answer's process was killed by {name}"
    return f"the answer's process exited with code {code} before finishing the tests"
