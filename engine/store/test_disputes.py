"""The SQL of contested tests: recording a dispute or its withdrawal, the tests disputed
now, and the latest test runs (with every test's outcome) of the answers they touch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradebench.engine.store.database import rows_as_dicts, to_json
from gradebench.engine.store.runs import WRITE_LOCK
from gradebench.engine.store.sqlite import Database

COLUMNS = (
    "id",
    "problem_id",
    "content_sha256",
    "test_index",
    "reviewer",
    "created_at",
    "reason",
    "note",
    "withdraws_id",
)


def problem_content(db: Database, problem_id: str) -> str | None:
    row = db.execute("SELECT content_sha256 FROM problems WHERE id = ?", [problem_id]).fetchone()
    return None if row is None else row[0]


def insert_test_dispute(db: Database, row: dict[str, Any]) -> None:
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            f"INSERT INTO test_disputes ({', '.join(COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in COLUMNS)})",
            [row[c] for c in COLUMNS],
        )


def latest_dispute_row(
    db: Database, problem_id: str, test_index: int, reviewer: str
) -> dict[str, Any] | None:
    rows = rows_as_dicts(
        db,
        "SELECT * FROM test_disputes WHERE problem_id = ? AND test_index = ? AND reviewer = ?"
        " ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (problem_id, test_index, reviewer),
    )
    return rows[0] if rows else None


def current_dispute_rows(
    conn: Any, problem_ids: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Every (problem, test, reviewer) whose latest row is a dispute (not a withdrawal) of
    the problem's current content; ordered by problem, test, reviewer."""
    cursor = conn.execute(
        """
        SELECT d.problem_id, d.test_index, d.reviewer, d.reason, d.note, d.created_at
        FROM test_disputes AS d
        JOIN problems AS p ON p.id = d.problem_id AND p.content_sha256 = d.content_sha256
        WHERE d.withdraws_id IS NULL
          AND (:all OR d.problem_id IN (SELECT value FROM json_each(:ids)))
          AND d.rowid = (SELECT max(rowid) FROM test_disputes AS later
                         WHERE later.problem_id = d.problem_id
                           AND later.test_index = d.test_index
                           AND later.reviewer = d.reviewer)
        ORDER BY d.problem_id, d.test_index, d.reviewer
        """,
        {"all": problem_ids is None, "ids": to_json(list(problem_ids or []))},
    )
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def latest_statuses_rows(
    conn: Any, problem_ids: Sequence[str]
) -> list[tuple[int, str, str, str | None]]:
    """(generation rowid, generation id, problem id, test_statuses of its latest test run)
    for the current answers of these problems."""
    return conn.execute(
        """
        SELECT g.rowid, g.id, g.problem_id, x.test_statuses
        FROM generations AS g
        JOIN execution_latest AS l ON l.generation_id = g.id
        JOIN executions AS x ON x.id = l.execution_id
        WHERE g.superseded_at IS NULL
          AND g.problem_id IN (SELECT value FROM json_each(:ids))
        """,
        {"ids": to_json(list(problem_ids))},
    ).fetchall()


def latest_statuses_of(db: Database, generation_id: str) -> str | None:
    """The per-test outcomes of this answer's latest test run (None: none kept)."""
    row = db.execute(
        "SELECT x.test_statuses FROM execution_latest AS l"
        " JOIN executions AS x ON x.id = l.execution_id WHERE l.generation_id = ?",
        [generation_id],
    ).fetchone()
    return None if row is None else row[0]
