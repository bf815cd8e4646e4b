"""The ``executions`` table: one row per test run of an answer (or of a samples file's
entry), appended and never updated; an answer's verdict is its latest row."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gradebench.engine.store.database import rows_as_dicts
from gradebench.engine.store.sqlite import Database

_CHUNK = 400


def insert_execution(db: Database, row: dict[str, Any]) -> None:
    """Append one test run (a dict of column values), committed at once."""
    columns = list(row)
    with db.conn:
        db.conn.execute(
            f"INSERT INTO executions ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})",
            [row[column] for column in columns],
        )


def latest_execution_row(db: Database, generation_id: str) -> dict[str, Any] | None:
    """The latest test run of this answer, if any."""
    rows = rows_as_dicts(
        db,
        "SELECT * FROM executions WHERE generation_id = ? ORDER BY created_at DESC, rowid DESC "
        "LIMIT 1",
        [generation_id],
    )
    return rows[0] if rows else None


def has_execution(db: Database, generation_id: str) -> bool:
    """Whether this answer was tested at least once."""
    found = db.execute(
        "SELECT 1 FROM executions WHERE generation_id = ? LIMIT 1", [generation_id]
    ).fetchone()
    return found is not None


def latest_verdicts(db: Database, generation_ids: Iterable[str]) -> dict[str, str]:
    """generation_id -> verdict of its latest test run."""
    ids = list(generation_ids)
    verdicts: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for generation_id, verdict in db.execute(
            f"SELECT generation_id, verdict FROM executions WHERE generation_id IN ({marks}) "
            "ORDER BY created_at, rowid",
            chunk,
        ):
            verdicts[generation_id] = verdict
    return verdicts
