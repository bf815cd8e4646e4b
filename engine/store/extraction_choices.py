"""The SQL of extraction audits: recording a reviewer's chosen code candidate, and the
counts the exports report (answers whose extraction a reviewer changed)."""

from __future__ import annotations

from typing import Any

from gradebench.engine.store.runs import WRITE_LOCK
from gradebench.engine.store.sqlite import Database

COLUMNS = (
    "id",
    "generation_id",
    "reviewer",
    "created_at",
    "label",
    "code",
    "extract_method",
    "execution_id",
    "verdict",
    "run_id",
)


def insert_extraction_choice(db: Database, row: dict[str, Any]) -> None:
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            f"INSERT INTO extraction_choices ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in COLUMNS)})",
            [row[c] for c in COLUMNS],
        )


def extraction_change_rows(conn: Any) -> list[tuple[int, str, str, int]]:
    """(generation rowid, reviewer, extractor's method, 1 if the reviewer's latest choice
    is another candidate than the extractor's) per audited current answer and reviewer."""
    return conn.execute(
        """
        SELECT g.rowid, c.reviewer, coalesce(c.extract_method, g.extract_method, 'none'),
               c.label != 'extractor'
        FROM extraction_choices AS c
        JOIN generations AS g ON g.id = c.generation_id
        WHERE g.superseded_at IS NULL
          AND c.rowid = (SELECT max(rowid) FROM extraction_choices AS later
                         WHERE later.generation_id = c.generation_id
                           AND later.reviewer = c.reviewer)
        """
    ).fetchall()
