"""The ``votes`` table: appending a side-by-side vote (committed at once) and reading a
reviewer's current vote on a problem as a plain dict."""

from __future__ import annotations

from typing import Any

from gradebench.engine.store.database import rows_as_dicts
from gradebench.engine.store.sqlite import Database

VOTE_COLUMNS: tuple[str, ...] = (
    "id",
    "problem_id",
    "reviewer",
    "created_at",
    "generation_a",
    "generation_b",
    "outcome",
    "replaces_id",
    "blind",
    "run_id",
)


def current_vote_row(db: Database, problem_id: str, reviewer: str) -> dict[str, Any] | None:
    """The reviewer's vote on this problem that no later vote replaces."""
    rows = rows_as_dicts(
        db,
        """
        SELECT * FROM votes v WHERE v.problem_id = ? AND v.reviewer = ?
          AND NOT EXISTS (SELECT 1 FROM votes later WHERE later.replaces_id = v.id)
        ORDER BY v.created_at DESC, v.rowid DESC LIMIT 1
        """,
        (problem_id, reviewer),
    )
    return rows[0] if rows else None


def insert_vote(db: Database, row: dict[str, Any]) -> None:
    """Append one vote (keys: ``VOTE_COLUMNS``), committed at once."""
    placeholders = ", ".join("?" for _ in VOTE_COLUMNS)
    with db.conn:
        db.conn.execute(
            f"INSERT INTO votes ({', '.join(VOTE_COLUMNS)}) VALUES ({placeholders})",
            [row[column] for column in VOTE_COLUMNS],
        )
