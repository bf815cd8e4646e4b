"""Finding and killing everything an answer started: fresh sandbox uids handed out one per
running child, the processes of a uid (or, without root, of an environment marker) read
from ``/proc``, and the sweep that SIGKILLs them until none is left (``kill(-1)`` sent as
the sandbox uid, which a concurrent fork cannot slip through).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import threading
import time

UID_RANGE = (1_600_000, 2_000_000)


"""Fresh uids for sandboxes: far above any real account, never reused concurrently."""


UID_CANDIDATES = 4


"""uids offered per child; the monitor uses the first one no process holds."""


class UidPool:
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


UIDS = UidPool()


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


def sweep_sandbox(uid: int | None, marker: str) -> int:
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


def kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # the child may not have made its session yet
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
