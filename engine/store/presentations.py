"""The ``presentations`` table: the pane order a reviewer was shown for a problem, and when a
blind order's names were revealed."""

from __future__ import annotations

from typing import Any

from gradebench.engine.store.database import rows_as_dicts
from gradebench.engine.store.sqlite import Database


def latest_presentation_row(db: Database, problem_id: str, reviewer: str) -> dict[str, Any] | None:
    rows = rows_as_dicts(
        db,
        "SELECT * FROM presentations WHERE problem_id = ? AND reviewer = ? "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (problem_id, reviewer),
    )
    return rows[0] if rows else None


def insert_presentation(
    db: Database,
    *,
    id: str,
    problem_id: str,
    reviewer: str,
    blind: bool,
    contender_order_json: str,
    created_at: str,
    run_id: str | None,
) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT INTO presentations (id, problem_id, reviewer, blind, contender_order, "
            "created_at, revealed_at, run_id) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            (id, problem_id, reviewer, int(blind), contender_order_json, created_at, run_id),
        )


def mark_revealed(db: Database, presentation_id: str, when: str) -> None:
    """Set ``revealed_at`` once (a second reveal keeps the first time)."""
    with db.conn:
        db.conn.execute(
            "UPDATE presentations SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL",
            (when, presentation_id),
        )
