"""How each reviewer worked: answers graded, side-by-side position bias, and pace; and
why their grades differ from the tests (``reason_counts``).

- **Position bias**: of a reviewer's current votes that prefer one side (``a`` or ``b``),
  the share that went to the left pane. Without a bias it tends to 0.5 when the panes
  are shuffled (blind mode) or the contenders are equally good.
- **Self-consistency**: of the answers shown to a reviewer again blind (rechecks, kept
  apart from the grades), how many got the same score, and Cohen's kappa between the
  first grade and the recheck (intra-rater agreement; scores as categories).
- **Pace**: seconds per graded answer, from the gaps between a reviewer's consecutive
  first grades (an event that replaces none) within one grading session (run); gaps over
  ``BREAK_SECONDS`` count as breaks and are left out. The median, and its drift: the
  median of the later half of the gaps minus that of the earlier half (negative: faster
  as the session went on).

Only answers in the report's table count (its suite, contenders and reviewers).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from statistics import median

import numpy as np

from gradebench.engine.reporting.loading import Table
from gradebench.engine.reporting.model import ExtractionAudit, ReviewerStats, Selection
from gradebench.engine.reporting.stats import cohen_kappa
from gradebench.engine.store.extraction_choices import extraction_change_rows
from gradebench.engine.store.rechecks import recheck_pairs
from gradebench.engine.store.report_reads import (
    current_vote_sides,
    first_grade_rows,
    reason_rows,
)

BREAK_SECONDS = 600.0


def reviewer_stats(
    conn: sqlite3.Connection, selection: Selection, table: Table
) -> tuple[ReviewerStats, ...]:
    stamps: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    rows = first_grade_rows(conn, selection.reviewers)
    if rows:
        at = table.locate([r[0] for r in rows]).tolist()
        for (_, reviewer, run_id, seconds), position in zip(rows, at, strict=True):
            if position >= 0:
                stamps[reviewer, run_id].append(seconds)
    graded: dict[str, int] = defaultdict(int)
    gaps: dict[str, list[float]] = defaultdict(list)
    for (reviewer, _run), times in stamps.items():
        graded[reviewer] += len(times)
        between = np.round(np.diff(np.sort(np.asarray(times))), 3)  # to the millisecond
        gaps[reviewer] += between[between <= BREAK_SECONDS].tolist()
    left: dict[str, int] = defaultdict(int)
    sided: dict[str, int] = defaultdict(int)
    votes: dict[str, int] = defaultdict(int)
    vote_rows = current_vote_sides(conn, selection.reviewers)
    if vote_rows:
        at = table.locate([r[0] for r in vote_rows])
        for (_, reviewer, outcome), position in zip(vote_rows, at, strict=True):
            if position < 0:
                continue
            votes[reviewer] += 1
            if outcome in ("a", "b"):
                sided[reviewer] += 1
                left[reviewer] += outcome == "a"
    firsts: dict[str, list[float]] = defaultdict(list)
    seconds: dict[str, list[float]] = defaultdict(list)
    pairs = recheck_pairs(conn, selection.reviewers)
    if pairs:
        at = table.locate([r[0] for r in pairs])
        for (_, reviewer, first, again), position in zip(pairs, at, strict=True):
            if position >= 0:
                firsts[reviewer].append(first)
                seconds[reviewer].append(again)
    stats = []
    for reviewer in sorted(set(graded) | set(votes)):
        first, again = firsts.get(reviewer, []), seconds.get(reviewer, [])
        same = sum(1 for x, y in zip(first, again, strict=True) if x == y)
        pace = gaps.get(reviewer, [])
        half = len(pace) // 2
        drift = median(pace[half:]) - median(pace[:half]) if half else None
        stats.append(
            ReviewerStats(
                reviewer=reviewer,
                graded=graded.get(reviewer, 0),
                votes=votes.get(reviewer, 0),
                left_share=left[reviewer] / sided[reviewer] if sided.get(reviewer) else None,
                seconds_per_answer=median(pace) if pace else None,
                pace_drift=drift,
                rechecks=len(again),
                recheck_same=same / len(again) if again else None,
                recheck_kappa=cohen_kappa(first, again) if again else None,
            )
        )
    return tuple(stats)


def reason_counts(conn: sqlite3.Connection, selection: Selection, table: Table) -> dict:
    """``Agreement.reasons`` and ``reasons_by_contender``: why current grades of the
    table's answers differ from the tests (``grading.triage``)."""
    overall: dict[str, int] = defaultdict(int)
    by_contender: dict[tuple[str, str], int] = defaultdict(int)
    rows = reason_rows(conn, selection.reviewers)
    if rows:
        at = table.locate([r[0] for r in rows])
        for (_, reason), position in zip(rows, at, strict=True):
            if position < 0:
                continue
            overall[reason] += 1
            label = table.contenders[int(table.contender[position])].label
            by_contender[label, reason] += 1
    return {
        "reasons": tuple(sorted(overall.items())),
        "reasons_by_contender": tuple(sorted((c, r, n) for (c, r), n in by_contender.items())),
    }


def extraction_audits(
    conn: sqlite3.Connection, selection: Selection, table: Table
) -> tuple[ExtractionAudit, ...]:
    """Per contender and extraction method, the audited (answer, reviewer) pairs of the
    table's answers and how many of them changed the code tested."""
    audited: dict[tuple[str, str], int] = defaultdict(int)
    changed: dict[tuple[str, str], int] = defaultdict(int)
    rows = [
        r
        for r in extraction_change_rows(conn)
        if not selection.reviewers or r[1] in selection.reviewers
    ]
    if rows:
        at = table.locate([r[0] for r in rows])
        for (_, _reviewer, method, differs), position in zip(rows, at, strict=True):
            if position < 0:
                continue
            label = table.contenders[int(table.contender[position])].label
            audited[label, method] += 1
            changed[label, method] += int(differs)
    return tuple(
        ExtractionAudit(contender, method, count, changed[contender, method])
        for (contender, method), count in sorted(audited.items())
    )
