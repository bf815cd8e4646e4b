"""Grouping a loaded ``Table`` into ``GroupRow``s: per contender, difficulty or tag.

Each row carries the mean score with its bootstrap interval, the shares correct, partial
and incorrect, the format rate, pass@k, HumanEval+ base and plus pass@1 and the resource
figures (time to first token, tokens/s, answer length, seconds). Contenders come best
mean score first.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from gradebench.engine.reporting import stats
from gradebench.engine.reporting.loading import Table
from gradebench.engine.reporting.model import GroupRow, PassAtK


def _nanmean(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if known.size else None


def _per_problem_rate(problem: np.ndarray, passed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, inverse = np.unique(problem, return_inverse=True)
    n = np.bincount(inverse)
    c = np.bincount(inverse, weights=passed).astype(np.int64)
    return n, c


def _group_row(
    table: Table,
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


def _contender_rank(table: Table) -> np.ndarray:
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
    table: Table, by: Sequence[str], ks: Sequence[int], seed: int
) -> tuple[GroupRow, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _group_rows(table, by, ks, seed)


def _group_rows(
    table: Table, by: Sequence[str], ks: Sequence[int], seed: int
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
