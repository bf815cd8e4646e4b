"""``gradebench diff RUN RUN``: two runs of one contender compared answer by answer.

A run (a ``runs`` row: a ``generate`` batch or a grading session) made answers; when a
later run regenerates a pair, the earlier answer is superseded but kept, with its own test
runs and grades. Two runs of one contender are paired by (problem, sample): each answer's
latest verdict and mean current human score. The first samples give the same figures as a
diff of two contenders (pass in one only, McNemar's exact test on those problems); every
paired sample counts for the answers whose verdict changed and the score changes.

``compare`` is what the command and the app's ``--diff`` call: it decides whether each
argument names a contender or a run (an id or a unique start of one), so both agree on
which problems differ. Every mistake is one ``UserError`` naming the argument.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.diff import (
    ContenderDiff,
    PairedFigures,
    ProblemPair,
    contender_diff,
    resolve_one_contender,
)
from gradebench.engine.reporting.model import ContenderInfo
from gradebench.engine.reporting.selection import resolve_contenders
from gradebench.engine.store.run_reads import (
    run_answer_rows,
    run_contender_ids,
    run_ids_starting,
    run_rows,
)


@dataclass(frozen=True)
class RunInfo:
    id: str
    kind: str
    suite: str | None
    started_at: str
    finished_at: str | None
    answers: int
    """Answers the run made (generations rows with its id, superseded ones included)."""
    contenders: tuple[str, ...]
    """Names of the contenders it made answers for."""


@dataclass(frozen=True)
class RunDiff(PairedFigures):
    a: RunInfo
    b: RunInfo
    contender: ContenderInfo
    pairs: tuple[ProblemPair, ...]
    """First samples both runs made, by problem."""
    answers: tuple[ProblemPair, ...]
    """Every (problem, sample) both runs made, by problem and sample."""

    def every_pair(self) -> tuple[ProblemPair, ...]:
        return self.answers

    @property
    def label_a(self) -> str:
        return self.a.id

    @property
    def label_b(self) -> str:
        return self.b.id


def list_runs(conn: sqlite3.Connection, run_ids: list[str] | None = None) -> list[RunInfo]:
    """Every run (or these), oldest first."""
    return [
        RunInfo(rid, kind, suite, started, finished, answers, tuple(filter(None, names.split(","))))
        for rid, kind, suite, started, finished, answers, names in run_rows(conn, run_ids)
    ]


def _run_named(conn: sqlite3.Connection, text: str) -> str | None:
    """The run whose id is ``text`` or starts with it; None when none; ambiguous: error."""
    found = run_ids_starting(conn, text)
    if len(found) > 1 and text.upper() not in found:
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise UserError(
            f"diff: {text!r} starts {len(found)} run ids ({shown}); give more of the id"
        )
    return (text.upper() if text.upper() in found else found[0]) if found else None


def _side(conn: sqlite3.Connection, text: str) -> ContenderInfo | str:
    """A contender, or a run id, from one argument of ``diff``."""
    if not text.strip():
        raise UserError("diff: an argument is empty; give a contender or a run id")
    contender = resolve_one_contender(conn, text)
    run = _run_named(conn, text)
    if contender is not None and run is not None:
        raise UserError(
            f"diff: {text!r} names contender {contender.label} and run {run};"
            " give more of the run id or the contender's id"
        )
    if contender is not None:
        return contender
    if run is not None:
        return run
    raise UserError(
        f"diff: unknown contender {text!r}, and no run id starts with it"
        " (contenders: gradebench models list; runs: gradebench diff --runs)"
    )


def compare(
    conn: sqlite3.Connection,
    first: str,
    second: str,
    *,
    contender: str | None = None,
    suite: str | None = None,
) -> ContenderDiff | RunDiff:
    """Two contenders, or two runs (of ``contender`` when they made several in common)."""
    a, b = _side(conn, first), _side(conn, second)
    if isinstance(a, str) != isinstance(b, str):
        raise UserError("diff: give two contenders or two runs, not one of each")
    if isinstance(a, ContenderInfo) and isinstance(b, ContenderInfo):
        if contender is not None:
            raise UserError("--contender: only for a diff of two runs")
        return contender_diff(conn, a, b, suite)
    assert isinstance(a, str) and isinstance(b, str)
    return diff_runs(conn, a, b, contender=contender, suite=suite)


def _shared_contender(
    conn: sqlite3.Connection, a: RunInfo, b: RunInfo, wanted: str | None
) -> ContenderInfo:
    for run in (a, b):
        if not run.answers:
            raise UserError(f"diff: run {run.id} ({run.kind}) made no answers")
    everyone, _ = resolve_contenders(conn, [])
    by_id = {c.id: c for c in everyone}
    shared = [
        by_id[cid] for cid in run_contender_ids(conn, a.id) if cid in run_contender_ids(conn, b.id)
    ]
    if wanted is not None:
        _, chosen = resolve_contenders(conn, [wanted])
        picked = [c for c in chosen if c in shared]
        if len(picked) != 1:
            names = ", ".join(c.label for c in shared) or "none"
            raise UserError(
                f"--contender: {wanted!r} is not a contender both runs answered for"
                f" (both answered for: {names})"
            )
        return picked[0]
    if not shared:
        raise UserError(f"diff: runs {a.id} and {b.id} share no contender")
    if len(shared) > 1:
        names = ", ".join(c.label for c in shared)
        raise UserError(
            f"diff: runs {a.id} and {b.id} both answered for {len(shared)} contenders"
            f" ({names}); choose one with --contender"
        )
    return shared[0]


def diff_runs(
    conn: sqlite3.Connection,
    first: str,
    second: str,
    *,
    contender: str | None = None,
    suite: str | None = None,
) -> RunDiff:
    """Compare the answers two runs (ids) made for one contender, pair by pair."""
    if first == second:
        raise UserError("diff: give two different runs")
    runs = {r.id: r for r in list_runs(conn, [first, second])}
    a, b = runs[first], runs[second]
    seat = _shared_contender(conn, a, b, contender)
    found: dict[tuple[str, int], dict[str, tuple[str | None, float | None]]] = {}
    for side in (a.id, b.id):
        for problem_id, sample, verdict, score in run_answer_rows(conn, side, seat.id, suite):
            found.setdefault((problem_id, sample), {})[side] = (verdict, score)
    answers = tuple(
        ProblemPair(
            problem_id,
            verdict_a=sides[a.id][0],
            verdict_b=sides[b.id][0],
            score_a=sides[a.id][1],
            score_b=sides[b.id][1],
            sample_index=sample,
        )
        for (problem_id, sample), sides in sorted(found.items())
        if len(sides) == 2
    )
    firsts = tuple(p for p in answers if p.sample_index == 0)
    return RunDiff(a, b, seat, pairs=firsts, answers=answers)
