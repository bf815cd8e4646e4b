"""The reads behind ``gradebench diff`` of two runs: which runs there are, and the answers
one run made, with their latest verdicts and mean current human scores.

A run's answers are the ``generations`` rows carrying its ``run_id``, superseded or not:
an answer a later run regenerated is still the answer this run made. ``generations`` has
no index on ``run_id``; each read here is one scan, as cheap as the report's reads.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def run_rows(
    conn: sqlite3.Connection, run_ids: list[str] | None = None
) -> list[tuple[str, str, str | None, str, str | None, int, str]]:
    """(id, kind, suite, started, finished, answers made, names of the contenders it
    answered for joined by commas) of every run (or of these), oldest first."""
    where, params = "", []
    if run_ids is not None:
        where = f"WHERE r.id IN ({','.join('?' * len(run_ids))})"
        params = list(run_ids)
    return conn.execute(
        f"""
        SELECT r.id, r.kind, r.suite, r.started_at, r.finished_at, count(g.id),
               coalesce(group_concat(DISTINCT c.name), '')
        FROM runs r
        LEFT JOIN generations g ON g.run_id = r.id
        LEFT JOIN contenders c ON c.id = g.contender_id
        {where}
        GROUP BY r.id
        ORDER BY r.started_at, r.id
        """,
        params,
    ).fetchall()


def run_ids_starting(conn: sqlite3.Connection, prefix: str) -> list[str]:
    """Ids of the runs whose id starts with ``prefix`` (ULIDs: upper case), by id."""
    text = prefix.upper()
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id", (len(text), text)
        )
    ]


def run_contender_ids(conn: sqlite3.Connection, run_id: str) -> list[str]:
    """The contenders this run made answers for, by id."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT contender_id FROM generations WHERE run_id = ? ORDER BY 1",
            (run_id,),
        )
    ]


def run_answer_rows(
    conn: sqlite3.Connection, run_id: str, contender_id: str, suite: str | None
) -> list[tuple[str, int, str | None, float | None]]:
    """(problem id, sample index, latest verdict, mean current human score) of each answer
    this run made for this contender (of ``suite``); when the run answered one (problem,
    sample) twice (regenerated within the run), its last answer."""
    params: list[Any] = [run_id, contender_id]
    join, clause = "", ""
    if suite is not None:
        join, clause = " JOIN problems p ON p.id = g.problem_id", " AND p.suite = ?"
        params.append(suite)
    rows = conn.execute(
        f"""
        SELECT g.problem_id, g.sample_index, l.verdict,
               (SELECT avg(c.score) FROM grade_current c WHERE c.generation_id = g.id)
        FROM generations g{join}
        LEFT JOIN execution_latest l ON l.generation_id = g.id
        WHERE g.run_id = ? AND g.contender_id = ?{clause}
        ORDER BY g.started_at, g.id
        """,
        params,
    ).fetchall()
    last: dict[tuple[str, int], tuple[str, int, str | None, float | None]] = {}
    for row in rows:
        last[row[0], row[1]] = row
    return [last[key] for key in sorted(last)]
