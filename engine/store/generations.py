"""The ``generations`` table: one row per answer, inserted ``streaming`` before its first
token, flushed as it grows and finished with its stop reason. One *current* row per
(problem, contender, sample): regenerating supersedes the old row in the same transaction.
Writers take ``runs.WRITE_LOCK`` so the threads of one process never wait on SQLite's lock.

A row ``streaming`` is its run's *claim* on the pair: ``begin_generation`` reads the
current row and inserts in one ``BEGIN IMMEDIATE`` transaction, so of several processes
starting the same pair at once exactly one inserts, and the others see its claim (with
whether its run is still alive, ``runs.run_is_dead``) and follow it or take it over.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.store.runs import ORPHAN_AGE, WRITE_LOCK, older_than, run_is_dead
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


def streaming_rows(db: Database) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """(generation id, started_at, run host, run finished_at, run heartbeat_at) of every
    ``streaming`` row."""
    return db.execute(
        "SELECT g.id, g.started_at, r.host, r.finished_at, r.heartbeat_at FROM generations g "
        "LEFT JOIN runs r ON r.id = g.run_id WHERE g.status = 'streaming'"
    ).fetchall()


@dataclass(frozen=True)
class CurrentRow:
    """What ``begin_generation`` knows of the current row it may replace."""

    generation_id: str
    status: str
    run_id: str | None
    claim_alive: bool
    """For a ``streaming`` row: whether its run can still write (False for other statuses)."""


_CURRENT_WITH_RUN = (
    "SELECT g.id, g.status, g.run_id, g.started_at, r.id IS NOT NULL, r.host, r.finished_at,"
    " r.heartbeat_at FROM generations g LEFT JOIN runs r ON r.id = g.run_id"
)


def _current_row(raw: Sequence[Any] | None) -> CurrentRow | None:
    if raw is None:
        return None
    gid, status, run_id, started_at, has_run, host, finished_at, heartbeat_at = raw
    alive = False
    if status == "streaming":
        if has_run:
            alive = not run_is_dead(host, finished_at, started_at, heartbeat_at)
        else:
            alive = not older_than(started_at, ORPHAN_AGE)
    return CurrentRow(gid, status, run_id, alive)


def claim_alive(db: Database, generation_id: str) -> bool:
    """Whether this row is ``streaming`` and its run can still write to it."""
    row = _current_row(
        db.execute(f"{_CURRENT_WITH_RUN} WHERE g.id = ?", [generation_id]).fetchone()
    )
    return row is not None and row.claim_alive


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
    replaceable: Callable[[CurrentRow], bool],
) -> CurrentRow | None:
    """Insert the ``streaming`` row, superseding the current one when ``replaceable(row)``.

    Returns None when the row was inserted, else the current row that may not be replaced
    (and writes nothing). The read and the writes are one ``BEGIN IMMEDIATE`` transaction
    under ``WRITE_LOCK``: no other process can insert between them.
    """
    with WRITE_LOCK, db.conn:
        if not db.conn.in_transaction:
            db.conn.execute("BEGIN IMMEDIATE")
        row = _current_row(
            db.conn.execute(
                f"{_CURRENT_WITH_RUN} WHERE g.problem_id = ? AND g.contender_id = ? "
                "AND g.sample_index = ? AND g.superseded_at IS NULL",
                (problem_id, contender_id, sample_index),
            ).fetchone()
        )
        if row is not None:
            if not replaceable(row):
                return row
            db.conn.execute(
                "UPDATE generations SET superseded_at = ?, "
                "status = CASE WHEN status = 'streaming' THEN 'cancelled' ELSE status END "
                "WHERE id = ?",
                (started_at, row.generation_id),
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
    return None


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
    "cpu_seconds",
    "peak_rss_bytes",
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
