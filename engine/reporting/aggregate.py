"""From ``grades.db`` to the numbers of a leaderboard: per-group rows, agreement, pairwise.

Three set-based queries do the reading (the current grades, latest executions and
current votes come from the tables the schema's triggers keep, ``grade_current``,
``execution_latest`` and ``vote_current``); numpy does the grouping, so the cost is a
few passes over arrays however many generations there are.

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
- The current vote is the latest per (problem, reviewer, pair of generations);
  ``tie`` and ``both_bad`` count as ties (both are listed apart in the tables).
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError
from gradebench.engine.reporting import stats

COMBINE_CHOICES = ("mean", "majority")
GROUP_KEYS = ("contender", "difficulty", "tag")
DIFFICULTY_ORDER = ("easy", "medium", "hard", "unrated")
DEFAULT_KS = (1, 10)


@dataclass(frozen=True)
class Selection:
    """What the user asked to see: filters and how reviewers are combined."""

    suite: str | None = None
    reviewers: tuple[str, ...] = ()
    contenders: tuple[str, ...] = ()
    """Contender names or ids, as typed; empty means all."""
    combine: str = "mean"
    seed: int = stats.DEFAULT_SEED


@dataclass(frozen=True)
class ContenderInfo:
    id: str
    name: str
    label: str
    """The name, or name#id-prefix when two contenders share a name."""
    model_sha256: str
    model_name: str
    prompt_style: str


@dataclass(frozen=True)
class PassAtK:
    k: int
    value: float | None
    problems: int
    """Problems with at least k executed samples (the ones the mean is over)."""


@dataclass(frozen=True)
class GroupRow:
    """The aggregate of one group (a contender, or contender x difficulty, x tag)."""

    contender_id: str | None
    contender: str | None
    difficulty: str | None
    tag: str | None
    problems: int
    generations: int
    graded: int
    mean_score: float | None
    ci_low: float | None
    ci_high: float | None
    correct: float | None
    partial: float | None
    incorrect: float | None
    format_rate: float | None
    executed: int
    pass_at: tuple[PassAtK, ...]
    base_pass_at_1: float | None
    plus_pass_at_1: float | None
    mean_ttft_seconds: float | None
    mean_tokens_per_second: float | None
    mean_tokens: float | None
    mean_seconds: float | None

    def pass_at_k(self, k: int) -> float | None:
        for item in self.pass_at:
            if item.k == k:
                return item.value
        return None


@dataclass(frozen=True)
class PairKappa:
    first: str
    second: str
    items: int
    kappa: float | None


@dataclass(frozen=True)
class Agreement:
    reviewers: tuple[str, ...]
    items: int
    """Generations graded by two or more of the reviewers."""
    cohen: tuple[PairKappa, ...]
    fleiss_kappa: float | None
    krippendorff_alpha: float | None
    auto_compared: int
    """Current grades whose generation has an execution."""
    auto_agree: int
    human_raised: int
    """Tests failed, the reviewer still gave more than 0."""
    human_lowered: int
    """Tests passed, the reviewer gave less than 1."""


@dataclass(frozen=True)
class PairRecord:
    first: str
    second: str
    first_wins: int
    second_wins: int
    ties: int
    both_bad: int


@dataclass(frozen=True)
class Standing:
    contender: str
    wins: int
    ties: int
    losses: int
    strength: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Pairwise:
    votes: int
    pairs: tuple[PairRecord, ...]
    standings: tuple[Standing, ...]
    """Strongest first when Bradley-Terry ran (three or more contenders), else by wins."""


@dataclass(frozen=True)
class Report:
    selection: Selection
    by: tuple[str, ...]
    ks: tuple[int, ...]
    rows: tuple[GroupRow, ...]
    contender_rows: tuple[GroupRow, ...]
    difficulty_rows: tuple[GroupRow, ...]
    agreement: Agreement
    pairwise: Pairwise
    contenders: tuple[ContenderInfo, ...] = field(default=())


