"""The ``problems`` table: one row per problem an answer refers to (answers reference
``problems(id)``), with the content hash that tells a changed problem from the same one."""

from __future__ import annotations

from typing import Any

from gradebench.engine.store.sqlite import Database

PROBLEM_COLUMNS: tuple[str, ...] = (
    "id",
    "suite",
    "title",
    "difficulty",
    "entry_point",
    "statement",
    "tags",
    "content_sha256",
    "updated_at",
)


def has_problem_row(db: Database, problem_id: str) -> bool:
    return db.execute("SELECT 1 FROM problems WHERE id = ?", (problem_id,)).fetchone() is not None


def insert_problem_row(db: Database, row: dict[str, Any]) -> None:
    """Insert a problem row (keys: ``PROBLEM_COLUMNS``) unless one with its id exists."""
    with db.conn:
        db.conn.execute(
            f"INSERT OR IGNORE INTO problems ({', '.join(PROBLEM_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in PROBLEM_COLUMNS)})",
            [row[column] for column in PROBLEM_COLUMNS],
        )
