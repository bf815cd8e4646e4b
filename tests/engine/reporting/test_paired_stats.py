"""engine.reporting.paired_stats (intervals clustered by problem, the paired bootstrap) and
stats.mcnemar_exact, pinned against hand-worked values and textbook properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gradebench.engine.reporting.paired_stats import (
    ClusteredMean,
    cluster_bootstrap_mean_ci,
    paired_bootstrap_difference,
    per_problem_means,
)
from gradebench.engine.reporting.stats import bootstrap_mean_ci, mcnemar_exact

# --- McNemar's exact test ----------------------------------------------------------------


def test_mcnemar_exact_textbook_values():
    # b = 1, c = 6: n = 7; P(X <= 1) = (C(7,0) + C(7,1)) / 2^7 = (1 + 7) / 128; p = 2 * 8/128
    assert mcnemar_exact(1, 6) == pytest.approx(0.125, abs=1e-15)
    # b = 2, c = 8: n = 10; (C(10,0) + C(10,1) + C(10,2)) / 2^10 = (1 + 10 + 45) / 1024;
    # p = 112 / 1024
    assert mcnemar_exact(2, 8) == pytest.approx(0.109375, abs=1e-15)
    # b = 3, c = 12: n = 15; (1 + 15 + 105 + 455) / 2^15 = 576 / 32768; p = 1152 / 32768
    assert mcnemar_exact(3, 12) == pytest.approx(0.03515625, abs=1e-15)
    # b = 0, c = 10: only the all-one-way split; p = 2 * 1 / 1024
    assert mcnemar_exact(0, 10) == pytest.approx(0.001953125, abs=1e-15)
    # b = 0, c = 1: P(X <= 0) = 1/2; 2 * 1/2 = 1
    assert mcnemar_exact(0, 1) == 1.0
    # b = 4, c = 5: n = 9; (1 + 9 + 36 + 84 + 126) / 512 = 256/512; 2 * 1/2 = 1
    assert mcnemar_exact(4, 5) == 1.0
    # b = 1, c = 3: n = 4; (1 + 4) / 16; p = 10/16
    assert mcnemar_exact(1, 3) == pytest.approx(0.625, abs=1e-15)


def test_mcnemar_exact_is_symmetric_and_one_when_the_split_is_even():
    for b in range(0, 15):
        for c in range(0, 15):
            assert mcnemar_exact(b, c) == mcnemar_exact(c, b), (b, c)
    for b in range(1, 30):
        # P(X <= b) for n = 2b is over one half: twice it is capped at 1
        assert mcnemar_exact(b, b) == 1.0
    assert mcnemar_exact(0, 0) is None


def test_mcnemar_exact_equals_counting_every_equally_likely_split():
    """Under the null each discordant pair falls either way with probability 1/2: count,
    among all 2^n outcomes, those at least as far from an even split as the one seen."""
    for n in range(1, 13):
        outcomes = list(itertools.product((0, 1), repeat=n))
        for b in range(n + 1):
            distance = abs(b - n / 2)
            extreme = sum(1 for o in outcomes if abs(sum(o) - n / 2) >= distance)
            assert mcnemar_exact(b, n - b) == pytest.approx(extreme / 2**n, abs=1e-12), (b, n)


def test_mcnemar_exact_shrinks_as_the_split_grows_more_uneven():
    values = [mcnemar_exact(b, 20 - b) for b in range(11)]
    assert all(a < b for a, b in itertools.pairwise(values))


# --- the paired bootstrap ----------------------------------------------------------------


def forty_problems() -> tuple[dict[int, float], dict[int, float]]:
    rng = np.random.default_rng(11)
    first = rng.uniform(0, 1, 40)
    second = rng.uniform(0, 1, 40)
    return dict(enumerate(first.tolist())), dict(enumerate(second.tolist()))


def test_paired_bootstrap_matches_the_plug_in_standard_error():
    """The bootstrap distribution of a mean of n values has standard deviation
    sqrt(sum (d_i - dbar)^2) / n (Efron & Tibshirani, ch. 5); with 40 problems it is
    close to normal, so the 95% percentile interval is about dbar +- 1.96 SE."""
    first, second = forty_problems()
    d = np.array([first[p] - second[p] for p in range(40)])
    dbar = d.mean()
    se = math.sqrt(((d - dbar) ** 2).sum()) / len(d)

    result = paired_bootstrap_difference(first, second, resamples=20_000, seed=3)

    assert result is not None
    assert result.problems == 40
    assert result.difference == pytest.approx(dbar, abs=1e-12)
    half_width = (result.high - result.low) / 2
    assert half_width == pytest.approx(1.96 * se, rel=0.10)
    assert (result.low + result.high) / 2 == pytest.approx(dbar, abs=0.1 * se)


def test_paired_bootstrap_level_sets_the_width():
    """At 80% the normal interval is 1.2816 SE on each side instead of 1.96."""
    first, second = forty_problems()
    wide = paired_bootstrap_difference(first, second, resamples=20_000, seed=3)
    narrow = paired_bootstrap_difference(first, second, level=0.8, resamples=20_000, seed=3)
    assert wide is not None and narrow is not None
    ratio = (narrow.high - narrow.low) / (wide.high - wide.low)
    assert ratio == pytest.approx(1.2816 / 1.96, rel=0.10)
    assert wide.low < narrow.low < narrow.high < wide.high


def test_paired_difference_counts_only_the_problems_both_have():
    first = {1: 1.0, 2: 0.5, 3: 0.0, 4: 1.0, 10: 0.0}  # 10: only A has it
    second = {1: 0.0, 2: 0.5, 3: 1.0, 4: 0.0, 20: 1.0}  # 20: only B has it
    result = paired_bootstrap_difference(first, second, resamples=2000)
    assert result is not None
    # shared 1..4: A's mean (1 + 0.5 + 0 + 1) / 4 = 0.625 minus B's (0 + 0.5 + 1 + 0) / 4 = 0.375
    assert result.difference == pytest.approx(0.25)
    assert result.problems == 4
    # the bootstrap means of differences (1, 0, -1, 1) stay within their extremes
    assert -1.0 <= result.low <= result.difference <= result.high <= 1.0
    swapped = paired_bootstrap_difference(second, first, resamples=2000)
    assert swapped is not None
    assert swapped.difference == pytest.approx(-0.25)


def test_a_constant_difference_gives_a_zero_width_interval_at_that_constant():
    second = {p: p / 64 for p in range(30)}
    first = {p: v + 0.25 for p, v in second.items()}
    result = paired_bootstrap_difference(first, second, resamples=500)
    assert result is not None
    assert result.difference == pytest.approx(0.25)
    assert result.low == pytest.approx(0.25)
    assert result.high == pytest.approx(0.25)


def test_the_seed_fixes_the_interval():
    first, second = forty_problems()
    one = paired_bootstrap_difference(first, second, seed=5)
    again = paired_bootstrap_difference(first, second, seed=5)
    other = paired_bootstrap_difference(first, second, seed=6)
    assert one == again
    assert other is not None and one is not None
    assert (other.low, other.high) != (one.low, one.high)
    assert other.difference == one.difference


def test_no_shared_problem_is_none_and_one_is_a_point():
    assert paired_bootstrap_difference({1: 1.0}, {2: 0.0}) is None
    assert paired_bootstrap_difference({}, {}) is None
    single = paired_bootstrap_difference({1: 1.0, 2: 1.0}, {1: 0.5, 3: 0.0})
    assert single is not None
    assert (single.difference, single.low, single.high, single.problems) == (0.5, 0.5, 0.5, 1)


# --- intervals clustered by problem --------------------------------------------------------

PROBLEMS = 300


def width(interval) -> float:
    return interval.high - interval.low


def test_samples_that_agree_within_a_problem_widen_the_interval_by_sqrt_k():
    """k copies of each problem's value: the naive bootstrap sees k*P answers and its
    standard error is sqrt(k) times too small; resampling problems gives back the
    standard error of P values."""
    k = 4
    rng = np.random.default_rng(21)
    per_problem = (rng.uniform(size=PROBLEMS) < 0.4).astype(float)
    values = np.repeat(per_problem, k)
    problems = np.repeat(np.arange(PROBLEMS), k)

    clustered = cluster_bootstrap_mean_ci(values, problems, resamples=4000, seed=1)
    naive = bootstrap_mean_ci(values, resamples=4000, seed=1)

    assert clustered is not None and naive is not None
    assert (clustered.answers, clustered.problems) == (k * PROBLEMS, PROBLEMS)
    assert clustered.mean == pytest.approx(per_problem.mean())
    ratio = width(clustered) / width(naive)
    assert 0.85 * math.sqrt(k) <= ratio <= 1.15 * math.sqrt(k), ratio
    # and the clustered interval is the plain bootstrap's over the problems' values
    se = math.sqrt(((per_problem - per_problem.mean()) ** 2).sum()) / PROBLEMS
    assert width(clustered) / 2 == pytest.approx(1.96 * se, rel=0.10)


def test_one_sample_per_problem_is_the_plain_bootstrap():
    rng = np.random.default_rng(22)
    values = rng.uniform(size=PROBLEMS)
    clustered = cluster_bootstrap_mean_ci(values, np.arange(PROBLEMS), resamples=4000, seed=2)
    naive = bootstrap_mean_ci(values, resamples=4000, seed=2)
    assert clustered is not None and naive is not None
    assert clustered.mean == pytest.approx(naive.mean)
    assert clustered.low == pytest.approx(naive.low, abs=0.1 * width(naive))
    assert clustered.high == pytest.approx(naive.high, abs=0.1 * width(naive))


def test_independent_samples_within_problems_leave_the_width_about_the_same():
    k = 4
    rng = np.random.default_rng(23)
    values = (rng.uniform(size=k * PROBLEMS) < 0.5).astype(float)
    problems = np.repeat(np.arange(PROBLEMS), k)
    clustered = cluster_bootstrap_mean_ci(values, problems, resamples=4000, seed=3)
    naive = bootstrap_mean_ci(values, resamples=4000, seed=3)
    assert clustered is not None and naive is not None
    assert width(clustered) / width(naive) == pytest.approx(1.0, abs=0.15)


def test_clusters_of_unequal_size_weigh_every_answer_alike():
    values = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 1.0])
    problems = np.array([7, 7, 7, 8, 9, 9])
    result = cluster_bootstrap_mean_ci(values, problems, resamples=2000)
    assert result is not None
    assert result.mean == pytest.approx(4 / 6)  # the answers' mean, not (1 + 0 + 0.5) / 3
    assert (result.answers, result.problems) == (6, 3)
    assert 0.0 <= result.low <= result.mean <= result.high <= 1.0


def test_nan_values_are_left_out():
    rng = np.random.default_rng(24)
    values = (rng.uniform(size=200) < 0.5).astype(float)
    problems = np.repeat(np.arange(50), 4)
    with_gaps = values.copy()
    with_gaps[[0, 5, 9]] = np.nan  # problems 0, 1 and 2 keep three answers
    with_gaps[[40, 41, 42, 43]] = np.nan  # problem 10 has none left
    known = ~np.isnan(with_gaps)

    result = cluster_bootstrap_mean_ci(with_gaps, problems, resamples=1000, seed=4)
    expected = cluster_bootstrap_mean_ci(values[known], problems[known], resamples=1000, seed=4)

    assert result is not None
    assert result == expected
    assert (result.answers, result.problems) == (193, 49)
    assert result.mean == pytest.approx(values[known].mean())


def test_a_single_cluster_gives_a_zero_width_interval():
    result = cluster_bootstrap_mean_ci(np.array([1.0, 0.0, 1.0, np.nan]), np.array([3, 3, 3, 3]))
    assert result == ClusteredMean(2 / 3, 2 / 3, 2 / 3, 3, 1)


def test_no_known_value_gives_none():
    assert cluster_bootstrap_mean_ci(np.array([]), np.array([])) is None
    assert cluster_bootstrap_mean_ci(np.array([np.nan, np.nan]), np.array([1, 2])) is None


def test_the_cluster_seed_fixes_the_interval():
    values = np.tile([1.0, 0.0, 0.0], 30)
    problems = np.arange(90) // 3
    one = cluster_bootstrap_mean_ci(values, problems, seed=9)
    assert one == cluster_bootstrap_mean_ci(values, problems, seed=9)
    # every problem here has the same mean: resampling problems cannot move the mean
    assert one is not None
    assert one.low == pytest.approx(1 / 3) and one.high == pytest.approx(1 / 3)


# --- per-problem means -------------------------------------------------------------------


def test_per_problem_means_ignore_nan_and_leave_out_problems_with_no_value():
    values = np.array([1.0, 0.0, np.nan, np.nan, np.nan, 0.5, 1.0, 0.0, 0.0])
    problems = np.array([5, 5, 5, 6, 6, 7, 8, 8, 8])
    means = per_problem_means(values, problems)
    assert sorted(means) == [5, 7, 8]  # 6 has no known value
    # 5: (1 + 0) / 2, its NaN left out; 8: (1 + 0 + 0) / 3
    assert means == pytest.approx({5: 0.5, 7: 0.5, 8: 1 / 3})


def test_per_problem_means_of_nothing_known_is_empty():
    assert per_problem_means(np.array([]), np.array([])) == {}
    assert per_problem_means(np.array([np.nan]), np.array([1])) == {}


def test_per_problem_means_feed_the_paired_difference():
    a = per_problem_means(np.array([1.0, 1.0, 0.0, 1.0]), np.array([1, 1, 2, 3]))
    b = per_problem_means(np.array([0.0, 1.0, 1.0, np.nan]), np.array([1, 1, 2, 3]))
    assert set(a) == {1, 2, 3} and set(b) == {1, 2}  # problem 3 unknown for b
    result = paired_bootstrap_difference(a, b, resamples=500)
    assert result is not None
    # problems 1 and 2: A (1 + 0) / 2 minus B (0.5 + 1) / 2 = 0.5 - 0.75
    assert result.difference == pytest.approx(-0.25)
    assert result.problems == 2
