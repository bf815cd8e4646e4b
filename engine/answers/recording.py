"""Recording generations in the database while they stream.

- ``start_answer(...)`` inserts a ``streaming`` row before the first token and returns
  an ``AnswerWriter``; feed it every chunk with ``on_text`` (it is a valid
  ``on_text`` callback for ``Backend.generate``). It flushes ``raw_answer`` to the
  row at most every ``flush_seconds`` (default 1 s), so a crash loses at most the
  last second of tokens. ``finish(result, extraction)`` writes the final text, the
  stop reason as ``status``, the timing and the resources the answer took
  (``cpu_seconds``, ``peak_rss_bytes``: NULL for a model behind a server).
- One *current* row per (problem, contender, sample): the schema's partial unique
  index ``generations_current`` enforces it. Regenerating sets ``superseded_at`` on
  the old row and inserts the new one in the same transaction; superseded rows are
  kept (nothing is ever deleted).
- runs (``gradebench.engine.store.runs``) record the process (host + pid); ``mark_stale_streaming``
  turns ``streaming`` rows left by a dead process into ``cancelled`` rows whose
  ``error`` says they were interrupted (their partial text is kept), so the next
  batch regenerates them.

Status values: ``streaming`` while generating, then the ``GenerationResult``'s stop
reason: ``done`` | ``max_tokens`` | ``cancelled`` | ``error``. ``FINISHED`` statuses
count as an answer; the batch redoes ``cancelled`` ones and keeps ``error`` ones.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.generations import (
    EXTRACTION_COLUMNS,
    CurrentRow,
    begin_generation,
    close_streaming,
    current_generation_row,
    streaming_rows,
    update_generation,
    write_partial_text,
)
from gradebench.engine.store.runs import ORPHAN_AGE, older_than, run_is_dead

if TYPE_CHECKING:
    from gradebench.engine.generation.backend import GenerationResult
    from gradebench.engine.store.sqlite import Database

FINISHED: tuple[str, ...] = ("done", "max_tokens")
REDO: tuple[str, ...] = ("cancelled",)
INTERRUPTED = "interrupted: the process ended while this answer was streaming"


class AlreadyGenerated(Exception):
    """The (problem, contender, sample) already has a current answer that may not be
    replaced: ``current`` says which (a live claim when its status is ``streaming``)."""

    def __init__(self, message: str, current: CurrentRow | None = None) -> None:
        super().__init__(message)
        self.current = current

    @property
    def claimed_elsewhere(self) -> bool:
        """Another live run is streaming this answer right now."""
        return self.current is not None and self.current.claim_alive


def mark_stale_streaming(db: Database) -> int:
    """Close ``streaming`` rows whose process is gone; returns how many were closed."""
    stale = [
        gid
        for gid, started_at, host, finished_at, heartbeat_at in streaming_rows(db)
        if (
            run_is_dead(host, finished_at, started_at, heartbeat_at)
            if host is not None
            else older_than(started_at, ORPHAN_AGE)
        )
    ]
    if stale:
        close_streaming(db, stale, INTERRUPTED, utc_now())
    return len(stale)


def current_generation(
    db: Database, problem_id: str, contender_id: str, sample_index: int = 0
) -> dict[str, Any] | None:
    return current_generation_row(db, problem_id, contender_id, sample_index)


@dataclass
class AnswerWriter:
    """Streams one answer into its ``generations`` row; see the module docstring."""

    db: Database
    generation_id: str
    flush_seconds: float = 1.0
    _pieces: list[str] | None = None
    _last_flush: float = 0.0
    _dirty: bool = False
    flushes: int = 0

    def __post_init__(self) -> None:
        self._pieces = []
        self._last_flush = time.monotonic()

    @property
    def text(self) -> str:
        return "".join(self._pieces or [])

    def on_text(self, chunk: str) -> None:
        assert self._pieces is not None
        self._pieces.append(chunk)
        self._dirty = True
        if time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    __call__ = on_text

    def flush(self) -> None:
        if not self._dirty:
            return
        write_partial_text(self.db, self.generation_id, self.text, len(self._pieces or []))
        self._dirty = False
        self.flushes += 1
        self._last_flush = time.monotonic()

    def finish(self, result: GenerationResult, extraction: Any = None) -> None:
        """Write the final row: full text, status = stop reason, stats, extracted code."""
        code, method, notes, followed = _extraction_fields(extraction)
        update_generation(
            self.db,
            self.generation_id,
            {
                "raw_answer": result.text,
                "extracted_code": code,
                "extract_method": method,
                "extract_notes": notes,
                "followed_format": followed,
                "status": result.stop_reason,
                "error": result.error,
                "tokens": result.tokens,
                "threads": result.threads,
                "ttft_seconds": result.ttft_seconds,
                "total_seconds": result.total_seconds,
                "tokens_per_second": result.tokens_per_second,
                "cpu_seconds": result.cpu_seconds,
                "peak_rss_bytes": result.peak_rss_bytes,
                "finished_at": utc_now(),
            },
        )
        self._dirty = False

    def set_extraction(self, extraction: Any) -> None:
        code, method, notes, followed = _extraction_fields(extraction)
        update_generation(
            self.db,
            self.generation_id,
            dict(zip(EXTRACTION_COLUMNS, (code, method, notes, followed), strict=True)),
        )


def _extraction_fields(extraction: Any) -> tuple[str | None, str | None, str | None, int | None]:
    """(code, method, notes as a JSON list, followed_format as 1/0) of an extraction, or
    NULLs when there was none (the answer did not finish)."""
    if extraction is None:
        return None, None, None, None
    return (
        extraction.code or "",
        extraction.method,
        json.dumps(list(extraction.notes)),
        int(bool(extraction.followed_format)),
    )


def start_answer(
    db: Database,
    *,
    problem_id: str,
    contender_id: str,
    prompt_text: str,
    sample_index: int = 0,
    run_id: str | None = None,
    regenerate: bool = False,
    redo: tuple[str, ...] = REDO,
    replace_own_run: bool = False,
    threads: int | None = None,
    flush_seconds: float = 1.0,
) -> AnswerWriter:
    """Insert the ``streaming`` row (superseding the current one when allowed).

    The current row is replaced when ``regenerate`` is true (an explicit, recorded act),
    when its status is in ``redo`` (by default ``cancelled``: cut off), or when it is a
    claim that can no longer be honoured: ``streaming`` for a run that died (taken over),
    or for ``run_id`` itself when ``replace_own_run`` (the grading screen restarting its
    own stream). A live claim of another run, or a finished answer, raises
    ``AlreadyGenerated`` and nothing changes.
    """

    def replaceable(row: CurrentRow) -> bool:
        if regenerate or row.status in redo:
            return True
        if row.status != "streaming":
            return False
        own = replace_own_run and run_id is not None and row.run_id == run_id
        return own or not row.claim_alive

    generation_id = new_id()
    refused = begin_generation(
        db,
        generation_id=generation_id,
        problem_id=problem_id,
        contender_id=contender_id,
        sample_index=sample_index,
        prompt_text=prompt_text,
        run_id=run_id,
        threads=threads,
        started_at=utc_now(),
        replaceable=replaceable,
    )
    if refused is not None:
        raise AlreadyGenerated(f"{problem_id} / {contender_id} #{sample_index}", refused)
    return AnswerWriter(db, generation_id, flush_seconds=flush_seconds)
