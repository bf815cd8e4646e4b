"""The raw grade rows: every grade event with its answer's problem, contender and model,
as CSV lines or JSON objects built by SQLite itself (so Python only writes strings).

``RAW_COLUMNS`` names each column, the SQL it comes from and its type for reading back.
Both forms are read in creation order straight from the ``grade_events_created`` index
(migration m003), so no sort of the joined rows is needed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

RAW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (name, SQL expression, type for reading back: text | int | real)
    ("grade_id", "ge.id", "text"),
    ("generation_id", "ge.generation_id", "text"),
    ("problem_id", "g.problem_id", "text"),
    ("suite", "p.suite", "text"),
    ("difficulty", "p.difficulty", "text"),
    ("contender_id", "g.contender_id", "text"),
    ("contender", "c.name", "text"),
    ("model_sha256", "c.model_sha256", "text"),
    ("model", "m.name", "text"),
    ("prompt_style", "c.prompt_style", "text"),
    ("sample_index", "g.sample_index", "int"),
    ("reviewer", "ge.reviewer", "text"),
    ("created_at", "ge.created_at", "text"),
    ("score", "ge.score", "real"),
    ("format_ok", "ge.format_ok", "int"),
    ("suggested_score", "ge.suggested_score", "real"),
    ("note", "ge.note", "text"),
    ("rubric", "ge.rubric", "text"),
    ("replaces_id", "ge.replaces_id", "text"),
    ("blind", "ge.blind", "int"),
    ("run_id", "ge.run_id", "text"),
    ("generation_superseded_at", "g.superseded_at", "text"),
)
NOT_NULL_TEXT = frozenset({"note", "rubric"})
"""Text columns that are never NULL: an empty CSV cell is the empty string there."""


@dataclass(frozen=True)
class RawFilter:
    """Which grade events: of a suite, some problems, some reviewers, some contenders."""

    suite: str | None = None
    problem_ids: Sequence[str] | None = None
    reviewers: Sequence[str] = ()
    contender_ids: Sequence[str] | None = None


def _where(chosen: RawFilter, suite: str) -> tuple[str, list[Any]]:
    """WHERE clause and parameters; ``suite`` is the SQL naming the suite column."""
    clauses: list[str] = []
    params: list[Any] = []
    if chosen.suite is not None:
        clauses.append(f"{suite} = ?")
        params.append(chosen.suite)
    if chosen.problem_ids is not None:
        problem_id = suite.removesuffix(".suite") + ".id"
        clauses.append(f"{problem_id} IN ({','.join('?' * len(chosen.problem_ids))})")
        params.extend(chosen.problem_ids)
    if chosen.reviewers:
        clauses.append(f"ge.reviewer IN ({','.join('?' * len(chosen.reviewers))})")
        params.extend(chosen.reviewers)
    if chosen.contender_ids is not None:
        clauses.append(f"g.contender_id IN ({','.join('?' * len(chosen.contender_ids))})")
        params.extend(chosen.contender_ids)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return where, params


def _csv_cell_sql(expr: str, kind: str) -> str:
    """SQL for one CSV cell: NULL is empty, text is quoted, reals keep every bit."""
    if kind == "text":
        return f"""COALESCE('"' || replace({expr}, '"', '""') || '"', '')"""
    if kind == "real":  # '!' lifts SQLite's 16-digit limit: 20 digits read back exactly
        return f"COALESCE(printf('%!.20g', {expr}), '')"
    return f"COALESCE(CAST({expr} AS TEXT), '')"


def _csv_cells_sql(columns: Sequence[tuple[str, str, str]], renamed: dict[str, str]) -> str:
    return " || ',' || ".join(
        _csv_cell_sql(renamed.get(expr, expr), kind) for _, expr, kind in columns
    )


_RAW_NAMES = [name for name, _, _ in RAW_COLUMNS]
PROBLEM_COLUMNS = slice(_RAW_NAMES.index("problem_id"), _RAW_NAMES.index("difficulty") + 1)
"""problem_id, suite, difficulty: the same for every grade of a problem."""
CONTENDER_COLUMNS = slice(_RAW_NAMES.index("contender_id"), _RAW_NAMES.index("prompt_style") + 1)
"""contender_id .. prompt_style: the same for every grade of a contender."""


def _batches(cursor: sqlite3.Cursor) -> Iterator[list[str]]:
    while batch := cursor.fetchmany(10_000):
        yield [row[0] for row in batch]


def raw_csv_lines(conn: sqlite3.Connection, chosen: RawFilter) -> Iterator[list[str]]:
    """One CSV line (RFC 4180 quoting, no newline) per grade event, oldest first, in batches.

    The cells that come from a problem or a contender are quoted once per problem
    and contender (two small materialised tables) and pasted into each line, which
    is a third less work than quoting them on every one of the lines.
    """
    problem_cells = _csv_cells_sql(RAW_COLUMNS[PROBLEM_COLUMNS], {"g.problem_id": "p.id"})
    contender_cells = _csv_cells_sql(RAW_COLUMNS[CONTENDER_COLUMNS], {"g.contender_id": "c.id"})
    head = _csv_cells_sql(RAW_COLUMNS[: PROBLEM_COLUMNS.start], {})
    tail = _csv_cells_sql(RAW_COLUMNS[CONTENDER_COLUMNS.stop :], {})
    where, params = _where(chosen, "pd.suite")
    sql = f"""
        WITH pd AS MATERIALIZED (
            SELECT p.id AS id, p.suite AS suite, {problem_cells} AS cells FROM problems p
        ),
        cd AS MATERIALIZED (
            SELECT c.id AS id, {contender_cells} AS cells
            FROM contenders c LEFT JOIN models m ON m.sha256 = c.model_sha256
        )
        SELECT {head} || ',' || pd.cells || ',' || cd.cells || ',' || {tail}
        FROM grade_events ge
        JOIN generations g ON g.id = ge.generation_id
        JOIN pd ON pd.id = g.problem_id
        JOIN cd ON cd.id = g.contender_id
        {where}
        ORDER BY ge.created_at, ge.rowid
    """
    yield from _batches(conn.execute(sql, params))


def raw_json_objects(conn: sqlite3.Connection, chosen: RawFilter) -> Iterator[list[str]]:
    """One JSON object per grade event (``json_object`` keeps NULLs, numbers and text),
    oldest first, in batches."""
    pairs = ", ".join(f"'{name}', {expr}" for name, expr, _ in RAW_COLUMNS)
    where, params = _where(chosen, "p.suite")
    sql = f"""
        SELECT json_object({pairs})
        FROM grade_events ge
        JOIN generations g ON g.id = ge.generation_id
        JOIN problems p ON p.id = g.problem_id
        JOIN contenders c ON c.id = g.contender_id
        LEFT JOIN models m ON m.sha256 = c.model_sha256
        {where}
        ORDER BY ge.created_at, ge.rowid
    """
    yield from _batches(conn.execute(sql, params))
