"""Reports remembered between openings of the leaderboard, keyed by a data fingerprint.

``grade_change_marker`` is a cheap fingerprint of what a report reads;
``cached_report_in_stages`` and ``cached_report`` hand back a remembered report at once
while the fingerprint is unchanged, and compute (and remember) it otherwise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from gradebench.engine.reporting.model import Report, ReportTables, Selection
from gradebench.engine.reporting.report import report_in_stages
from gradebench.engine.store.report_reads import change_marker


def grade_change_marker(conn: sqlite3.Connection) -> tuple[int, ...]:
    """Cheap fingerprint of what a report reads: changes whenever a grade, vote,
    answer or test run is added (each is an append; a regenerated answer is a new row)
    and whenever an answer ends (``finished_at`` is set in place when a streaming answer
    turns done, max_tokens, cancelled or error, and its figures with it).

    The text and token count a streaming answer flushes every second do not change it:
    the leaderboard recomputes when an answer ends, not at every flush.
    """
    return change_marker(conn)


_CACHE: dict[tuple[Any, ...], Report] = {}
_CACHE_SIZE = 8


def forget_cached_reports() -> None:
    """Drop every remembered report (benchmarks time a first computation with it)."""
    _CACHE.clear()


def cached_report_in_stages(
    conn: sqlite3.Connection,
    key: Any,
    selection: Selection,
    *,
    by: Sequence[str] = ("contender",),
    bt_resamples: int = 200,
) -> Iterator[tuple[ReportTables | Report, tuple[int, ...]]]:
    """``report_in_stages`` with the data fingerprint, remembered per (``key``,
    selection, grouping, fingerprint): a remembered report comes at once, whole.

    ``key`` names the database (its path). Reopening the leaderboard on data that has
    not changed since costs one fingerprint query instead of a full recomputation.
    """
    marker = grade_change_marker(conn)
    cache_key = (key, marker, selection, tuple(by), bt_resamples)
    report = _CACHE.get(cache_key)
    if report is not None:
        yield report, marker
        return
    for stage in report_in_stages(conn, selection, by=by, bt_resamples=bt_resamples):
        if isinstance(stage, Report):
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[cache_key] = stage
        yield stage, marker


def cached_report(
    conn: sqlite3.Connection,
    key: Any,
    selection: Selection,
    *,
    by: Sequence[str] = ("contender",),
    bt_resamples: int = 200,
) -> tuple[Report, tuple[int, ...]]:
    """``build_report``, remembered as in ``cached_report_in_stages``."""
    for stage, marker in cached_report_in_stages(
        conn, key, selection, by=by, bt_resamples=bt_resamples
    ):
        if isinstance(stage, Report):
            return stage, marker
    raise AssertionError("cached_report_in_stages ends with the whole report")
