"""The ``grade_events`` table: appending a reviewer's grade (one short transaction, committed
at once) and reading the current grade or the history of an answer. Rows come back as plain
dicts; the grading layer turns them into ``GradeEvent`` values and owns the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gradebench.engine.store.database import rows_as_dicts
from gradebench.engine.store.sqlite import Database

GRADE_EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "generation_id",
    "reviewer",
    "created_at",
    "score",
    "format_ok",
    "rubric",
    "note",
    "suggested_score",
    "replaces_id",
    "blind",
    "run_id",
)


def current_grade_row(db: Database, generation_id: str, reviewer: str) -> dict[str, Any] | None:
    """The reviewer's current grade event for this answer: their latest (``grade_current``)."""
    # grade_current (kept by a trigger) names it: no scan of the events for one that
    # replaces it (replaces_id has no index: at 300,000 events that scan took ~60 ms)
    rows = rows_as_dicts(
        db,
        """
        SELECT g.* FROM grade_current c JOIN grade_events g ON g.id = c.event_id
        WHERE c.generation_id = ? AND c.reviewer = ?
        """,
        (generation_id, reviewer),
    )
    return rows[0] if rows else None


def grade_event_rows(
    db: Database, generation_id: str, reviewer: str | None = None
) -> list[dict[str, Any]]:
    """Every grade event of an answer, oldest first (optionally one reviewer's)."""
    sql = "SELECT * FROM grade_events WHERE generation_id = ?"
    params: list[Any] = [generation_id]
    if reviewer is not None:
        sql += " AND reviewer = ?"
        params.append(reviewer)
    return rows_as_dicts(db, sql + " ORDER BY created_at, rowid", params)


def insert_grade_event(db: Database, row: dict[str, Any]) -> None:
    """Append one grade event (keys: ``GRADE_EVENT_COLUMNS``), committed at once."""
    placeholders = ", ".join("?" for _ in GRADE_EVENT_COLUMNS)
    with db.conn:
        db.conn.execute(
            f"INSERT INTO grade_events ({', '.join(GRADE_EVENT_COLUMNS)}) VALUES ({placeholders})",
            [row[column] for column in GRADE_EVENT_COLUMNS],
        )


def current_scores(db: Database, reviewer: str, generation_ids: Iterable[str]) -> dict[str, float]:
    """generation_id -> the reviewer's current score, for those that have one."""
    ids = list(generation_ids)
    scores: dict[str, float] = {}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = ",".join("?" * len(chunk))
        for generation_id, score in db.execute(
            f"SELECT generation_id, score FROM grade_current"
            f" WHERE reviewer = ? AND generation_id IN ({marks})",
            [reviewer, *chunk],
        ):
            scores[generation_id] = score
    return scores