@dataclass(frozen=True)
class ReportTables:
    """The first, cheap part of a ``Report``: its aggregate rows, before the slower
    agreement, per-difficulty rows and side-by-side figures. The same numbers as the
    full report's ``rows`` and ``contender_rows``."""

    selection: Selection
    by: tuple[str, ...]
    ks: tuple[int, ...]
    rows: tuple[GroupRow, ...]
    contender_rows: tuple[GroupRow, ...]


# --- selection -------------------------------------------------------------------


def parse_by(text: str | None) -> tuple[str, ...]:
    """``--by contender,difficulty`` -> ('contender', 'difficulty'); unknown keys are an error."""
    if not text:
        return ("contender",)
    keys = tuple(part.strip() for part in text.split(",") if part.strip())
    for key in keys:
        if key not in GROUP_KEYS:
            raise UserError(f"--by: unknown key {key!r} (choose from {', '.join(GROUP_KEYS)})")
    if len(set(keys)) != len(keys):
        raise UserError(f"--by: a key is repeated in {text!r}")
    return tuple(key for key in GROUP_KEYS if key in keys)


def _contenders(conn: sqlite3.Connection) -> list[ContenderInfo]:
    rows = conn.execute(
        """
        SELECT c.id, c.name, c.model_sha256, COALESCE(m.name, ''), c.prompt_style
        FROM contenders c LEFT JOIN models m ON m.sha256 = c.model_sha256
        ORDER BY c.name, c.id
        """
    ).fetchall()
    name_count: dict[str, int] = {}
    for row in rows:
        name_count[row[1]] = name_count.get(row[1], 0) + 1
    return [
        ContenderInfo(
            id=cid,
            name=name,
            label=name if name_count[name] == 1 else f"{name}#{cid[:6]}",
            model_sha256=sha,
            model_name=model,
            prompt_style=style,
        )
        for cid, name, sha, model, style in rows
    ]


def resolve_contenders(
    conn: sqlite3.Connection, wanted: Sequence[str]
) -> tuple[list[ContenderInfo], list[ContenderInfo]]:
    """(all contenders, the selected ones); an unknown name or id is a ``UserError``."""
    everyone = _contenders(conn)
    if not wanted:
        return everyone, everyone
    chosen: list[ContenderInfo] = []
    for text in wanted:
        matches = [c for c in everyone if text in (c.id, c.name, c.label)]
        if not matches:
            known = ", ".join(sorted({c.label for c in everyone})) or "none in the database"
            raise UserError(f"--contender: unknown contender {text!r} (known: {known})")
        chosen.extend(m for m in matches if m not in chosen)
    return everyone, chosen


def check_selection(conn: sqlite3.Connection, selection: Selection) -> None:
    """Unknown suite, reviewer or combine rule: one ``UserError`` naming the argument."""
    if selection.combine not in COMBINE_CHOICES:
        raise UserError(f"--combine: unknown rule {selection.combine!r} (choose mean or majority)")
    if selection.suite is not None:
        found = conn.execute(
            "SELECT 1 FROM problems WHERE suite = ? LIMIT 1", (selection.suite,)
        ).fetchone()
        if found is None:
            suites = [r[0] for r in conn.execute("SELECT DISTINCT suite FROM problems")]
            known = ", ".join(sorted(suites)) or "none in the database"
            raise UserError(f"--suite: no problems of suite {selection.suite!r} (known: {known})")
    for reviewer in selection.reviewers:
        found = conn.execute(
            "SELECT 1 FROM grade_events WHERE reviewer = ? LIMIT 1", (reviewer,)
        ).fetchone()
        if found is None:
            known = ", ".join(
                r[0] for r in conn.execute("SELECT DISTINCT reviewer FROM grade_events ORDER BY 1")
            )
            raise UserError(
                f"--reviewer: no grades by {reviewer!r} (known: {known or 'no grades yet'})"
            )


# --- loading ---------------------------------------------------------------------


@dataclass(frozen=True)
class _ReviewerGrades:
    """The current grades, one per (answer, reviewer), as parallel numpy columns."""

    pos: np.ndarray
    """Position of the answer in the table."""
    reviewer: np.ndarray
    """Index into ``reviewers``."""
    reviewers: list[str]
    score: np.ndarray
    fmt: np.ndarray


