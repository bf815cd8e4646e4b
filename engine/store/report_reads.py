"""The reads behind reports: set-based queries over a whole database, as plain rows.

Reports read ``grades.db`` in a few big passes on a raw ``sqlite3`` connection (no
per-row objects: the 100,000-answer benchmark database is read in about a second), so
each function here is one query returning tuples; ``gradebench.engine.reporting`` turns
them into arrays and figures. Generations are named by their ``rowid`` (an integer,
cheap to hand to numpy); rowids are only compared within one read. The current grade
per (generation, reviewer), the latest execution per generation and the current vote
per pair come from the tables the schema's triggers keep (``grade_current``,
``execution_latest``, ``vote_current``), so reading them is a plain scan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any


def tune_for_reading(conn: sqlite3.Connection) -> None:
    """Connection settings for reading a large database in a few big passes: the file
    mapped into memory (no copy per page read) and temporary tables kept in memory.
    They change no result, only this connection's speed (about a tenth here)."""
    conn.execute("PRAGMA mmap_size = 1073741824")
    conn.execute("PRAGMA temp_store = MEMORY")


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" * len(values))


# --- what a selection may name ---


def contender_rows(conn: sqlite3.Connection) -> list[tuple[str, str, str, str, str]]:
    """(id, name, model sha256, model name or '', prompt style) of every contender, by name."""
    return conn.execute(
        """
        SELECT c.id, c.name, c.model_sha256, COALESCE(m.name, ''), c.prompt_style
        FROM contenders c LEFT JOIN models m ON m.sha256 = c.model_sha256
        ORDER BY c.name, c.id
        """
    ).fetchall()


def suite_has_problems(conn: sqlite3.Connection, suite: str) -> bool:
    return (
        conn.execute("SELECT 1 FROM problems WHERE suite = ? LIMIT 1", (suite,)).fetchone()
        is not None
    )


def known_suites(conn: sqlite3.Connection) -> list[str]:
    return sorted(r[0] for r in conn.execute("SELECT DISTINCT suite FROM problems"))


def reviewer_has_grades(conn: sqlite3.Connection, reviewer: str) -> bool:
    found = conn.execute("SELECT 1 FROM grade_events WHERE reviewer = ? LIMIT 1", (reviewer,))
    return found.fetchone() is not None


