"""Reading another gradebench file without writing to it: which migrations it records, and
a consistent copy of it (SQLite's online backup)."""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from gradebench.engine.errors import UserError


def applied_migrations(path: Path) -> list[str]:
    """The migrations a gradebench file records as applied, read without writing to it.
    Raises ``UserError`` naming the file when it is not a gradebench database."""
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise UserError(f"{path}: {exc}") from None
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "_sqlite_migrations" not in tables or "generations" not in tables:
            raise UserError(f"{path}: not a gradebench database")
        return [
            row[0]
            for row in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = 'gradebench'"
                " ORDER BY applied_at, rowid"
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path}: {exc}") from None
    finally:
        conn.close()


def copy_database(path: Path, destination: Path) -> None:
    """A consistent copy of a database file (SQLite's online backup; the original is only
    read, even while an app writes to it)."""
    uri = "file:" + urllib.parse.quote(str(path.resolve())) + "?mode=ro"
    source = sqlite3.connect(uri, uri=True, timeout=5)
    target = sqlite3.connect(str(destination))
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
