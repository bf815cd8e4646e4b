"""The ``runs`` table: one row per process that writes answers or grades (a ``generate``
batch, a grading session), and whether a run is still alive.

A run records its host (hostname, pid, versions) so answers left ``streaming`` by a run
that died are recognised: on the same host by its pid; elsewhere (another host name, a
container, a merged database) by its heartbeat (``heartbeat_at``, written every
``HEARTBEAT_SECONDS`` by ``RunHeartbeat`` while the process lives; dead after
``CLAIM_TIMEOUT`` without one), or by age when the run never beat (older versions). A
run that ended sets ``finished_at``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import socket
import sqlite3
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradebench.engine.store.database import new_id, to_json, utc_now

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database

ORPHAN_AGE = timedelta(minutes=30)
"""A ``streaming`` row of a run that never beat, whose process cannot be checked on this
host, is considered dead after this long."""

HEARTBEAT_SECONDS = 5.0
"""How often a live run writes its ``heartbeat_at``."""

CLAIM_TIMEOUT = timedelta(seconds=60)
"""A run whose process cannot be checked here is dead once its heartbeat is this old."""

WRITE_LOCK = threading.RLock()
"""Serialises writes that share one connection across threads (every writer of this
process takes it around its transaction)."""


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The processor's name (the first ``model name`` line of ``/proc/cpuinfo``), or None
    where there is no such line (no ``/proc``, some ARM kernels)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "model name" and value.strip():
            return value.strip()
    return None


def host_info() -> dict[str, Any]:
    """What a run records about where it ran (a study report's reproducibility footer reads
    the processor and the model libraries' versions from it)."""
    return {
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "gradebench": _version("gradebench"),
        "gpt4all": _version("gpt4all"),
        "llama_cpp_python": _version("llama-cpp-python"),
    }


def start_run(
    db: Database,
    kind: str,
    suite: str | None = None,
    settings: dict[str, Any] | None = None,
    *,
    reviewer: str | None = None,
    study_sha256: str | None = None,
) -> str:
    """Insert a ``runs`` row (``kind``: generate or grade) and return its id
    (``study_sha256``: the study file a ``gradebench study run`` batch belongs to)."""
    run_id = new_id()
    now = utc_now()
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "INSERT INTO runs (id, kind, suite, reviewer, settings, host, started_at,"
            " heartbeat_at, study_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                kind,
                suite,
                reviewer,
                to_json(settings or {}),
                to_json(host_info()),
                now,
                now,
                study_sha256,
            ),
        )
    return run_id


def beat(db: Database, run_id: str) -> None:
    """Write the run's ``heartbeat_at`` (now)."""
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "UPDATE runs SET heartbeat_at = ? WHERE id = ? AND finished_at IS NULL",
            (utc_now(), run_id),
        )


class RunHeartbeat:
    """A daemon thread writing a run's heartbeat every ``HEARTBEAT_SECONDS`` on a
    connection of its own until ``stop()`` (or until the file can no longer be written)."""

    def __init__(self, db_path: Path, run_id: str, every: float = HEARTBEAT_SECONDS) -> None:
        self.db_path = Path(db_path)
        self.run_id = run_id
        self.every = every
        self.beats = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="run-heartbeat", daemon=True)

    def start(self) -> RunHeartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        from gradebench.engine.store.database import open_db

        try:
            db = open_db(self.db_path, migrate=False)
        except Exception:  # the file went away: nothing left to keep alive
            return
        try:
            while not self._stop.wait(self.every):
                try:
                    beat(db, self.run_id)
                except sqlite3.Error:
                    return
                self.beats += 1
        finally:
            db.conn.close()


def finish_run(db: Database, run_id: str) -> None:
    """Set the run's ``finished_at`` (the first time only: a second call keeps it)."""
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "UPDATE runs SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
            (utc_now(), run_id),
        )


def run_is_dead(
    host_json: str | None,
    finished_at: str | None,
    started_at: str,
    heartbeat_at: str | None = None,
) -> bool:
    """Whether a run can no longer write: finished, its process gone (same host), or,
    when its process cannot be checked here, its heartbeat older than ``CLAIM_TIMEOUT``
    (``started_at`` older than ``ORPHAN_AGE`` for a run that never beat)."""
    if finished_at:
        return True
    try:
        host = json.loads(host_json or "{}")
    except ValueError:
        host = {}
    if not isinstance(host, dict):
        host = {}
    pid = host.get("pid")
    if isinstance(pid, int) and host.get("hostname") == socket.gethostname():
        return pid != os.getpid() and not process_alive(pid)
    if heartbeat_at:
        return older_than(heartbeat_at, CLAIM_TIMEOUT)
    return older_than(started_at, ORPHAN_AGE)


def older_than(stamp: str, age: timedelta) -> bool:
    """Whether the UTC time ``stamp`` lies more than ``age`` in the past (unreadable: yes)."""
    try:
        when = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return datetime.now(UTC) - when > age
