"""The SQL of rechecks: which problems a reviewer may be shown again, recording a second
grade, and the (first grade, recheck) pairs the exports compare."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradebench.engine.store.database import to_json
from gradebench.engine.store.runs import WRITE_LOCK
from gradebench.engine.store.sqlite import Database


def recheck_candidates(
    db: Database, reviewer: str, problem_ids: Sequence[str], contender_ids: Sequence[str]
) -> list[str]:
    """Of these problems, in their order, those whose every current first-sample answer of
    these contenders the reviewer has graded and none of which they have rechecked."""
    rows = db.execute(
        """
        SELECT g.problem_id,
               count(*) = count(c.generation_id) AS all_graded,
               count(r.id) AS rechecked
        FROM generations AS g
        LEFT JOIN grade_current AS c ON c.generation_id = g.id AND c.reviewer = :reviewer
        LEFT JOIN rechecks AS r ON r.generation_id = g.id AND r.reviewer = :reviewer
        WHERE g.superseded_at IS NULL AND g.sample_index = 0
          AND g.status IN ('done', 'max_tokens')
          AND g.problem_id IN (SELECT value FROM json_each(:problems))
          AND g.contender_id IN (SELECT value FROM json_each(:contenders))
        GROUP BY g.problem_id
        HAVING count(DISTINCT g.contender_id) = :seats
        """,
        {
            "reviewer": reviewer,
            "problems": to_json(list(problem_ids)),
            "contenders": to_json(list(contender_ids)),
            "seats": len(set(contender_ids)),
        },
    ).fetchall()
    eligible = {problem for problem, all_graded, rechecked in rows if all_graded and not rechecked}
    return [p for p in problem_ids if p in eligible]


def insert_recheck(db: Database, row: dict[str, Any]) -> None:
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "INSERT INTO rechecks (id, generation_id, reviewer, created_at, score, format_ok,"
            " first_event_id, run_id) VALUES (:id, :generation_id, :reviewer, :created_at,"
            " :score, :format_ok, :first_event_id, :run_id)",
            row,
        )


def recheck_pairs(conn: Any, reviewers: Sequence[str] = ()) -> list[tuple[str, str, float, float]]:
    """(generation id, reviewer, first score, recheck score): each reviewer's latest
    recheck of an answer with the grade it was compared against; all reviewers when
    ``reviewers`` is empty."""
    return conn.execute(
        """
        SELECT g.rowid, r.reviewer, e.score, r.score
        FROM rechecks AS r
        JOIN grade_events AS e ON e.id = r.first_event_id
        JOIN generations AS g ON g.id = r.generation_id
        WHERE (json_array_length(:reviewers) = 0
               OR r.reviewer IN (SELECT value FROM json_each(:reviewers)))
          AND r.id = (SELECT max(id) FROM rechecks AS later
                      WHERE later.generation_id = r.generation_id
                        AND later.reviewer = r.reviewer)
        ORDER BY r.reviewer, r.generation_id
        """,
        {"reviewers": to_json(list(reviewers))},
    ).fetchall()
