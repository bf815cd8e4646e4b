"""Every grade event as a file, and back: the raw export.

``write_raw_grades`` streams every grade event of a selection (one row each, with its
problem, contender, model and prompt style) as CSV or JSON, built by SQLite, so an export
loses nothing the database holds about a grade; ``read_raw_grades_csv`` reads such a CSV
back with its types.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Sequence
from typing import IO, Any

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.loading import tune_for_reading
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.selection import check_selection, resolve_contenders

RAW_FORMATS = ("csv", "json")


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


def _raw_filters(
    conn: sqlite3.Connection, selection: Selection, suite: str
) -> tuple[str, list[Any]]:
    """WHERE clause and parameters of a selection; ``suite`` is the SQL naming the suite."""
    check_selection(conn, selection)
    clauses: list[str] = []
    params: list[Any] = []
    if selection.suite is not None:
        clauses.append(f"{suite} = ?")
        params.append(selection.suite)
    if selection.problem_ids is not None:
        problem_id = suite.removesuffix(".suite") + ".id"
        clauses.append(f"{problem_id} IN ({','.join('?' * len(selection.problem_ids))})")
        params.extend(selection.problem_ids)
    if selection.reviewers:
        clauses.append(f"ge.reviewer IN ({','.join('?' * len(selection.reviewers))})")
        params.extend(selection.reviewers)
    if selection.contenders:
        _, chosen = resolve_contenders(conn, selection.contenders)
        clauses.append(f"g.contender_id IN ({','.join('?' * len(chosen))})")
        params.extend(c.id for c in chosen)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return where, params


def _raw_query(
    conn: sqlite3.Connection, selection: Selection, select: str
) -> tuple[str, list[Any]]:
    where, params = _raw_filters(conn, selection, "p.suite")
    sql = f"""
        SELECT {select}
        FROM grade_events ge
        JOIN generations g ON g.id = ge.generation_id
        JOIN problems p ON p.id = g.problem_id
        JOIN contenders c ON c.id = g.contender_id
        LEFT JOIN models m ON m.sha256 = c.model_sha256
        {where}
    """
    return sql, params


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


def _raw_csv_query(conn: sqlite3.Connection, selection: Selection) -> tuple[str, list[Any]]:
    """One CSV line per grade event, oldest first, built by SQLite.

    The cells that come from a problem or a contender are quoted once per problem
    and contender (two small materialised tables) and pasted into each line, which
    is a third less work than quoting them on every one of the lines.
    """
    problem_cells = _csv_cells_sql(RAW_COLUMNS[PROBLEM_COLUMNS], {"g.problem_id": "p.id"})
    contender_cells = _csv_cells_sql(RAW_COLUMNS[CONTENDER_COLUMNS], {"g.contender_id": "c.id"})
    head = _csv_cells_sql(RAW_COLUMNS[: PROBLEM_COLUMNS.start], {})
    tail = _csv_cells_sql(RAW_COLUMNS[CONTENDER_COLUMNS.stop :], {})
    where, params = _raw_filters(conn, selection, "pd.suite")
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
    return sql, params


def write_raw_grades(conn: sqlite3.Connection, selection: Selection, fmt: str, out: IO[str]) -> int:
    """Every grade event matching the selection, oldest first; returns how many.

    Both formats are read in creation order straight from the ``grade_events_created``
    index (migration m003), so no sort of the 300,000 joined rows is needed.
    """
    if fmt not in RAW_FORMATS:
        raise UserError(f"--format: raw grades export as csv or json, not {fmt!r}")
    tune_for_reading(conn)
    if fmt == "csv":
        # SQLite builds each CSV line (RFC 4180 quoting) so Python only writes strings
        sql, params = _raw_csv_query(conn, selection)
        cursor = conn.execute(sql, params)
        out.write(",".join(name for name, _, _ in RAW_COLUMNS) + "\n")
        count = 0
        while batch := cursor.fetchmany(10_000):
            out.write("\n".join(row[0] for row in batch) + "\n")
            count += len(batch)
        return count
    # JSON objects are built by SQLite itself (json_object keeps NULLs, numbers and text)
    pairs = ", ".join(f"'{name}', {expr}" for name, expr, _ in RAW_COLUMNS)
    sql, params = _raw_query(conn, selection, f"json_object({pairs})")
    cursor = conn.execute(sql + " ORDER BY ge.created_at, ge.rowid", params)
    out.write("[")
    count = 0
    while batch := cursor.fetchmany(10_000):
        out.write(("," if count else "") + "\n" + ",\n".join(row[0] for row in batch))
        count += len(batch)
    out.write("\n]\n")
    return count


def read_raw_grades_csv(stream: IO[str]) -> list[dict[str, Any]]:
    """A raw-grades CSV back as typed rows (empty cell: NULL, except note and rubric)."""
    types = {name: kind for name, _, kind in RAW_COLUMNS}
    rows = []
    for record in csv.DictReader(stream):
        row: dict[str, Any] = {}
        for name, text in record.items():
            kind = types.get(name, "text")
            if text == "" and name not in NOT_NULL_TEXT:
                row[name] = None
            elif kind == "int":
                row[name] = int(text)
            elif kind == "real":
                row[name] = float(text)
            else:
                row[name] = text
        rows.append(row)
    return rows