@dataclass
class _Table:
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
    reviewer_grades: _ReviewerGrades | None = None
    """Current grades one per (answer, reviewer); read when first needed."""


def tune_for_reading(conn: sqlite3.Connection) -> None:
    """Connection settings for reading a large database in a few big passes: the file
    mapped into memory (no copy per page read) and temporary tables kept in memory.
    They change no result, only this connection's speed (about a tenth here)."""
    conn.execute("PRAGMA mmap_size = 1073741824")
    conn.execute("PRAGMA temp_store = MEMORY")


def _filters(selection: Selection, contender_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if selection.suite is not None:
        clauses.append("p.suite = ?")
        params.append(selection.suite)
    if contender_ids is not None:
        clauses.append(f"g.contender_id IN ({','.join('?' * len(contender_ids))})")
        params.extend(contender_ids)
    return "".join(f" AND {c}" for c in clauses), params


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


def _load(conn: sqlite3.Connection, selection: Selection) -> _Table:
    everyone, chosen = resolve_contenders(conn, selection.contenders)
    contender_ids = [c.id for c in chosen] if selection.contenders else None
    where, params = _filters(selection, contender_ids)

    problem_rows = conn.execute("SELECT id, difficulty, tags FROM problems ORDER BY id").fetchall()
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

    # The problems join only when a suite is asked for (foreign keys keep every answer's
    # problem and contender present; rows naming neither are dropped below all the same).
    # No ORDER BY: the covering index of migration m006 is read in its own order and the
    # rows are put in rowid order here.
    join = " JOIN problems p ON p.id = g.problem_id" if selection.suite is not None else ""
    rows = conn.execute(
        f"""
        SELECT g.rowid, g.contender_id, g.problem_id,
               g.ttft_seconds, g.tokens_per_second, g.tokens,
               g.total_seconds
        FROM generations g{join}
        WHERE g.superseded_at IS NULL{where}
        """,
        params,
    ).fetchall()
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
    executions = conn.execute(LATEST_EXECUTIONS_SQL).fetchall()
    if executions:
        ex_gid, ex_passed, ex_base = zip(*executions, strict=True)
        at = locate(ex_gid)
        hit = at >= 0
        passed[at[hit]] = np.array(ex_passed, dtype=float)[hit]
        base = np.array(ex_base, dtype=float)  # None (no base verdict) becomes NaN
        has_base = hit & ~np.isnan(base)
        base_passed[at[has_base]] = base[has_base]

    n = len(rowid)
    if selection.combine == "mean":
        # The mean of the reviewers' current grades, per answer, straight from SQL: one
        # row per graded answer instead of one per (answer, reviewer). The per-reviewer
        # grades (agreement) are read later, by ``_read_reviewer_grades``.
        score, fmt = _mean_grades(conn, selection, locate, n)
        reviewer_grades = None
    else:
        reviewer_grades = _reviewer_grades(conn, selection, locate)
        grade_pos, grade_fmt = reviewer_grades.pos, reviewer_grades.fmt
        score = _combine(grade_pos, reviewer_grades.score, n, selection.combine)
        fmt_known = ~np.isnan(grade_fmt)
        fmt_sum = np.bincount(grade_pos[fmt_known], weights=grade_fmt[fmt_known], minlength=n)
        fmt_count = np.bincount(grade_pos[fmt_known], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            fmt = np.where(fmt_count > 0, fmt_sum / np.maximum(fmt_count, 1), np.nan)

    return _Table(
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
    )


# The current grade per (generation, reviewer) and the latest execution per generation
# are kept in their own tables by triggers (schema m004), so reading them is a plain
# scan. Generations are named by their rowid (an integer: cheap to hand to Python and
# to look up in numpy); rowids are only compared within one read.
CURRENT_GRADES_SQL = """
    SELECT g.rowid, x.reviewer, x.score, x.format_ok
    FROM grade_current x JOIN generations g ON g.id = x.generation_id
    {reviewer_filter}
"""

LATEST_EXECUTIONS_SQL = """
    SELECT g.rowid, x.verdict = 'pass',
           CASE WHEN x.base_verdict IS NULL THEN NULL ELSE x.base_verdict = 'pass' END
    FROM execution_latest x JOIN generations g ON g.id = x.generation_id
"""


def _reviewers_where(selection: Selection, column: str) -> str:
    """``WHERE column IN (?, ...)`` for ``--reviewer`` (its params: ``selection.reviewers``),
    or nothing when every reviewer counts."""
    if not selection.reviewers:
        return ""
    return f"WHERE {column} IN ({','.join('?' * len(selection.reviewers))})"


def _current_grades(conn: sqlite3.Connection, selection: Selection) -> list[tuple[Any, ...]]:
    """(generation rowid, reviewer, score, format_ok) of each current grade."""
    sql = CURRENT_GRADES_SQL.format(reviewer_filter=_reviewers_where(selection, "x.reviewer"))
    return conn.execute(sql, list(selection.reviewers)).fetchall()


MEAN_GRADES_SQL = """
    SELECT g.rowid, x.score, x.format_ok FROM (
        SELECT generation_id, avg(score) AS score, avg(format_ok) AS format_ok
        FROM grade_current {reviewer_filter}
        GROUP BY generation_id
    ) x JOIN generations g ON g.id = x.generation_id
"""


def _mean_grades(
    conn: sqlite3.Connection, selection: Selection, locate: _Locator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(mean score, mean format flag) per table row, NaN where none: the ``mean`` rule
    and the format rate as ``_combine`` and the per-reviewer path compute them (SQL's
    avg ignores NULL format flags, like the NaN mask there)."""
    sql = MEAN_GRADES_SQL.format(reviewer_filter=_reviewers_where(selection, "reviewer"))
    rows = conn.execute(sql, list(selection.reviewers)).fetchall()
    score = np.full(n, np.nan)
    fmt = np.full(n, np.nan)
    if rows:
        gid, mean_score, mean_fmt = zip(*rows, strict=True)
        at = locate(gid)
        hit = at >= 0
        score[at[hit]] = np.array(mean_score, dtype=float)[hit]
        fmt[at[hit]] = _float_column(mean_fmt)[hit]
    return score, fmt


def _reviewer_grades(
    conn: sqlite3.Connection, selection: Selection, locate: _Locator
) -> _ReviewerGrades:
    """Current grades one per (answer, reviewer), answers outside the table dropped."""
    grades = _current_grades(conn, selection)
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
    return _ReviewerGrades(grade_pos, grade_reviewer, reviewers, grade_score, grade_fmt)


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


# --- grouping ---------------------------------------------------------------------


def _nanmean(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if known.size else None


def _per_problem_rate(problem: np.ndarray, passed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, inverse = np.unique(problem, return_inverse=True)
    n = np.bincount(inverse)
    c = np.bincount(inverse, weights=passed).astype(np.int64)
    return n, c


def _group_row(
    table: _Table,
    rows: np.ndarray,
    ks: Sequence[int],
    seed: int,
    contender: int | None,
    difficulty: int | None,
    tag: str | None,
) -> GroupRow:
    score = table.score[rows]
    graded_scores = score[~np.isnan(score)]
    ci = stats.bootstrap_mean_ci(graded_scores, seed=seed)
    graded = int(graded_scores.size)
    if graded:
        correct = float((graded_scores >= 1 - stats.SCORE_EPS).sum() / graded)
        incorrect = float((graded_scores <= stats.SCORE_EPS).sum() / graded)
        partial = 1.0 - correct - incorrect
    else:
        correct = partial = incorrect = None

    passed = table.passed[rows]
    executed = ~np.isnan(passed)
    ns, cs = _per_problem_rate(table.problem[rows][executed], passed[executed])
    pass_at = []
    for k in ks:
        value, problems = stats.mean_pass_at_k(ns, cs, k)
        pass_at.append(PassAtK(k, value, problems))

    base = table.base_passed[rows]
    has_base = ~np.isnan(base)
    base_pass = plus_pass = None
    if has_base.any():
        plus_mask = has_base & executed
        bn, bc = _per_problem_rate(table.problem[rows][has_base], base[has_base])
        pn, pc = _per_problem_rate(table.problem[rows][plus_mask], passed[plus_mask])
        base_pass = float((bc / bn).mean())
        plus_pass = float((pc / pn).mean()) if pn.size else None

    info = table.contenders[contender] if contender is not None else None
    return GroupRow(
        contender_id=info.id if info else None,
        contender=info.label if info else None,
        difficulty=table.difficulties[difficulty] if difficulty is not None else None,
        tag=tag,
        problems=int(np.unique(table.problem[rows]).size),
        generations=len(rows),
        graded=graded,
        mean_score=ci.mean if ci else None,
        ci_low=ci.low if ci else None,
        ci_high=ci.high if ci else None,
        correct=correct,
        partial=partial,
        incorrect=incorrect,
        format_rate=_nanmean(table.fmt[rows]),
        executed=int(executed.sum()),
        pass_at=tuple(pass_at),
        base_pass_at_1=base_pass,
        plus_pass_at_1=plus_pass,
        mean_ttft_seconds=_nanmean(table.ttft[rows]),
        mean_tokens_per_second=_nanmean(table.tps[rows]),
        mean_tokens=_nanmean(table.tokens[rows]),
        mean_seconds=_nanmean(table.seconds[rows]),
    )


def _contender_rank(table: _Table) -> np.ndarray:
    """Sort position of each contender: best mean score first, ungraded last, then by name."""
    means = []
    for i, info in enumerate(table.contenders):
        mine = table.score[table.contender == i]
        mean = _nanmean(mine) if mine.size else None
        means.append((mean is None, -(mean or 0.0), info.label, i))
    order = sorted(means)
    rank = np.zeros(max(len(order), 1), dtype=np.int64)
    for position, (_, _, _, i) in enumerate(order):
        rank[i] = position
    return rank


def group_rows(
    table: _Table, by: Sequence[str], ks: Sequence[int], seed: int
) -> tuple[GroupRow, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _group_rows(table, by, ks, seed)


def _group_rows(
    table: _Table, by: Sequence[str], ks: Sequence[int], seed: int
) -> tuple[GroupRow, ...]:
    n = len(table.rowid)
    rows = np.arange(n)
    tag_of_row = np.zeros(n, dtype=np.int64)
    tag_names: list[str] = []
    if "tag" in by:
        tag_names = sorted({t for tags in table.problem_tags for t in tags})
        has_tag = np.zeros((len(table.problem_ids), max(len(tag_names), 1)), dtype=bool)
        tag_index = {t: i for i, t in enumerate(tag_names)}
        for p, tags in enumerate(table.problem_tags):
            for t in tags:
                has_tag[p, tag_index[t]] = True
        rows, tag_of_row = np.nonzero(has_tag[table.problem]) if n else (rows, tag_of_row)
    rank = _contender_rank(table)
    keys: list[np.ndarray] = []
    if "contender" in by:
        keys.append(rank[table.contender[rows]])
    if "difficulty" in by:
        keys.append(table.difficulty[rows])
    if "tag" in by:
        keys.append(tag_of_row)
    if not keys:
        keys.append(np.zeros(len(rows), dtype=np.int64))
    order = np.lexsort(tuple(reversed(keys)))
    stacked = np.stack([k[order] for k in keys]) if len(order) else np.zeros((len(keys), 0))
    if len(order):
        change = np.any(stacked[:, 1:] != stacked[:, :-1], axis=0)
        starts = np.concatenate([[0], np.nonzero(change)[0] + 1])
    else:
        starts = np.zeros(0, dtype=np.int64)
    ends = np.concatenate([starts[1:], [len(order)]]) if len(starts) else starts
    rank_to_contender = np.argsort(rank[: len(table.contenders)]) if table.contenders else rank
    result: list[GroupRow] = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        members = rows[order[start:end]]
        first = order[start]
        column = 0
        contender = difficulty = None
        tag = None
        if "contender" in by:
            contender = int(rank_to_contender[keys[column][first]])
            column += 1
        if "difficulty" in by:
            difficulty = int(keys[column][first])
            column += 1
        if "tag" in by:
            tag = tag_names[int(keys[column][first])]
        result.append(_group_row(table, members, ks, seed, contender, difficulty, tag))
    return tuple(result)


# --- agreement ----------------------------------------------------------------------


def _agreement(table: _Table) -> Agreement:
    grades = table.reviewer_grades
    assert grades is not None, "read them with _read_reviewer_grades first"
    reviewers = tuple(grades.reviewers)
    pos, who, score = grades.pos, grades.reviewer, grades.score
    n = len(table.rowid)
    per_item = np.bincount(pos, minlength=n) if n else np.zeros(0, dtype=np.int64)
    multi = per_item >= 2
    cohen: list[PairKappa] = []
    by_reviewer = np.full((len(reviewers), n), np.nan)
    by_reviewer[who, pos] = score
    for a in range(len(reviewers)):
        for b in range(a + 1, len(reviewers)):
            both = ~np.isnan(by_reviewer[a]) & ~np.isnan(by_reviewer[b])
            if both.any():
                kappa = stats.cohen_kappa(by_reviewer[a][both], by_reviewer[b][both])
                cohen.append(PairKappa(reviewers[a], reviewers[b], int(both.sum()), kappa))
    fleiss = alpha = None
    if multi.any():
        in_multi = multi[pos]
        values, value_index = np.unique(score[in_multi], return_inverse=True)
        items, item_index = np.unique(pos[in_multi], return_inverse=True)
        counts = np.zeros((len(items), len(values)))
        np.add.at(counts, (item_index, value_index), 1.0)
        fleiss = stats.fleiss_kappa(counts)
        alpha = stats.krippendorff_alpha_ordinal(counts, values.tolist())
    auto = table.passed[pos] if len(pos) else np.zeros(0)
    has_auto = ~np.isnan(auto)
    auto_pass = auto[has_auto] == 1.0
    human = score[has_auto]
    human_correct = human >= 1 - stats.SCORE_EPS
    human_zero = human <= stats.SCORE_EPS
    agree = int((auto_pass & human_correct).sum() + (~auto_pass & human_zero).sum())
    return Agreement(
        reviewers=reviewers,
        items=int(multi.sum()),
        cohen=tuple(cohen),
        fleiss_kappa=fleiss,
        krippendorff_alpha=alpha,
        auto_compared=int(has_auto.sum()),
        auto_agree=agree,
        human_raised=int((~auto_pass & ~human_zero).sum()),
        human_lowered=int((auto_pass & ~human_correct).sum()),
    )


# --- pairwise ----------------------------------------------------------------------

CURRENT_VOTES_SQL = """
    SELECT ga.contender_id, gb.contender_id, v.outcome
    FROM vote_current v
    JOIN generations ga ON ga.id = v.generation_a
    JOIN generations gb ON gb.id = v.generation_b
    JOIN problems p ON p.id = ga.problem_id
    WHERE ga.superseded_at IS NULL AND gb.superseded_at IS NULL
      AND ga.contender_id != gb.contender_id{where}
"""
"""Each reviewer's current vote per pair (``vote_current``, kept by the schema's
trigger: the latest vote, whichever pane each answer was in) between two current
answers of different contenders."""


def _pairwise(
    conn: sqlite3.Connection, selection: Selection, table: _Table, resamples: int
) -> Pairwise:
    where = ""
    params: list[Any] = []
    if selection.reviewers:
        where += f" AND v.reviewer IN ({','.join('?' * len(selection.reviewers))})"
        params.extend(selection.reviewers)
    if selection.suite is not None:
        where += " AND p.suite = ?"
        params.append(selection.suite)
    if selection.contenders:
        _, chosen = resolve_contenders(conn, selection.contenders)
        marks = ",".join("?" * len(chosen))
        where += f" AND ga.contender_id IN ({marks}) AND gb.contender_id IN ({marks})"
        params.extend([c.id for c in chosen] * 2)
    sql = CURRENT_VOTES_SQL.format(where=where)
    votes = conn.execute(sql, params).fetchall()
    index = {c.id: i for i, c in enumerate(table.contenders)}
    m = len(table.contenders)
    wins = np.zeros((m, m), dtype=np.int64)
    ties = np.zeros((m, m), dtype=np.int64)
    both_bad = np.zeros((m, m), dtype=np.int64)
    pairs: list[tuple[int, int]] = []
    outcomes: list[float] = []
    for a_id, b_id, outcome in votes:
        a, b = index[a_id], index[b_id]
        if outcome == "a":
            wins[a, b] += 1
            outcomes.append(1.0)
        elif outcome == "b":
            wins[b, a] += 1
            outcomes.append(0.0)
        else:
            target = both_bad if outcome == "both_bad" else ties
            target[a, b] += 1
            target[b, a] += 1
            outcomes.append(0.5)
        pairs.append((a, b))
    played = sorted({i for pair in pairs for i in pair}, key=lambda i: table.contenders[i].label)
    records = []
    for x, i in enumerate(played):
        for j in played[x + 1 :]:
            if wins[i, j] + wins[j, i] + ties[i, j] + both_bad[i, j] == 0:
                continue
            records.append(
                PairRecord(
                    first=table.contenders[i].label,
                    second=table.contenders[j].label,
                    first_wins=int(wins[i, j]),
                    second_wins=int(wins[j, i]),
                    ties=int(ties[i, j]),
                    both_bad=int(both_bad[i, j]),
                )
            )
    strengths: dict[int, stats.Rating] = {}
    if len(played) >= 3:
        local = {i: x for x, i in enumerate(played)}
        local_pairs = np.array([(local[a], local[b]) for a, b in pairs], dtype=np.int64)
        ratings = stats.bradley_terry_with_ci(
            local_pairs,
            np.array(outcomes),
            len(played),
            resamples=resamples,
            seed=selection.seed,
        )
        strengths = {played[r.index]: r for r in ratings}
    standings = []
    for i in played:
        rating = strengths.get(i)
        standings.append(
            Standing(
                contender=table.contenders[i].label,
                wins=int(wins[i].sum()),
                ties=int(ties[i].sum() + both_bad[i].sum()),
                losses=int(wins[:, i].sum()),
                strength=rating.strength if rating else None,
                low=rating.low if rating else None,
                high=rating.high if rating else None,
            )
        )
    standings.sort(
        key=lambda s: (-(s.strength or 0.0), -(s.wins + 0.5 * s.ties), s.losses, s.contender)
    )
    return Pairwise(votes=len(votes), pairs=tuple(records), standings=tuple(standings))


# --- the report --------------------------------------------------------------------------


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
        table = _load(conn, selection)
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
            table.reviewer_grades = _reviewer_grades(conn, selection, table.locate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agreement = _agreement(table)
    pairwise = _pairwise(conn, selection, table, bt_resamples)
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
    )


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


def grade_change_marker(conn: sqlite3.Connection) -> tuple[int, ...]:
    """Cheap fingerprint of what a report reads: changes whenever a grade, vote,
    answer or test run is added (each is an append; a regenerated answer is a new row)
    and whenever an answer ends (``finished_at`` is set in place when a streaming answer
    turns done, max_tokens, cancelled or error, and its figures with it).

    The text and token count a streaming answer flushes every second do not change it:
    the leaderboard recomputes when an answer ends, not at every flush.
    """
    appended = tuple(
        int(conn.execute(f"SELECT COALESCE(max(rowid), 0) FROM {table}").fetchone()[0])
        for table in ("grade_events", "votes", "generations", "executions")
    )
    ended = conn.execute("SELECT count(*) FROM generations WHERE finished_at IS NOT NULL")
    return (*appended, int(ended.fetchone()[0]))


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
