"""gradebench.engine.reporting.stats pinned against formulas, textbook examples and published values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradebench.engine.reporting import stats


def textbook_pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. 2021, eq. 1, with exact integers."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def test_pass_at_k_equals_the_humaneval_paper_formula_on_every_small_case():
    for n in range(1, 16):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert stats.pass_at_k(n, c, k) == pytest.approx(
                    textbook_pass_at_k(n, c, k), abs=1e-12
                ), (n, c, k)


def test_pass_at_k_edges_no_correct_sample_all_correct_and_k_above_n():
    assert stats.pass_at_k(10, 0, 5) == 0.0
    assert stats.pass_at_k(10, 10, 5) == 1.0
    assert stats.pass_at_k(10, 6, 5) == 1.0  # fewer than k wrong samples: every draw has a pass
    assert stats.pass_at_k(3, 1, 5) is None  # k > n: undefined, not a made-up number
    assert stats.pass_at_k(5, 2, 1) == pytest.approx(0.4)


def test_pass_at_k_stays_finite_for_large_n():
    value = stats.pass_at_k(2000, 3, 100)
    assert value == pytest.approx(textbook_pass_at_k(2000, 3, 100), rel=1e-9)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        stats.pass_at_k(3, 4, 1)


def test_mean_pass_at_k_skips_problems_with_fewer_than_k_samples():
    value, problems = stats.mean_pass_at_k(np.array([10, 3, 10]), np.array([5, 3, 0]), 5)
    assert problems == 2
    assert value == pytest.approx((textbook_pass_at_k(10, 5, 5) + 0.0) / 2)
    assert stats.mean_pass_at_k(np.array([2]), np.array([1]), 5) == (None, 0)


def test_bootstrap_interval_is_reproducible_and_brackets_the_mean():
    values = [0, 0.5, 1, 1, 1, 0, 0.5, 1]
    first = stats.bootstrap_mean_ci(values, seed=3)
    second = stats.bootstrap_mean_ci(values, seed=3)
    assert first == second
    assert first.mean == pytest.approx(0.625)
    assert first.low < first.mean < first.high
    assert first.low >= 0 and first.high <= 1


def test_bootstrap_by_multinomial_counts_matches_resampling_one_by_one():
    rng = np.random.default_rng(1)
    values = rng.choice([0.0, 0.5, 1.0], size=400, p=[0.3, 0.2, 0.5])
    ours = stats.bootstrap_mean_ci(values, resamples=20000, seed=5)
    naive = rng.choice(values, size=(20000, values.size)).mean(axis=1)
    low, high = np.quantile(naive, [0.025, 0.975])
    assert ours.low == pytest.approx(low, abs=0.006)
    assert ours.high == pytest.approx(high, abs=0.006)


def test_bootstrap_of_nothing_is_none_and_of_one_value_is_that_value():
    assert stats.bootstrap_mean_ci([]) is None
    one = stats.bootstrap_mean_ci([0.5])
    assert (one.mean, one.low, one.high, one.n) == (0.5, 0.5, 0.5, 1)


def test_cohen_kappa_textbook_example_is_0_4():
    # 50 proposals, two readers: yes/yes 20, yes/no 5, no/yes 10, no/no 15 (kappa = 0.4)
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert stats.cohen_kappa(first, second) == pytest.approx(0.4)


def test_cohen_kappa_perfect_agreement_is_1_and_undefined_when_one_category():
    assert stats.cohen_kappa([0, 1, 0.5], [0, 1, 0.5]) == pytest.approx(1.0)
    assert stats.cohen_kappa([1, 1], [1, 1]) is None
    assert stats.cohen_kappa([], []) is None


FLEISS_EXAMPLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_fleiss_kappa_textbook_example_is_0_210():
    # 10 subjects, 14 raters, 5 categories: P-bar 0.378, Pe-bar 0.213, kappa 0.210
    assert stats.fleiss_kappa(FLEISS_EXAMPLE) == pytest.approx(0.20993, abs=5e-5)


def test_fleiss_kappa_for_two_raters_is_close_to_scott_pi():
    # with two raters Fleiss' kappa is Scott's pi: (po - pe) / (1 - pe), pe from pooled shares
    counts = np.array([[2, 0], [0, 2], [1, 1], [2, 0]])
    po = 3 / 4
    pooled = np.array([5, 3]) / 8
    pe = float((pooled**2).sum())
    assert stats.fleiss_kappa(counts) == pytest.approx((po - pe) / (1 - pe))


# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", the example with
# 4 observers, 12 units and missing values: alpha nominal 0.743, ordinal 0.815.
KRIPPENDORFF_EXAMPLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_krippendorff_alpha_ordinal_matches_the_published_example():
    values = [1, 2, 3, 4, 5]
    counts = np.zeros((12, 5))
    for observer in KRIPPENDORFF_EXAMPLE:
        for unit, value in enumerate(observer):
            if value is not None:
                counts[unit, values.index(value)] += 1
    assert stats.krippendorff_alpha_ordinal(counts, values) == pytest.approx(0.815, abs=5e-4)


def test_krippendorff_alpha_undefined_without_pairable_ratings():
    assert stats.krippendorff_alpha_ordinal(np.array([[1, 0], [0, 1]]), [0, 1]) is None


def test_bradley_terry_two_players_is_the_win_share():
    wins = np.array([[0, 7], [3, 0]])  # player 0 beat 1 seven times, lost three
    strength = stats.bradley_terry(wins, prior=0.0)
    assert strength[0] / (strength[0] + strength[1]) == pytest.approx(0.7, abs=1e-8)


def test_bradley_terry_recovers_a_known_order():
    # a beats b 8-2, b beats c 8-2, a beats c 9-1, d loses to everyone but once to c
    wins = np.array(
        [
            [0, 8, 9, 10],
            [2, 0, 8, 9],
            [1, 2, 0, 8],
            [0, 1, 2, 0],
        ]
    )
    strength = stats.bradley_terry(wins)
    assert list(np.argsort(-strength)) == [0, 1, 2, 3]
    assert strength.sum() == pytest.approx(1.0)


def test_bradley_terry_matches_its_likelihood_equations():
    # at the maximum-likelihood fit each player's expected wins equal its actual wins
    wins = np.array([[0, 6, 4], [4, 0, 7], [6, 3, 0]], dtype=float)
    p = stats.bradley_terry(wins, prior=0.0)
    games = wins + wins.T
    expected = (games * p[:, None] / (p[:, None] + p[None, :])).sum(axis=1)
    assert expected == pytest.approx(wins.sum(axis=1), abs=1e-6)


def test_bradley_terry_intervals_bracket_the_estimate_and_keep_the_order():
    pairs, outcomes = [], []
    for a, b, a_wins, b_wins in ((0, 1, 15, 5), (1, 2, 15, 5), (0, 2, 18, 2)):
        pairs += [(a, b)] * (a_wins + b_wins)
        outcomes += [1.0] * a_wins + [0.0] * b_wins
    ratings = stats.bradley_terry_with_ci(np.array(pairs), np.array(outcomes), 3, seed=2)
    assert [r.index for r in ratings] == [0, 1, 2]
    for rating in ratings:
        assert rating.low <= rating.strength <= rating.high
    again = stats.bradley_terry_with_ci(np.array(pairs), np.array(outcomes), 3, seed=2)
    assert again == ratings


def test_score_categories():
    assert [stats.score_category(s) for s in (0, 0.25, 0.5, 1)] == [
        "incorrect",
        "partial",
        "partial",
        "correct",
    ]
