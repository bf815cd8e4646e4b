"""Every grade event as a file, and back: the raw export.

``write_raw_grades`` streams every grade event of a selection (one row each, with its
problem, contender, model and prompt style) as CSV or JSON, built by SQLite
(``gradebench.engine.store.raw_grade_rows``), so an export loses nothing the database
holds about a grade; ``read_raw_grades_csv`` reads such a CSV back with its types.
"""

from __future__ import annotations

import csv
import sqlite3
from typing import IO, Any

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.selection import check_selection, resolve_contenders
from gradebench.engine.store.raw_grade_rows import (
    NOT_NULL_TEXT,
    RAW_COLUMNS,
    RawFilter,
    raw_csv_lines,
    raw_json_objects,
)
from gradebench.engine.store.report_reads import tune_for_reading

__all__ = ["RAW_COLUMNS", "RAW_FORMATS", "read_raw_grades_csv", "write_raw_grades"]

RAW_FORMATS = ("csv", "json")


def _raw_filter(conn: sqlite3.Connection, selection: Selection) -> RawFilter:
    check_selection(conn, selection)
    contender_ids = None
    if selection.contenders:
        _, chosen = resolve_contenders(conn, selection.contenders)
        contender_ids = [c.id for c in chosen]
    return RawFilter(
        suite=selection.suite,
        problem_ids=selection.problem_ids,
        reviewers=selection.reviewers,
        contender_ids=contender_ids,
    )


def write_raw_grades(conn: sqlite3.Connection, selection: Selection, fmt: str, out: IO[str]) -> int:
    """Every grade event matching the selection, oldest first; returns how many."""
    if fmt not in RAW_FORMATS:
        raise UserError(f"--format: raw grades export as csv or json, not {fmt!r}")
    tune_for_reading(conn)
    chosen = _raw_filter(conn, selection)
    count = 0
    if fmt == "csv":
        out.write(",".join(name for name, _, _ in RAW_COLUMNS) + "\n")
        for lines in raw_csv_lines(conn, chosen):
            out.write("\n".join(lines) + "\n")
            count += len(lines)
        return count
    out.write("[")
    for objects in raw_json_objects(conn, chosen):
        out.write(("," if count else "") + "\n" + ",\n".join(objects))
        count += len(objects)
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
