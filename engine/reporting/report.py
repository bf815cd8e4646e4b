"""From ``grades.db`` to the numbers of a leaderboard: the report's entry points.

``report_in_stages`` checks the selection, loads the table (``loading``), groups it
(``grouping``) and yields the cheap ``ReportTables`` first, then the whole ``Report`` with
agreement (``agreement``) and side-by-side votes (``pairwise``); ``build_report`` returns
only the whole report. Remembering reports between openings is ``report_cache``'s job.
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np

from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError
from gradebench.engine.reporting.agreement import measure_agreement
from gradebench.engine.reporting.grouping import group_rows
from gradebench.engine.reporting.loading import (
    Table,
    load_table,
    read_reviewer_grades,
    tune_for_reading,
)
from gradebench.engine.reporting.model import (
    DEFAULT_KS,
    GROUP_KEYS,
    DisputedTestRow,
    GroupRow,
    Report,
    ReportTables,
    Selection,
)
from gradebench.engine.reporting.pairwise import pairwise_votes
from gradebench.engine.reporting.reviewer_stats import (
    extraction_audits,
    reason_counts,
    reviewer_stats,
)
from gradebench.engine.reporting.selection import check_selection
from gradebench.engine.store.report_reads import inconclusive_counts, vote_dispute_counts


def report_in_stages(
    conn: sqlite3.Connection,
    selection: Selection = Selection(),
    *,
    by: Sequence[str] = ("contender",),
    ks: Sequence[int] = DEFAULT_KS,
    bt_resamples: int = 200,
) -> Iterator[ReportTables | Report]:
    """``build_report`` in two steps: first the ``ReportTables`` (what a screen shows
    first), then the whole ``Report``. The numbers are the same as ``build_report``'s."""
    check_selection(conn, selection)
    by = tuple(by)
    for key in by:
        if key not in GROUP_KEYS:
            raise UserError(f"--by: unknown key {key!r} (choose from {', '.join(GROUP_KEYS)})")
    tune_for_reading(conn)
    with collector_paused():
        table = load_table(conn, selection)
    contender_rows = group_rows(table, ("contender",), ks, selection.seed)
    difficulty_rows: tuple[GroupRow, ...] | None = None
    if by == ("contender",):
        rows = contender_rows
    elif by == ("contender", "difficulty"):
        rows = difficulty_rows = group_rows(table, by, ks, selection.seed)
    else:
        rows = group_rows(table, by, ks, selection.seed)
    yield ReportTables(
        selection=selection, by=by, ks=tuple(ks), rows=rows, contender_rows=contender_rows
    )
    if difficulty_rows is None:
        difficulty_rows = group_rows(table, ("contender", "difficulty"), ks, selection.seed)
    if table.reviewer_grades is None:  # the mean rule read one row per answer so far
        with collector_paused():
            table.reviewer_grades = read_reviewer_grades(conn, selection, table.locate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agreement = measure_agreement(table)
    agreement = replace(agreement, **reason_counts(conn, selection, table))
    votes_disputed, votes_adjudicated = vote_dispute_counts(
        conn, selection.suite, selection.problem_ids
    )
    runs, left = inconclusive_counts(conn, selection.suite, selection.problem_ids)
    agreement = replace(
        agreement,
        votes_disputed=votes_disputed,
        votes_adjudicated=votes_adjudicated,
        inconclusive_runs=runs,
        inconclusive_left=left,
    )
    pairwise = pairwise_votes(conn, selection, table, bt_resamples)
    reviewers = reviewer_stats(conn, selection, table)
    shown = {row.contender_id for row in contender_rows}
    yield Report(
        selection=selection,
        by=by,
        ks=tuple(ks),
        rows=rows,
        contender_rows=contender_rows,
        difficulty_rows=difficulty_rows,
        agreement=agreement,
        pairwise=pairwise,
        contenders=tuple(c for c in table.contenders if c.id in shown),
        reviewers=reviewers,
        extraction=extraction_audits(conn, selection, table),
        **contested_figures(conn, table),
    )


def contested_figures(conn: sqlite3.Connection, table: Table) -> dict:
    """The disputed tests of the table's problems (reasons, and the answers each one alone
    turns from failing to passing) and how many answers' verdicts differ without them."""
    from gradebench.engine.grading.test_disputes import (
        REASON_LABELS,
        answers_changed_by,
        contested_answers,
        disputed_tests,
    )

    shown = (
        {table.problem_ids[i] for i in np.unique(table.problem)} if len(table.problem) else set()
    )
    disputes = [d for d in disputed_tests(conn) if d.problem_id in shown]
    if not disputes:
        return {}
    changed_by = answers_changed_by(conn, disputes)
    rows = tuple(
        DisputedTestRow(
            d.problem_id,
            d.test_index,
            "; ".join(
                f"{who}: {REASON_LABELS.get(reason, reason)}" + (f" ({note})" if note else "")
                for who, reason, note in d.reasons
            ),
            changed_by[d.problem_id, d.test_index],
        )
        for d in disputes
    )
    answers = contested_answers(conn, disputes)
    located = table.locate([c.generation_rowid for c in answers])
    differs = [
        c.published != c.contested for c, at in zip(answers, located, strict=True) if at >= 0
    ]
    return {"disputed_tests": rows, "contested_changed": sum(differs)}


def build_report(
    conn: sqlite3.Connection,
    selection: Selection = Selection(),
    *,
    by: Sequence[str] = ("contender",),
    ks: Sequence[int] = DEFAULT_KS,
    bt_resamples: int = 200,
) -> Report:
    """Everything a leaderboard or an export shows, for one selection."""
    for stage in report_in_stages(conn, selection, by=by, ks=ks, bt_resamples=bt_resamples):
        if isinstance(stage, Report):
            return stage
    raise AssertionError("report_in_stages ends with the whole report")
