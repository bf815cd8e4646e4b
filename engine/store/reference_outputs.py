"""The ``expected_outputs`` table: the reference's outputs and seconds per test, one row per
(problem id, content hash). The outputs column is an opaque BLOB here; its format belongs
to ``gradebench.engine.evaluation.stored_outputs``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gradebench.engine.store.database import to_json, utc_now

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database


def load_reference_row(
    db: Database, problem_id: str, content_sha256: str
) -> tuple[bytes | str, str] | None:
    """(stored outputs, reference seconds as JSON) of one problem content, or None."""
    return db.execute(
        "SELECT outputs, reference_seconds FROM expected_outputs"
        " WHERE problem_id = ? AND content_sha256 = ?",
        [problem_id, content_sha256],
    ).fetchone()


def store_reference_row(
    db: Database,
    problem_id: str,
    content_sha256: str,
    outputs: bytes,
    seconds: Sequence[float | None],
) -> None:
    """Insert or replace one problem content's reference outputs."""
    with db.conn:
        db.conn.execute(
            "INSERT OR REPLACE INTO expected_outputs"
            " (problem_id, content_sha256, outputs, reference_seconds, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (problem_id, content_sha256, outputs, to_json(list(seconds)), utc_now()),
        )


def reference_seconds_rows(db: Database) -> list[tuple[str, str]]:
    """(problem id, reference seconds as JSON) of every stored row, oldest first."""
    return db.execute(
        "SELECT problem_id, reference_seconds FROM expected_outputs ORDER BY created_at"
    ).fetchall()
