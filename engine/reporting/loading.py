"""Reading ``grades.db`` for a report: one ``Table`` of the current answers as numpy columns.

Three set-based queries do the reading (the current grades and latest executions come
from the tables the schema's triggers keep, ``grade_current`` and ``execution_latest``);
the rest of the report works on the arrays, so its cost is a few passes over them however
many generations there are.

Definitions (the README's "Statistics and export" section says the same):

- A generation counts while ``superseded_at`` is NULL.
- The current grade of a (generation, reviewer) is its latest event by
  ``created_at`` (an edit appends a newer event naming the one it replaces, so a
  replaced event is never the latest).
- Several reviewers' current grades of one generation are combined by ``mean``
  (their average) or ``majority`` (the most frequent score; a tie goes to the
  lowest of the tied scores, the conservative choice).
- The automatic verdict is the latest execution of the generation; it passes
  when ``verdict = 'pass'``. HumanEval+ base verdicts come from ``base_verdict``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradebench.engine.reporting.model import DIFFICULTY_ORDER, ContenderInfo, Selection
from gradebench.engine.reporting.selection import resolve_contenders
from gradebench.engine.store.report_reads import (
    adjudicated_rows,
    current_generation_rows,
    current_grade_rows,
    latest_execution_rows,
    mean_grade_rows,
    tune_for_reading,
)
from gradebench.engine.store.report_reads import (
    problem_rows as read_problem_rows,
)

__all__ = ["ReviewerGrades", "Table", "load_table", "read_reviewer_grades", "tune_for_reading"]


@dataclass(frozen=True)
class ReviewerGrades:
    """The current grades, one per (answer, reviewer), as parallel numpy columns."""

    pos: np.ndarray
    """Position of the answer in the table."""
    reviewer: np.ndarray
    """Index into ``reviewers``."""
    reviewers: list[str]
    score: np.ndarray
    fmt: np.ndarray


@dataclass
class Table:
    """One entry per current generation, as parallel numpy columns."""

    rowid: np.ndarray
    contender: np.ndarray
    problem: np.ndarray
    difficulty: np.ndarray
    passed: np.ndarray
    base_passed: np.ndarray
    ttft: np.ndarray
    tps: np.ndarray
    tokens: np.ndarray
    seconds: np.ndarray
    score: np.ndarray
    fmt: np.ndarray
    contenders: list[ContenderInfo]
    problem_ids: list[str]
    problem_difficulty: list[str]
    problem_tags: list[tuple[str, ...]]
    difficulties: list[str]
    locate: _Locator
    """Generation rowid -> position in the table."""
    reviewer_grades: ReviewerGrades | None = None
    """Current grades one per (answer, reviewer); read when first needed."""
    adjudicated: int = 0
    """Answers of the table with an adjudication (final grade)."""


class _Locator:
    """Positions of generation rowids in the (ascending) rowids of the table (-1: absent)."""

    def __init__(self, rowids: np.ndarray) -> None:
        self.sorted = rowids

    def __call__(self, wanted: Sequence[int]) -> np.ndarray:
        if not len(wanted) or not len(self.sorted):
            return np.full(len(wanted), -1, dtype=np.int64)
        query = np.asarray(wanted, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.sorted, query), len(self.sorted) - 1)
        return np.where(self.sorted[at] == query, at, -1).astype(np.int64)


def _float_column(values: Sequence[Any]) -> np.ndarray:
    """Numbers as floats, SQL NULL (None) as NaN (numpy's own conversion of None)."""
    return np.array(values, dtype=float)


def load_table(conn: sqlite3.Connection, selection: Selection) -> Table:
    everyone, chosen = resolve_contenders(conn, selection.contenders)
    contender_ids = [c.id for c in chosen] if selection.contenders else None
    problem_rows = read_problem_rows(conn)
    problem_index = {pid: i for i, (pid, _, _) in enumerate(problem_rows)}
    difficulties = sorted(
        {d for _, d, _ in problem_rows},
        key=lambda d: (DIFFICULTY_ORDER.index(d) if d in DIFFICULTY_ORDER else 99, d),
    )
    difficulty_index = {d: i for i, d in enumerate(difficulties)}
    problem_difficulty = [d for _, d, _ in problem_rows]
    problem_tags: list[tuple[str, ...]] = []
    for _, _, tags in problem_rows:
        try:
            parsed = json.loads(tags or "[]")
        except ValueError:
            parsed = []
        problem_tags.append(tuple(str(t) for t in parsed) if isinstance(parsed, list) else ())
    contender_index = {c.id: i for i, c in enumerate(everyone)}

    rows = current_generation_rows(
        conn,
        suite=selection.suite,
        problem_ids=selection.problem_ids,
        contender_ids=contender_ids,
    )
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(7)]
    del rows
    generation_rowids = np.array(columns[0], dtype=np.int64)
    contender = np.array([contender_index.get(c, -1) for c in columns[1]], dtype=np.int64)
    problem = np.array([problem_index.get(p, -1) for p in columns[2]], dtype=np.int64)
    figures = [_float_column(columns[k]) for k in range(3, 7)]
    keep = (contender >= 0) & (problem >= 0)
    order = np.argsort(generation_rowids, kind="stable")
    order = order[keep[order]]
    generation_rowids, contender, problem = (
        generation_rowids[order],
        contender[order],
        problem[order],
    )
    figures = [column[order] for column in figures]
    n = len(generation_rowids)
    locate = _Locator(generation_rowids)
    rowid = np.arange(n, dtype=np.int64)
    difficulty_of_problem = np.array(
        [difficulty_index[d] for d in problem_difficulty], dtype=np.int64
    )
    difficulty = difficulty_of_problem[problem] if n else np.zeros(0, dtype=np.int64)

    passed = np.full(n, np.nan)
    base_passed = np.full(n, np.nan)
    executions = latest_execution_rows(conn)
    if executions:
        ex_gid, ex_passed, ex_base = zip(*executions, strict=True)
        at = locate(ex_gid)
        hit = at >= 0
        passed[at[hit]] = np.array(ex_passed, dtype=float)[hit]
        base = np.array(ex_base, dtype=float)  # None (no base verdict) becomes NaN
        has_base = hit & ~np.isnan(base)
        base_passed[at[has_base]] = base[has_base]

    if selection.tests == "contested":  # verdicts without the disputed tests
        from gradebench.engine.grading.test_disputes import contested_answers, disputed_tests

        disputes = disputed_tests(conn, selection.problem_ids)
        changed = contested_answers(conn, disputes)
        if changed:
            at = locate([c.generation_rowid for c in changed])
            hit = at >= 0
            verdicts = np.array([c.contested == "pass" for c in changed], dtype=float)
            passed[at[hit]] = verdicts[hit]

    n = len(rowid)
    if selection.combine in ("mean", "adjudicated"):
        # The mean of the reviewers' current grades, per answer, straight from SQL: one
        # row per graded answer instead of one per (answer, reviewer). The per-reviewer
        # grades (agreement) are read later, by ``read_reviewer_grades``.
        score, fmt = _mean_grades(conn, selection, locate, n)
        reviewer_grades = None
    else:
        reviewer_grades = read_reviewer_grades(conn, selection, locate)
        grade_pos, grade_fmt = reviewer_grades.pos, reviewer_grades.fmt
        score = _combine(grade_pos, reviewer_grades.score, n, selection.combine)
        fmt_known = ~np.isnan(grade_fmt)
        fmt_sum = np.bincount(grade_pos[fmt_known], weights=grade_fmt[fmt_known], minlength=n)
        fmt_count = np.bincount(grade_pos[fmt_known], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            fmt = np.where(fmt_count > 0, fmt_sum / np.maximum(fmt_count, 1), np.nan)
    adjudicated = 0
    final = adjudicated_rows(conn)
    if final:
        a_gid, a_score, a_fmt = zip(*final, strict=True)
        at = locate(a_gid)
        hit = at >= 0
        adjudicated = int(hit.sum())
        if selection.combine == "adjudicated":  # the final grade where there is one
            score[at[hit]] = np.array(a_score, dtype=float)[hit]
            fmt[at[hit]] = _float_column(a_fmt)[hit]

    return Table(
        rowid=rowid,
        contender=contender,
        problem=problem,
        difficulty=difficulty,
        passed=passed,
        base_passed=base_passed,
        ttft=figures[0],
        tps=figures[1],
        tokens=figures[2],
        seconds=figures[3],
        score=score,
        fmt=fmt,
        contenders=everyone,
        problem_ids=[p for p, _, _ in problem_rows],
        problem_difficulty=problem_difficulty,
        problem_tags=problem_tags,
        difficulties=difficulties,
        locate=locate,
        reviewer_grades=reviewer_grades,
        adjudicated=adjudicated,
    )


def _mean_grades(
    conn: sqlite3.Connection, selection: Selection, locate: _Locator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mean score, mean format flag) per table row, NaN where none: the ``mean`` rule
    and the format rate as ``_combine`` and the per-reviewer path compute them (SQL's
    avg ignores NULL format flags, like the NaN mask there)."""
    rows = mean_grade_rows(conn, selection.reviewers)
    score = np.full(n, np.nan)
    fmt = np.full(n, np.nan)
    if rows:
        gid, mean_score, mean_fmt = zip(*rows, strict=True)
        at = locate(gid)
        hit = at >= 0
        score[at[hit]] = np.array(mean_score, dtype=float)[hit]
        fmt[at[hit]] = _float_column(mean_fmt)[hit]
    return score, fmt


def read_reviewer_grades(
    conn: sqlite3.Connection, selection: Selection, locate: _Locator
) -> ReviewerGrades:
    """Current grades one per (answer, reviewer), answers outside the table dropped."""
    grades = current_grade_rows(conn, selection.reviewers)
    if grades:
        g_gid, g_reviewer, g_score, g_fmt = zip(*grades, strict=True)
    else:
        g_gid, g_reviewer, g_score, g_fmt = (), (), (), ()
    at = locate(g_gid)
    hit = at >= 0
    names = sorted(set(g_reviewer))
    reviewer_index = {name: i for i, name in enumerate(names)}
    grade_pos = at[hit]
    grade_reviewer = np.array([reviewer_index[r] for r in g_reviewer], dtype=np.int64)[hit]
    grade_score = np.array(g_score, dtype=float)[hit]
    grade_fmt = _float_column(g_fmt)[hit]
    reviewers = [names[i] for i in np.unique(grade_reviewer)] if len(grade_pos) else []
    if reviewers:
        _, grade_reviewer = np.unique(grade_reviewer, return_inverse=True)
    return ReviewerGrades(grade_pos, grade_reviewer, reviewers, grade_score, grade_fmt)


def _combine(pos: np.ndarray, scores: np.ndarray, n: int, rule: str) -> np.ndarray:
    """One score per generation from its reviewers' current grades (NaN: ungraded)."""
    combined = np.full(n, np.nan)
    if len(pos) == 0:
        return combined
    if rule == "mean":
        total = np.bincount(pos, weights=scores, minlength=n)
        count = np.bincount(pos, minlength=n)
        graded = count > 0
        combined[graded] = total[graded] / count[graded]
        return combined
    values, value_index = np.unique(scores, return_inverse=True)
    pair = pos * len(values) + value_index
    pairs, counts = np.unique(pair, return_counts=True)
    pair_pos = pairs // len(values)
    pair_value = pairs % len(values)
    # per generation: most votes first, then the lowest score among equals
    order = np.lexsort((pair_value, -counts, pair_pos))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_pos[order][1:] != pair_pos[order][:-1]
    winners = order[first]
    combined[pair_pos[winners]] = values[pair_value[winners]]
    return combined
