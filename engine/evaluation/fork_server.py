"""Starting a sandbox child. As root, a fork server (one detached ``python -I -S -u -c
<harness>`` per parent process, ``harness._serve``) forks each child through a per-job
monitor that reports the child's pid and exit status on a status pipe (read here as
untrusted: numbers checked, lines capped) and whether any process of the sandbox uid is
left; without root every child is a fresh interpreter (``ExecChild``). Both look like the
parts of ``subprocess.Popen`` the sandbox uses.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from gradebench.engine.evaluation import harness

HARNESS_SOURCE = Path(harness.__file__).read_text(encoding="utf-8")


STATUS_LINE_BYTES = 4096


"""Longest line accepted on a monitor's status pipe (``pid N UID``, ``exit CODE LEFT``)."""


def _small_int(text: bytes) -> int | None:
    """An optionally signed decimal of at most 18 digits, or None (never raises)."""
    digits = text[1:] if text[:1] == b"-" else text
    if not 0 < len(digits) <= 18 or not digits.isdigit():
        return None
    return int(text)


class ForkedChild:
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


class ExecChild:
    """Without root: a fresh ``python -I -S -u -c <harness>`` per answer, whose environment
    (with the sweep's marker) is what ``/proc/PID/environ`` shows for it and anything it
    forks; the same interface as ``ForkedChild``."""

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


class ForkServer:
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

    def start(self, request: dict, fds: list[int], status_fd: int) -> ForkedChild:
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
        return ForkedChild(pid, uid, status_fd, rest)


FORK_SERVER = ForkServer()


def interpreter() -> str:
    """The base Python executable (the venv's symlink target): the child needs no venv."""
    return os.path.realpath(sys.executable)