def known_reviewers(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT reviewer FROM grade_events ORDER BY 1")]


# --- the answers table of a report ---


def problem_rows(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """(id, difficulty, tags as JSON text) of every problem, by id."""
    return conn.execute("SELECT id, difficulty, tags FROM problems ORDER BY id").fetchall()


def current_generation_rows(
    conn: sqlite3.Connection,
    *,
    suite: str | None,
    problem_ids: Sequence[str] | None,
    contender_ids: Sequence[str] | None,
) -> list[tuple[Any, ...]]:
    """(rowid, contender id, problem id, ttft, tokens/s, tokens, total seconds) of every
    current generation in the selection, in no particular order.

    The problems join only when a suite is asked for (foreign keys keep every answer's
    problem present). No ORDER BY: the covering index of migration m006 is read in its
    own order and the caller orders by rowid."""
    clauses, params = "", []
    if suite is not None:
        clauses += " AND p.suite = ?"
        params.append(suite)
    if problem_ids is not None:
        clauses += f" AND g.problem_id IN ({_marks(problem_ids)})"
        params.extend(problem_ids)
    if contender_ids is not None:
        clauses += f" AND g.contender_id IN ({_marks(contender_ids)})"
        params.extend(contender_ids)
    join = " JOIN problems p ON p.id = g.problem_id" if suite is not None else ""
    return conn.execute(
        f"""
        SELECT g.rowid, g.contender_id, g.problem_id,
               g.ttft_seconds, g.tokens_per_second, g.tokens,
               g.total_seconds
        FROM generations g{join}
        WHERE g.superseded_at IS NULL{clauses}
        """,
        params,
    ).fetchall()


def latest_execution_rows(conn: sqlite3.Connection) -> list[tuple[int, int, int | None]]:
    """(generation rowid, passed 0/1, base passed 0/1 or NULL) of every tested generation."""
    return conn.execute(
        """
        SELECT g.rowid, x.verdict = 'pass',
               CASE WHEN x.base_verdict IS NULL THEN NULL ELSE x.base_verdict = 'pass' END
        FROM execution_latest x JOIN generations g ON g.id = x.generation_id
        """
    ).fetchall()


def _reviewers_where(reviewers: Sequence[str], column: str) -> str:
    return f"WHERE {column} IN ({_marks(reviewers)})" if reviewers else ""


def current_grade_rows(
    conn: sqlite3.Connection, reviewers: Sequence[str]
) -> list[tuple[int, str, float, int | None]]:
    """(generation rowid, reviewer, score, format_ok) of each current grade (of
    ``reviewers`` only, when given)."""
    where = _reviewers_where(reviewers, "x.reviewer")
    return conn.execute(
        f"""
        SELECT g.rowid, x.reviewer, x.score, x.format_ok
        FROM grade_current x JOIN generations g ON g.id = x.generation_id
        {where}
        """,
        list(reviewers),
    ).fetchall()


def mean_grade_rows(
    conn: sqlite3.Connection, reviewers: Sequence[str]
) -> list[tuple[int, float, float | None]]:
    """(generation rowid, mean score, mean format flag) over the current grades of each
    graded generation (SQL's avg ignores NULL format flags)."""
    where = _reviewers_where(reviewers, "reviewer")
    return conn.execute(
        f"""
        SELECT g.rowid, x.score, x.format_ok FROM (
            SELECT generation_id, avg(score) AS score, avg(format_ok) AS format_ok
            FROM grade_current {where}
            GROUP BY generation_id
        ) x JOIN generations g ON g.id = x.generation_id
        """,
        list(reviewers),
    ).fetchall()


def current_vote_rows(
    conn: sqlite3.Connection,
    *,
    reviewers: Sequence[str],
    suite: str | None,
    problem_ids: Sequence[str] | None,
    contender_ids: Sequence[str] | None,
    adjudicated: bool = False,
) -> list[tuple[str, str, str]]:
    """(contender of answer a, contender of answer b, outcome): each reviewer's current
    vote per pair (``vote_current``: the latest, whichever pane each answer was in)
    between two current answers of different contenders. ``adjudicated``: a pair with a
    vote adjudication counts once, with its latest settlement, instead of its votes."""
    pair_where, pair_params = _problem_filter(suite, problem_ids)  # any row of a pair
    if contender_ids is not None:
        marks = _marks(contender_ids)
        pair_where += f" AND ga.contender_id IN ({marks}) AND gb.contender_id IN ({marks})"
        pair_params.extend([*contender_ids, *contender_ids])
    where, params = pair_where, list(pair_params)
    if reviewers:  # a vote's own condition (a settlement counts whoever voted)
        where += f" AND v.reviewer IN ({_marks(reviewers)})"
        params.extend(reviewers)
    votes = f"""
        SELECT ga.contender_id, gb.contender_id, v.outcome
        FROM vote_current v
        JOIN generations ga ON ga.id = v.generation_a
        JOIN generations gb ON gb.id = v.generation_b
        JOIN problems p ON p.id = ga.problem_id
        WHERE ga.superseded_at IS NULL AND gb.superseded_at IS NULL
          AND ga.contender_id != gb.contender_id{where}"""
    if not adjudicated:
        return conn.execute(votes, params).fetchall()
    settled = """
        SELECT problem_id, generation_low, generation_high, side FROM (
            SELECT problem_id, generation_low, generation_high, side, ROW_NUMBER() OVER (
                PARTITION BY problem_id, generation_low, generation_high
                ORDER BY created_at DESC, rowid DESC) AS latest
            FROM vote_adjudications) WHERE latest = 1"""
    return conn.execute(
        f"""
        WITH settled AS ({settled})
        {votes}
          AND NOT EXISTS (SELECT 1 FROM settled s WHERE s.problem_id = v.problem_id
                          AND s.generation_low = v.generation_low
                          AND s.generation_high = v.generation_high)
        UNION ALL
        SELECT ga.contender_id, gb.contender_id,
               CASE s.side WHEN 'low' THEN 'a' WHEN 'high' THEN 'b' ELSE s.side END
        FROM settled s
        JOIN generations ga ON ga.id = s.generation_low
        JOIN generations gb ON gb.id = s.generation_high
        JOIN problems p ON p.id = ga.problem_id
        WHERE ga.superseded_at IS NULL AND gb.superseded_at IS NULL
          AND ga.contender_id != gb.contender_id{pair_where}
        """,
        [*params, *pair_params],
    ).fetchall()


def change_marker(conn: sqlite3.Connection) -> tuple[int, ...]:
    """The highest rowid of grade_events, votes, generations and executions (each only
    appended to), and how many generations have ended (``finished_at`` is set in place)."""
    appended = tuple(
        int(conn.execute(f"SELECT COALESCE(max(rowid), 0) FROM {table}").fetchone()[0])
        for table in ("grade_events", "votes", "generations", "executions")
    )
    ended = conn.execute("SELECT count(*) FROM generations WHERE finished_at IS NOT NULL")
    return (*appended, int(ended.fetchone()[0]))


def adjudicated_rows(conn: sqlite3.Connection) -> list[tuple[int, float, int | None]]:
    """(generation rowid, score, format_ok) of each answer's latest adjudication."""
    return conn.execute(
        """
        SELECT g.rowid, a.score, a.format_ok FROM (
            SELECT generation_id, score, format_ok, ROW_NUMBER() OVER (
                PARTITION BY generation_id ORDER BY created_at DESC, rowid DESC
            ) AS rank FROM adjudications
        ) AS a JOIN generations g ON g.id = a.generation_id
        WHERE a.rank = 1
        """
    ).fetchall()


def first_grade_rows(
    conn: sqlite3.Connection, reviewers: Sequence[str]
) -> list[tuple[int, str, str | None, float]]:
    """(generation rowid, reviewer, run id, seconds since the epoch) of every first grade of
    an answer (an event that replaces none), in no particular order (walking the
    ``created_at`` index to order them took twice as long as the whole read)."""
    where = _reviewers_where(reviewers, "e.reviewer")
    joiner = "AND" if where else "WHERE"
    return conn.execute(
        f"""
        SELECT g.rowid, e.reviewer, e.run_id,
               (julianday(e.created_at) - 2440587.5) * 86400.0
        FROM grade_events e JOIN generations g ON g.id = e.generation_id
        {where} {joiner} e.replaces_id IS NULL
        """,
        list(reviewers),
    ).fetchall()


def current_vote_sides(
    conn: sqlite3.Connection, reviewers: Sequence[str]
) -> list[tuple[int, str, str]]:
    """(left answer's generation rowid, reviewer, outcome) of every current vote."""
    where = _reviewers_where(reviewers, "v.reviewer")
    return conn.execute(
        f"""
        SELECT g.rowid, v.reviewer, v.outcome
        FROM vote_current v JOIN generations g ON g.id = v.generation_a
        {where}
        """,
        list(reviewers),
    ).fetchall()


def paired_answer_rows(
    conn: sqlite3.Connection, contender_ids: Sequence[str], suite: str | None
) -> list[tuple[str, str, str | None, float | None]]:
    """(problem id, contender id, latest verdict, mean current human score) of the current
    first-sample answer of each of these contenders to each problem (of ``suite``)."""
    params: list[Any] = list(contender_ids)
    join, clause = "", ""
    if suite is not None:
        join, clause = " JOIN problems p ON p.id = g.problem_id", " AND p.suite = ?"
        params.append(suite)
    return conn.execute(
        f"""
        SELECT g.problem_id, g.contender_id, l.verdict,
               (SELECT avg(c.score) FROM grade_current c WHERE c.generation_id = g.id)
        FROM generations g{join}
        LEFT JOIN execution_latest l ON l.generation_id = g.id
        WHERE g.superseded_at IS NULL AND g.sample_index = 0
          AND g.contender_id IN ({_marks(contender_ids)}){clause}
        ORDER BY g.problem_id
        """,
        params,
    ).fetchall()


def reason_rows(conn: sqlite3.Connection, reviewers: Sequence[str]) -> list[tuple[int, str]]:
    """(generation rowid, reason code) of each current grade that gives a reason why it
    differs from the tests. The text test keeps the JSON parsing to the few events with a
    reason (parsing every current grade's rubric took 0.4 s at 300,000 events)."""
    where = _reviewers_where(reviewers, "e.reviewer")
    joiner = "AND" if where else "WHERE"
    return conn.execute(
        f"""
        SELECT g.rowid, json_extract(e.rubric, '$.reason')
        FROM grade_events e
        JOIN grade_current c ON c.generation_id = e.generation_id
             AND c.reviewer = e.reviewer AND c.event_id = e.id
        JOIN generations g ON g.id = e.generation_id
        {where} {joiner} e.rubric LIKE '%"reason"%'
          AND json_extract(e.rubric, '$.reason') IS NOT NULL
        """,
        list(reviewers),
    ).fetchall()


def _problem_filter(suite: str | None, problem_ids: Sequence[str] | None) -> tuple[str, list[str]]:
    """`` AND ...`` on ``problems p`` for a suite and a list of problems (either optional)."""
    where, params = "", []
    if suite is not None:
        where += " AND p.suite = ?"
        params.append(suite)
    if problem_ids is not None:
        where += f" AND p.id IN ({_marks(problem_ids)})"
        params.extend(problem_ids)
    return where, params


def vote_dispute_counts(
    conn: sqlite3.Connection, suite: str | None, problem_ids: Sequence[str] | None
) -> tuple[int, int]:
    """(pairs of current answers whose reviewers' current votes chose different sides,
    of those the pairs with a vote adjudication), in this suite / these problems."""
    where, params = _problem_filter(suite, problem_ids)
    return conn.execute(
        f"""
        WITH disputed AS (
            SELECT v.problem_id, v.generation_low, v.generation_high
            FROM vote_current v
            JOIN generations gl ON gl.id = v.generation_low
            JOIN generations gh ON gh.id = v.generation_high
            JOIN problems p ON p.id = v.problem_id
            WHERE gl.superseded_at IS NULL AND gh.superseded_at IS NULL{where}
            GROUP BY v.problem_id, v.generation_low, v.generation_high
            HAVING count(*) > 1 AND count(DISTINCT CASE v.outcome
                WHEN 'a' THEN v.generation_a WHEN 'b' THEN v.generation_b
                ELSE v.outcome END) > 1
        )
        SELECT count(*), coalesce(sum(EXISTS (
            SELECT 1 FROM vote_adjudications a WHERE a.problem_id = d.problem_id
              AND a.generation_low = d.generation_low
              AND a.generation_high = d.generation_high)), 0)
        FROM disputed d
        """,
        params,
    ).fetchone()


def inconclusive_counts(
    conn: sqlite3.Connection, suite: str | None, problem_ids: Sequence[str] | None
) -> tuple[int, int]:
    """(test runs of current answers that were starved by the work beside them, verdict
    ``inconclusive``; answers whose latest test run is still inconclusive)."""
    where, params = _problem_filter(suite, problem_ids)
    return conn.execute(
        f"""
        SELECT count(*), count(DISTINCT CASE WHEN l.verdict = 'inconclusive'
                                             THEN g.id END)
        FROM executions x
        JOIN generations g ON g.id = x.generation_id
        JOIN problems p ON p.id = g.problem_id
        LEFT JOIN execution_latest l ON l.generation_id = g.id
        WHERE x.verdict = 'inconclusive' AND g.superseded_at IS NULL{where}
        """,
        params,
    ).fetchone()
