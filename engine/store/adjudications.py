"""The SQL of adjudication: answers whose reviewers disagree, with every reviewer's current
grade, and the adjudications (append-only; the latest per answer is the final grade); pairs
of answers whose reviewers voted differently, and the vote adjudications (the latest per
pair is the final vote)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gradebench.engine.store.database import rows_as_dicts, to_json
from gradebench.engine.store.sqlite import Database

ADJUDICATION_COLUMNS = (
    "id",
    "generation_id",
    "adjudicator",
    "created_at",
    "score",
    "format_ok",
    "adopted_event_id",
    "note",
    "replaces_id",
)


def disagreement_rows(db: Database, problem_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One row per current grade of every current answer (of these problems) that two or
    more reviewers graded differently (score, or format flag where both set one); ordered
    by problem, answer, reviewer."""
    return rows_as_dicts(
        db,
        """
        WITH graded AS (
            SELECT c.generation_id FROM grade_current AS c
            JOIN generations AS g ON g.id = c.generation_id
            WHERE g.superseded_at IS NULL
              AND g.problem_id IN (SELECT value FROM json_each(:ids))
            GROUP BY c.generation_id
            HAVING count(*) > 1 AND (
                min(c.score) != max(c.score)
                OR min(c.format_ok) != max(c.format_ok)
            )
        )
        SELECT g.id AS generation_id, g.problem_id, g.contender_id, g.extracted_code,
               g.raw_answer, x.verdict, x.passed, x.total, x.first_failure,
               c.reviewer, c.score, c.format_ok, e.note, e.id AS event_id
        FROM graded
        JOIN generations AS g ON g.id = graded.generation_id
        JOIN grade_current AS c ON c.generation_id = g.id
        JOIN grade_events AS e ON e.id = c.event_id
        LEFT JOIN execution_latest AS l ON l.generation_id = g.id
        LEFT JOIN executions AS x ON x.id = l.execution_id
        ORDER BY g.problem_id, g.contender_id, g.id, c.reviewer
        """,
        {"ids": to_json(list(problem_ids))},
    )


def latest_adjudication_row(db: Database, generation_id: str) -> dict[str, Any] | None:
    rows = rows_as_dicts(
        db,
        "SELECT * FROM adjudications WHERE generation_id = ?"
        " ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (generation_id,),
    )
    return rows[0] if rows else None


def insert_adjudication(db: Database, row: dict[str, Any]) -> None:
    """Append one adjudication, committed at once."""
    with db.conn:
        db.conn.execute(
            f"INSERT INTO adjudications ({', '.join(ADJUDICATION_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in ADJUDICATION_COLUMNS)})",
            [row[column] for column in ADJUDICATION_COLUMNS],
        )


VOTE_ADJUDICATION_COLUMNS = (
    "id",
    "problem_id",
    "generation_low",
    "generation_high",
    "adjudicator",
    "created_at",
    "side",
    "adopted_vote_id",
    "replaces_id",
)

_SIDE = """CASE v.outcome
    WHEN 'a' THEN CASE WHEN v.generation_a = v.generation_low THEN 'low' ELSE 'high' END
    WHEN 'b' THEN CASE WHEN v.generation_b = v.generation_low THEN 'low' ELSE 'high' END
    ELSE v.outcome END"""


def vote_disagreement_rows(db: Database, problem_ids: Sequence[str]) -> list[dict[str, Any]]:
    """One row per reviewer's current vote on every pair of current answers (of these
    problems) that reviewers voted on differently, each vote told as the side it chose
    (``low``/``high``: the answer with the smaller/larger id is better, ``tie``,
    ``both_bad``); with both answers' code and contender; ordered by problem and pair."""
    return rows_as_dicts(
        db,
        f"""
        WITH sided AS (
            SELECT v.problem_id, v.generation_low, v.generation_high, v.reviewer,
                   v.vote_id, {_SIDE} AS side
            FROM vote_current AS v
            JOIN generations AS gl ON gl.id = v.generation_low
            JOIN generations AS gh ON gh.id = v.generation_high
            WHERE gl.superseded_at IS NULL AND gh.superseded_at IS NULL
              AND v.problem_id IN (SELECT value FROM json_each(:ids))
        ),
        disputed AS (
            SELECT problem_id, generation_low, generation_high FROM sided
            GROUP BY problem_id, generation_low, generation_high
            HAVING count(*) > 1 AND count(DISTINCT side) > 1
        )
        SELECT s.problem_id, s.generation_low, s.generation_high, s.reviewer, s.vote_id,
               s.side, gl.contender_id AS contender_low, gh.contender_id AS contender_high,
               coalesce(gl.extracted_code, gl.raw_answer, '') AS code_low,
               coalesce(gh.extracted_code, gh.raw_answer, '') AS code_high
        FROM disputed AS d
        JOIN sided AS s USING (problem_id, generation_low, generation_high)
        JOIN generations AS gl ON gl.id = s.generation_low
        JOIN generations AS gh ON gh.id = s.generation_high
        ORDER BY s.problem_id, s.generation_low, s.generation_high, s.reviewer
        """,
        {"ids": to_json(list(problem_ids))},
    )


def latest_vote_adjudication_row(
    db: Database, problem_id: str, generation_low: str, generation_high: str
) -> dict[str, Any] | None:
    rows = rows_as_dicts(
        db,
        "SELECT * FROM vote_adjudications WHERE problem_id = ? AND generation_low = ?"
        " AND generation_high = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (problem_id, generation_low, generation_high),
    )
    return rows[0] if rows else None


def insert_vote_adjudication(db: Database, row: dict[str, Any]) -> None:
    """Append one vote adjudication, committed at once."""
    with db.conn:
        db.conn.execute(
            f"INSERT INTO vote_adjudications ({', '.join(VOTE_ADJUDICATION_COLUMNS)})"
            f" VALUES ({', '.join('?' for _ in VOTE_ADJUDICATION_COLUMNS)})",
            [row[column] for column in VOTE_ADJUDICATION_COLUMNS],
        )
