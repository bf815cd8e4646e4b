"""Opening ``grades.db``: migrations, WAL, busy timeout; ids and timestamps.

Everything that writes goes through a ``sqlite_utils.Database`` from ``open_db``.
Each write is its own short transaction (``with db.conn:``) so a crash loses at
most what was being streamed, never a grade.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from ulid import ULID

from engine.errors import UserError
from engine.schema import SCHEMA_VERSION, migrations

BUSY_TIMEOUT_MS = 5000


def new_id() -> str:
    """A ULID: unique, sortable by creation time."""
    return str(ULID())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@contextmanager
def _migration_lock(path: Path):
    """Serialise migrations between processes opening the same file at once.

    ``flock`` on the database file itself: independent of SQLite's own POSIX
    locks on Linux, and it needs no extra file beside the database.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _apply_migrations(db: Database, path: Path) -> None:
    if (
        not migrations.pending(db)
        and db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    ):
        return
    with _migration_lock(path):
        migrations.apply(db)  # re-checks what is pending under the lock
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def open_db(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) and upgrade a gradebench database."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise UserError(f"database {path}: is a directory")
    if not path.parent.exists():
        raise UserError(f"database {path}: folder {path.parent} does not exist")
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        if migrate:
            _apply_migrations(db, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"database {path}: {exc}") from None
    return db
