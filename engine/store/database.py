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

from ulid import ULID

from gradebench.engine.errors import UserError
from gradebench.engine.store.migrations import SCHEMA_VERSION, migrations
from gradebench.engine.store.sqlite import Database

BUSY_TIMEOUT_MS = 5000


def new_id() -> str:
    """A ULID: unique, sortable by creation time."""
    return str(ULID())


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def rows_as_dicts(db: Database, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    """The rows of a query as dicts keyed by column name."""
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The file behind a connection (None: an in-memory database)."""
    for _, name, path in conn.execute("PRAGMA database_list"):
        if name == "main" and path:
            return Path(path)
    return None


def sha256_text(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@contextmanager
def _folder_lock(path: Path):
    """Serialise, between processes opening the same file at once, entering WAL mode
    (two first readers of the shared-memory index: one gets SQLITE_BUSY at once, no
    busy timeout) and the migrations.

    ``flock`` on the folder holding the database (no extra file beside it), never on
    the database file: closing any descriptor of that file drops every POSIX lock
    this process holds on it, SQLite's too. In WAL mode each connection keeps a
    shared lock on the file while it is open; without it, another process closing
    its last connection takes itself for the only user, checkpoints and deletes the
    ``-wal`` file this process is still writing into, and every later write is lost.
    """
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
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
    with _folder_lock(path):
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
        with _folder_lock(path):
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        if migrate:
            _apply_migrations(db, path)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"database {path}: {exc}") from None
    return db
