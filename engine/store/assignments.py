"""The SQL of assignments: storing a batch, a reviewer's queue, and what the team has done
on the problems of the batch in force."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradebench.engine.store.database import rows_as_dicts, to_json
from gradebench.engine.store.sqlite import Database


def insert_assignments(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """One batch, all rows in one transaction."""
    with db.conn:
        db.conn.executemany(
            "INSERT INTO assignments (id, batch_id, suite, problem_id, reviewer, position,"
            " overlap, seed, created_at) VALUES (:id, :batch_id, :suite, :problem_id,"
            " :reviewer, :position, :overlap, :seed, :created_at)",
            rows,
        )


_IN_FORCE = """
    WITH wanted(problem_id) AS (SELECT value FROM json_each(:ids)),
    latest AS (
        SELECT a.problem_id, max(a.batch_id) AS batch_id FROM assignments AS a
        JOIN wanted USING (problem_id) GROUP BY a.problem_id
    )
    SELECT a.* FROM assignments AS a JOIN latest USING (problem_id, batch_id)
"""
"""Rows of the batch in force for each of ``:ids`` (the latest batch that assigns it)."""


def assignments_in_force(db: Database, problem_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every row in force for these problems, by reviewer and queue position."""
    return rows_as_dicts(
        db, _IN_FORCE + " ORDER BY a.reviewer, a.position", {"ids": to_json(list(problem_ids))}
    )


def queue_of(db: Database, reviewer: str, problem_ids: Sequence[str]) -> list[str]:
    """The problems in force assigned to ``reviewer``, in queue order."""
    rows = db.execute(
        _IN_FORCE + " WHERE a.reviewer = :reviewer ORDER BY a.position",
        {"ids": to_json(list(problem_ids)), "reviewer": reviewer},
    ).fetchall()
    return [row[3] for row in rows]


def answers_and_grades(
    db: Database, problem_ids: Sequence[str]
) -> list[tuple[str, str, str | None, float | None]]:
    """For each current first-sample answer of these problems: (problem, answer id,
    reviewer, score) for every reviewer's current grade, or one row with reviewer NULL
    when nobody graded it."""
    return db.execute(
        "SELECT g.problem_id, g.id, c.reviewer, c.score FROM generations AS g"
        " LEFT JOIN grade_current AS c ON c.generation_id = g.id"
        " WHERE g.superseded_at IS NULL AND g.sample_index = 0"
        " AND g.problem_id IN (SELECT value FROM json_each(?))",
        (to_json(list(problem_ids)),),
    ).fetchall()
