"""The ``runs`` table: one row per process that writes answers or grades (a ``generate``
batch, a grading session), and whether a run is still alive.

A run records its host (hostname, pid, versions) so answers left ``streaming`` by a run
that died are recognised: on the same host by its pid, elsewhere (another host, a merged
database) by age. A run that ended sets ``finished_at``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import socket
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gradebench.engine.store.database import new_id, to_json, utc_now

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database

ORPHAN_AGE = timedelta(minutes=30)
"""A ``streaming`` row without a live process on this host is considered dead after this long."""

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


def host_info() -> dict[str, Any]:
    """What a run records about where it ran."""
    return {
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "gradebench": _version("gradebench"),
        "gpt4all": _version("gpt4all"),
    }


def start_run(
    db: Database,
    kind: str,
    suite: str | None = None,
    settings: dict[str, Any] | None = None,
    *,
    reviewer: str | None = None,
) -> str:
    """Insert a ``runs`` row (``kind``: generate or grade) and return its id."""
    run_id = new_id()
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "INSERT INTO runs (id, kind, suite, reviewer, settings, host, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                kind,
                suite,
                reviewer,
                to_json(settings or {}),
                to_json(host_info()),
                utc_now(),
            ),
        )
    return run_id


def finish_run(db: Database, run_id: str) -> None:
    """Set the run's ``finished_at`` (the first time only: a second call keeps it)."""
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "UPDATE runs SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
            (utc_now(), run_id),
        )


def run_is_dead(host_json: str | None, finished_at: str | None, started_at: str) -> bool:
    """Whether a run can no longer write: finished, its process gone (same host), or
    older than ``ORPHAN_AGE`` when its process cannot be checked (another host)."""
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
