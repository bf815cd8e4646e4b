"""The ``generations`` table: one row per answer, inserted ``streaming`` before its first
token, flushed as it grows and finished with its stop reason. One *current* row per
(problem, contender, sample): regenerating supersedes the old row in the same transaction.
Writers take ``runs.WRITE_LOCK`` so the threads of one process never wait on SQLite's lock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from gradebench.engine.store.runs import WRITE_LOCK
from gradebench.engine.store.sqlite import Database

_CHUNK = 400  # below SQLite's bound-parameter limit, with room for the other parameters


def _one(db: Database, sql: str, params: Sequence[Any]) -> dict[str, Any] | None:
    cursor = db.execute(sql, list(params))
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def current_generation_row(
    db: Database, problem_id: str, contender_id: str, sample_index: int = 0
) -> dict[str, Any] | None:
    """The current (not superseded) row of this (problem, contender, sample), any status."""
    return _one(
        db,
        "SELECT * FROM generations WHERE problem_id = ? AND contender_id = ? "
        "AND sample_index = ? AND superseded_at IS NULL",
        [problem_id, contender_id, sample_index],
    )


def current_finished_row(db: Database, problem_id: str, contender_id: str) -> dict[str, Any] | None:
    """The current first-sample row of this pair when it finished (``done``/``max_tokens``)."""
    return _one(
        db,
        "SELECT * FROM generations WHERE problem_id = ? AND contender_id = ? "
        "AND superseded_at IS NULL AND sample_index = 0 AND status IN ('done', 'max_tokens') "
        "ORDER BY started_at DESC LIMIT 1",
        [problem_id, contender_id],
    )


def current_generation_ids(
    db: Database, problem_ids: Iterable[str], contender_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """(problem_id, contender_id) -> the current first-sample generation's id."""
    problems = list(problem_ids)
    if not problems or not contender_ids:
        return {}
    found: dict[tuple[str, str], str] = {}
    marks_c = ",".join("?" * len(contender_ids))
    for start in range(0, len(problems), _CHUNK):
        chunk = problems[start : start + _CHUNK]
        marks_p = ",".join("?" * len(chunk))
        for problem_id, contender_id, generation_id in db.execute(
            f"""
            SELECT problem_id, contender_id, id FROM generations
            WHERE superseded_at IS NULL AND sample_index = 0
              AND problem_id IN ({marks_p}) AND contender_id IN ({marks_c})
            ORDER BY started_at
            """,
            [*chunk, *contender_ids],
        ):
            found[(problem_id, contender_id)] = generation_id
    return found


def streaming_rows(db: Database) -> list[tuple[str, str, str | None, str | None]]:
    """(generation id, started_at, run host, run finished_at) of every ``streaming`` row."""
    return db.execute(
        "SELECT g.id, g.started_at, r.host, r.finished_at FROM generations g "
        "LEFT JOIN runs r ON r.id = g.run_id WHERE g.status = 'streaming'"
    ).fetchall()


def streaming_ids_of_run(db: Database, run_id: str) -> list[str]:
    """The rows of one run still ``streaming``."""
    return [
        row[0]
        for row in db.execute(
            "SELECT id FROM generations WHERE run_id = ? AND status = 'streaming'", (run_id,)
        )
    ]


def close_streaming(db: Database, generation_ids: Collection[str], error: str, when: str) -> None:
    """Mark these rows ``cancelled`` with ``error`` (only those still ``streaming``)."""
    with WRITE_LOCK, db.conn:
        db.conn.executemany(
            "UPDATE generations SET status = 'cancelled', error = ?, finished_at = ? "
            "WHERE id = ? AND status = 'streaming'",
            [(error, when, gid) for gid in generation_ids],
        )


def begin_generation(
    db: Database,
    *,
    generation_id: str,
    problem_id: str,
    contender_id: str,
    sample_index: int,
    prompt_text: str,
    run_id: str | None,
    threads: int | None,
    started_at: str,
    replaceable: Callable[[str], bool],
) -> bool:
    """Insert the ``streaming`` row, superseding the current one when ``replaceable(status)``.

    Returns False (and writes nothing) when a current row exists that may not be replaced.
    The read and the writes are one transaction under ``WRITE_LOCK``.
    """
    with WRITE_LOCK, db.conn:
        row = db.conn.execute(
            "SELECT id, status FROM generations WHERE problem_id = ? AND contender_id = ? "
            "AND sample_index = ? AND superseded_at IS NULL",
            (problem_id, contender_id, sample_index),
        ).fetchone()
        if row is not None:
            if not replaceable(row[1]):
                return False
            db.conn.execute(
                "UPDATE generations SET superseded_at = ?, "
                "status = CASE WHEN status = 'streaming' THEN 'cancelled' ELSE status END "
                "WHERE id = ?",
                (started_at, row[0]),
            )
        db.conn.execute(
            "INSERT INTO generations (id, run_id, problem_id, contender_id, sample_index, "
            "prompt_text, status, threads, started_at) VALUES (?, ?, ?, ?, ?, ?, 'streaming', ?, ?)",
            (
                generation_id,
                run_id,
                problem_id,
                contender_id,
                sample_index,
                prompt_text,
                threads,
                started_at,
            ),
        )
    return True


def write_partial_text(db: Database, generation_id: str, text: str, tokens: int) -> None:
    """Flush the text streamed so far."""
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            "UPDATE generations SET raw_answer = ?, tokens = ? WHERE id = ?",
            (text, tokens, generation_id),
        )


FINISH_COLUMNS: tuple[str, ...] = (
    "raw_answer",
    "extracted_code",
    "extract_method",
    "extract_notes",
    "followed_format",
    "status",
    "error",
    "tokens",
    "threads",
    "ttft_seconds",
    "total_seconds",
    "tokens_per_second",
    "finished_at",
)

EXTRACTION_COLUMNS: tuple[str, ...] = (
    "extracted_code",
    "extract_method",
    "extract_notes",
    "followed_format",
)


def update_generation(db: Database, generation_id: str, values: dict[str, Any]) -> None:
    """Set these columns of one row (names from ``FINISH_COLUMNS``), committed at once."""
    unknown = set(values) - set(FINISH_COLUMNS)
    if unknown:
        raise ValueError(f"not a generations column this module writes: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    with WRITE_LOCK, db.conn:
        db.conn.execute(
            f"UPDATE generations SET {assignments} WHERE id = ?",
            [*values.values(), generation_id],
        )
