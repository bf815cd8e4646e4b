"""A study's tables and comparisons (``gradebench study report``), from ``grades.db``.

Per contender x suite x difficulty (and each contender's whole suite): automatic pass@1
and pass@k where every problem has k samples (at the contender's temperature), the human
mean score with a 95% interval, the shares correct / partial / incorrect, the reviewers'
format adherence, and the resources: time to first token, tokens/s, seconds per answer,
CPU seconds per answer and the peak resident memory. Intervals resample problems (each
with all its samples, ``paired_stats.cluster_bootstrap_mean_ci``), so several samples of
one problem do not pass for independent evidence.

Then the comparisons the study is about, paired on the same problems: each model's
prompt styles against each other (same temperature), and models against each other
(same prompt style and temperature), per suite and over all suites: McNemar's exact test
on the first sample's pass/fail and a paired bootstrap interval on the mean human score
difference, each with the number of problems it rests on. A temperature sweep adds the
best temperature for each k.

The caller (``workflows.study``) says which contenders and problems make the study; this
module only reads and computes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradebench.engine.reporting import stats
from gradebench.engine.reporting.loading import Table, load_table, tune_for_reading
from gradebench.engine.reporting.model import PassAtK, Selection
from gradebench.engine.reporting.paired_stats import (
    ClusteredMean,
    PairedDifference,
    cluster_bootstrap_mean_ci,
    paired_bootstrap_difference,
    per_problem_means,
)
from gradebench.engine.reporting.study_footer import Footer, study_footer
from gradebench.engine.store.studies import resource_rows

ALL = "all"


@dataclass(frozen=True)
class StudyContenderInfo:
    name: str
    id: str
    base: str
    """The name before a temperature sweep's ``@tT``."""
    model: str
    prompt_style: str
    temperature: float


@dataclass(frozen=True)
class StudySuiteInfo:
    name: str
    problem_ids: tuple[str, ...]
    by_hand: bool


@dataclass(frozen=True)
class StudyRow:
    suite: str
    contender: str
    temperature: float
    difficulty: str
    problems: int
    answers: int
    tested: int
    pass_at: tuple[PassAtK, ...]
    pass_ci: ClusteredMean | None
    graded: int
    score: ClusteredMean | None
    correct: float | None
    partial: float | None
    incorrect: float | None
    format_rate: float | None
    ttft_seconds: float | None
    tokens_per_second: float | None
    seconds_per_answer: float | None
    cpu_seconds: float | None
    peak_rss_bytes: int | None

    def pass_at_k(self, k: int) -> float | None:
        return next((p.value for p in self.pass_at if p.k == k), None)


@dataclass(frozen=True)
class Comparison:
    suite: str
    kind: str
    """``prompt`` (one model's prompt styles) or ``model`` (models, one prompt style)."""
    a: str
    b: str
    tested: int
    """Problems whose first sample was tested for both."""
    only_a: int
    only_b: int
    both: int
    neither: int
    mcnemar_p: float | None
    difference: PairedDifference | None
    """A's mean human score minus B's over problems graded for both."""


@dataclass(frozen=True)
class BestTemperature:
    suite: str
    contender: str
    k: int
    temperature: float
    value: float


@dataclass(frozen=True)
class StudyReport:
    name: str
    description: str
    sha256: str
    ks: tuple[int, ...]
    suites: tuple[StudySuiteInfo, ...]
    contenders: tuple[StudyContenderInfo, ...]
    rows: tuple[StudyRow, ...]
    comparisons: tuple[Comparison, ...]
    best_temperatures: tuple[BestTemperature, ...]
    footer: Footer


@dataclass
class _Frame:
    """One suite's answers with the extra columns a study needs."""

    suite: StudySuiteInfo
    table: Table
    sample: np.ndarray
    cpu: np.ndarray
    peak: np.ndarray
    contender_of_position: dict[int, str]
    """Table contender index -> study contender name."""


