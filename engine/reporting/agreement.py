"""Agreement between reviewers, and between reviewers and the tests, on a loaded ``Table``.

Cohen's kappa per pair of reviewers, Fleiss' kappa and Krippendorff's alpha over the
answers graded by two or more, and how often a grade agrees with the automatic verdict.
"""

from __future__ import annotations

import numpy as np

from gradebench.engine.reporting import stats
from gradebench.engine.reporting.loading import Table
from gradebench.engine.reporting.model import Agreement, PairKappa


def measure_agreement(table: Table) -> Agreement:
    grades = table.reviewer_grades
    assert grades is not None, "read them with read_reviewer_grades first"
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
    disputed = 0
    if len(pos):
        low = np.full(n, np.inf)
        high = np.full(n, -np.inf)
        np.minimum.at(low, pos, score)
        np.maximum.at(high, pos, score)
        disputed = int((multi & (high > low)).sum())
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
        disputed=disputed,
        adjudicated=table.adjudicated,
    )