def _mean(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if known.size else None


@dataclass(frozen=True)
class _Resources:
    """Sample index, CPU seconds and peak memory of every current answer of the study's
    contenders, by generation rowid (read once, shared by every suite's frame)."""

    rowids: np.ndarray
    samples: np.ndarray
    cpus: np.ndarray
    peaks: np.ndarray

    @classmethod
    def read(cls, conn, contender_ids: Sequence[str]) -> _Resources:
        rows = resource_rows(conn, contender_ids)
        rowids, samples, cpus, peaks = zip(*rows, strict=True) if rows else ((), (), (), ())
        return cls(
            np.array(rowids, dtype=np.int64),
            np.array(samples, dtype=np.int64),
            np.array(cpus, dtype=float),
            np.array(peaks, dtype=float),
        )


def _frame(
    conn,
    suite: StudySuiteInfo,
    contenders: Sequence[StudyContenderInfo],
    seed: int,
    resources: _Resources,
) -> _Frame:
    ids = tuple(c.id for c in contenders)
    table = load_table(
        # by the problems' ids alone: the suite's name is only a label here
        conn,
        Selection(contenders=ids, problem_ids=suite.problem_ids, seed=seed),
    )
    n = len(table.rowid)
    sample = np.zeros(n, dtype=np.int64)
    cpu = np.full(n, np.nan)
    peak = np.full(n, np.nan)
    at = table.locate(resources.rowids)
    hit = at >= 0
    sample[at[hit]] = resources.samples[hit]
    cpu[at[hit]] = resources.cpus[hit]
    peak[at[hit]] = resources.peaks[hit]
    by_id = {c.id: c.name for c in contenders}
    names = {i: by_id[c.id] for i, c in enumerate(table.contenders) if c.id in by_id}
    return _Frame(suite, table, sample, cpu, peak, names)


def _row(
    frame: _Frame, rows: np.ndarray, info: StudyContenderInfo, difficulty: str, ks, seed: int
) -> StudyRow:
    table = frame.table
    problem = table.problem[rows]
    passed = table.passed[rows]
    executed = ~np.isnan(passed)
    _, inverse = np.unique(problem[executed], return_inverse=True)
    ns = np.bincount(inverse)
    cs = np.bincount(inverse, weights=passed[executed]).astype(np.int64)
    pass_at = tuple(PassAtK(k, *stats.mean_pass_at_k(ns, cs, k)) for k in ks)
    score = table.score[rows] if frame.suite.by_hand else np.full(len(rows), np.nan)
    graded = score[~np.isnan(score)]
    if graded.size:
        correct = float((graded >= 1 - stats.SCORE_EPS).mean())
        incorrect = float((graded <= stats.SCORE_EPS).mean())
        partial = 1.0 - correct - incorrect
    else:
        correct = partial = incorrect = None
    peak = frame.peak[rows]
    known_peak = peak[~np.isnan(peak)]
    return StudyRow(
        suite=frame.suite.name,
        contender=info.name,
        temperature=info.temperature,
        difficulty=difficulty,
        problems=len(np.unique(problem)),
        answers=len(rows),
        tested=int(executed.sum()),
        pass_at=pass_at,
        pass_ci=cluster_bootstrap_mean_ci(passed, problem, seed=seed),
        graded=int(graded.size),
        score=cluster_bootstrap_mean_ci(score, problem, seed=seed),
        correct=correct,
        partial=partial,
        incorrect=incorrect,
        format_rate=_mean(table.fmt[rows]) if frame.suite.by_hand else None,
        ttft_seconds=_mean(table.ttft[rows]),
        tokens_per_second=_mean(table.tps[rows]),
        seconds_per_answer=_mean(table.seconds[rows]),
        cpu_seconds=_mean(frame.cpu[rows]),
        peak_rss_bytes=int(known_peak.max()) if known_peak.size else None,
    )


def _rows(frame: _Frame, infos: Sequence[StudyContenderInfo], ks, seed: int) -> list[StudyRow]:
    table = frame.table
    out: list[StudyRow] = []
    for info in infos:
        index = next(
            (i for i, name in frame.contender_of_position.items() if name == info.name), None
        )
        if index is None:
            continue
        mine = np.flatnonzero(table.contender == index)
        if not mine.size:
            continue
        out.append(_row(frame, mine, info, ALL, ks, seed))
        if len(np.unique(table.difficulty[mine])) < 2:
            continue  # one difficulty: its row would repeat the whole suite's
        for d_index, difficulty in enumerate(table.difficulties):
            rows = mine[table.difficulty[mine] == d_index]
            if rows.size:
                out.append(_row(frame, rows, info, difficulty, ks, seed))
    return out


def comparison_pairs(
    contenders: Sequence[StudyContenderInfo],
) -> list[tuple[str, StudyContenderInfo, StudyContenderInfo]]:
    """(kind, A, B): each model's prompt styles against each other at one temperature,
    then models against each other at one prompt style and temperature; study order."""
    pairs = []
    for i, a in enumerate(contenders):
        for b in contenders[i + 1 :]:
            if a.temperature != b.temperature:
                continue
            if a.model == b.model and a.prompt_style != b.prompt_style:
                pairs.append(("prompt", a, b))
            elif a.model != b.model and a.prompt_style == b.prompt_style:
                pairs.append(("model", a, b))
    return sorted(pairs, key=lambda p: p[0] != "prompt")


def _side(frames: Sequence[_Frame], name: str) -> tuple[dict, dict]:
    """Problem key -> first-sample pass (0/1), and -> mean human score over samples."""
    first: dict[tuple[str, int], float] = {}
    scores: dict[tuple[str, int], float] = {}
    for frame in frames:
        index = next((i for i, n in frame.contender_of_position.items() if n == name), None)
        if index is None:
            continue
        rows = np.flatnonzero(frame.table.contender == index)
        problem = frame.table.problem[rows]
        passed = frame.table.passed[rows]
        tested = (frame.sample[rows] == 0) & ~np.isnan(passed)
        suite = frame.suite.name
        first.update(  # in row order, so a later row of a problem wins, as before
            zip(
                ((suite, p) for p in problem[tested].tolist()),
                passed[tested].tolist(),
                strict=True,
            )
        )
        if frame.suite.by_hand:
            for p, mean in per_problem_means(frame.table.score[rows], problem).items():
                scores[frame.suite.name, p] = mean
    return first, scores


def _compare(
    suite: str,
    sides: dict[str, tuple[dict, dict]],
    kind: str,
    a: StudyContenderInfo,
    b: StudyContenderInfo,
    seed: int,
) -> Comparison:
    """``sides``: contender name -> its ``_side`` over the frames compared."""
    pass_a, score_a = sides[a.name]
    pass_b, score_b = sides[b.name]
    shared = sorted(set(pass_a) & set(pass_b))
    only_a = sum(1 for p in shared if pass_a[p] == 1 and pass_b[p] == 0)
    only_b = sum(1 for p in shared if pass_b[p] == 1 and pass_a[p] == 0)
    both = sum(1 for p in shared if pass_a[p] == pass_b[p] == 1)
    keys = sorted(set(score_a) | set(score_b))
    number = {key: i for i, key in enumerate(keys)}
    difference = paired_bootstrap_difference(
        {number[k]: v for k, v in score_a.items()},
        {number[k]: v for k, v in score_b.items()},
        seed=seed,
    )
    return Comparison(
        suite=suite,
        kind=kind,
        a=a.name,
        b=b.name,
        tested=len(shared),
        only_a=only_a,
        only_b=only_b,
        both=both,
        neither=len(shared) - only_a - only_b - both,
        mcnemar_p=stats.mcnemar_exact(only_a, only_b),
        difference=difference,
    )


def _best_temperatures(
    rows: Sequence[StudyRow], contenders: Sequence[StudyContenderInfo], ks
) -> list[BestTemperature]:
    base_of = {c.name: c.base for c in contenders}
    best: dict[tuple[str, str, int], BestTemperature] = {}
    for row in rows:
        if row.difficulty != ALL:
            continue
        for item in row.pass_at:
            if item.value is None:
                continue
            key = (row.suite, base_of[row.contender], item.k)
            if key not in best or item.value > best[key].value:
                best[key] = BestTemperature(*key, row.temperature, item.value)
    return sorted(best.values(), key=lambda b: (b.suite, b.contender, b.k))


def build_study_report(
    conn,
    *,
    name: str,
    description: str,
    sha256: str,
    suites: Sequence[StudySuiteInfo],
    contenders: Sequence[StudyContenderInfo],
    ks: Sequence[int],
    seed: int,
    swept: bool,
) -> StudyReport:
    """The study's tables, comparisons and footer."""
    tune_for_reading(conn)
    ks = tuple(ks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        resources = _Resources.read(conn, [c.id for c in contenders])
        frames = [_frame(conn, suite, contenders, seed, resources) for suite in suites]
        rows: list[StudyRow] = []
        for frame in frames:
            rows.extend(_rows(frame, contenders, ks, seed))
        comparisons: list[Comparison] = []
        pairs = comparison_pairs(contenders)
        compared = list(dict.fromkeys(c.name for _, a, b in pairs for c in (a, b)))
        for frame in frames:
            sides = {name: _side([frame], name) for name in compared}
            comparisons.extend(
                _compare(frame.suite.name, sides, kind, a, b, seed) for kind, a, b in pairs
            )
        if len(frames) > 1:
            sides = {name: _side(frames, name) for name in compared}
            comparisons.extend(_compare(ALL, sides, kind, a, b, seed) for kind, a, b in pairs)
    return StudyReport(
        name=name,
        description=description,
        sha256=sha256,
        ks=ks,
        suites=tuple(suites),
        contenders=tuple(contenders),
        rows=tuple(rows),
        comparisons=tuple(comparisons),
        best_temperatures=tuple(_best_temperatures(rows, contenders, ks)) if swept else (),
        footer=study_footer(
            conn,
            sha256,
            [(s.name, s.problem_ids) for s in suites],
            [c.id for c in contenders],
            seed,
        ),
    )
