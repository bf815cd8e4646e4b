"""Statistics over grades: pass@k, bootstrap intervals, rater agreement, Bradley-Terry.

Pure functions on plain numbers and numpy arrays; nothing here reads the database
(``gradebench.engine.reporting.loading`` does that). Every random draw takes an explicit seed so an
export run twice gives the same numbers.

Agreement: Cohen's and Fleiss' kappa are a few lines of arithmetic and are written
here (statsmodels/scikit-learn would bring scipy for two formulas); Krippendorff's
alpha comes from the ``krippendorff`` package, pinned in the tests against
Krippendorff's own published example.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_SEED = 20240601
DEFAULT_RESAMPLES = 1000
SCORE_EPS = 1e-9


# --- pass@k -----------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float | None:
    """Unbiased pass@k for one problem (Chen et al. 2021): 1 - C(n-c, k) / C(n, k).

    ``n`` samples, ``c`` of them correct. ``None`` when ``k > n`` (the estimator
    is undefined: fewer samples than ``k``). Computed as the paper's numerically
    stable product, so large ``n`` does not overflow.
    """
    if n < 0 or c < 0 or c > n or k < 1:
        raise ValueError(f"pass_at_k: need 0 <= c <= n and k >= 1, got n={n} c={c} k={k}")
    if k > n:
        return None
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(ns: np.ndarray, cs: np.ndarray, k: int) -> tuple[float | None, int]:
    """Mean pass@k over problems that have at least ``k`` samples, and how many those are."""
    ns = np.asarray(ns, dtype=np.int64)
    cs = np.asarray(cs, dtype=np.int64)
    keep = ns >= k
    if not keep.any():
        return None, 0
    if k == 1:
        values = cs[keep] / ns[keep]
        return float(values.mean()), int(keep.sum())
    memo: dict[tuple[int, int], float] = {}
    total = 0.0
    for n, c in zip(ns[keep].tolist(), cs[keep].tolist(), strict=True):
        key = (n, c)
        if key not in memo:
            memo[key] = pass_at_k(n, c, k) or 0.0
        total += memo[key]
    count = int(keep.sum())
    return total / count, count


# --- means and bootstrap ----------------------------------------------------


@dataclass(frozen=True)
class MeanCI:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> MeanCI | None:
    """Mean with a percentile bootstrap interval; ``None`` for no values.

    Scores take few distinct values (0, 0.5, 1 and reviewer means of those), so a
    resample of ``n`` values with replacement is drawn as multinomial counts over
    the distinct values: the same distribution as resampling the values one by one,
    at a cost that does not grow with ``n``.
    """
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    n = int(data.size)
    if n == 0:
        return None
    mean = float(data.mean())
    if n == 1:
        return MeanCI(mean, mean, mean, 1)
    distinct, counts = np.unique(data, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=resamples)
    means = draws @ distinct / n
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return MeanCI(mean, float(low), float(high), n)


# --- score categories ---------------------------------------------------------


def score_category(score: float) -> str:
    """``correct`` (1), ``incorrect`` (0) or ``partial`` (strictly between)."""
    if score >= 1.0 - SCORE_EPS:
        return "correct"
    if score <= SCORE_EPS:
        return "incorrect"
    return "partial"


# --- agreement ----------------------------------------------------------------


def cohen_kappa(first: Sequence[object], second: Sequence[object]) -> float | None:
    """Cohen's kappa for two raters on the same items (nominal categories).

    ``None`` for no items. When both raters use one and the same category for
    everything, chance agreement is 1 and kappa is undefined: returns ``None``.
    """
    a = np.asarray(first)
    b = np.asarray(second)
    if a.shape != b.shape:
        raise ValueError("cohen_kappa: the two raters must rate the same items")
    n = int(a.size)
    if n == 0:
        return None
    categories, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    table = np.zeros((len(categories), len(categories)))
    np.add.at(table, (inverse[:n], inverse[n:]), 1.0)
    observed = np.trace(table) / n
    expected = float((table.sum(axis=1) / n) @ (table.sum(axis=0) / n))
    if expected >= 1.0 - SCORE_EPS:
        return None
    return float((observed - expected) / (1.0 - expected))


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa from an items x categories matrix of how many raters chose each.

    Items with fewer than two ratings are ignored. When items have different
    numbers of raters, each item's agreement is computed over its own raters and
    the category shares over all ratings (the usual generalisation; with a
    constant number of raters this is exactly Fleiss 1971).
    """
    table = np.asarray(counts, dtype=float)
    raters = table.sum(axis=1)
    table = table[raters >= 2]
    raters = raters[raters >= 2]
    if table.shape[0] == 0:
        return None
    per_item = ((table * table).sum(axis=1) - raters) / (raters * (raters - 1))
    observed = float(per_item.mean())
    shares = table.sum(axis=0) / raters.sum()
    expected = float((shares * shares).sum())
    if expected >= 1.0 - SCORE_EPS:
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha_ordinal(counts: np.ndarray, values: Sequence[float]) -> float | None:
    """Krippendorff's alpha (ordinal) from an items x values count matrix.

    ``values`` are the ordered score values the columns stand for. ``None`` when
    fewer than two items have two or more ratings, or all ratings are one value.
    """
    import krippendorff

    table = np.asarray(counts, dtype=float)
    table = table[table.sum(axis=1) >= 2]
    if table.shape[0] < 2 or (table.sum(axis=0) > 0).sum() < 2:
        return None
    return float(
        krippendorff.alpha(
            value_counts=table,
            value_domain=list(values),
            level_of_measurement="ordinal",
        )
    )


# --- Bradley-Terry --------------------------------------------------------------


def bradley_terry(
    wins: np.ndarray,
    *,
    prior: float = 1.0,
    iterations: int = 2000,
    tolerance: float = 1e-10,
) -> np.ndarray:
    """Bradley-Terry strengths by Hunter's (2004) MM algorithm, normalised to sum to 1.

    ``wins[i, j]`` is how often ``i`` beat ``j`` (a tie counts half to each side).
    ``prior`` adds that many tied games to every pair that met, so a player who
    never won (or never lost) still gets a finite strength; ``prior=0`` is the
    plain maximum-likelihood fit. A stack of win matrices ``(b, m, m)`` is fitted
    all at once (that is how the bootstrap runs).
    """
    w = np.asarray(wins, dtype=float)
    single = w.ndim == 2
    if single:
        w = w[None]
    m = w.shape[-1]
    if m == 0:
        return np.zeros(w.shape[:-1])[0] if single else np.zeros(w.shape[:-1])
    met = (w + np.swapaxes(w, 1, 2)) > 0
    w = w + np.where(met, prior / 2.0, 0.0)
    games = w + np.swapaxes(w, 1, 2)
    won = w.sum(axis=2)
    strength = np.ones(w.shape[:2])
    for _ in range(iterations):
        denom = (games / (strength[:, :, None] + strength[:, None, :])).sum(axis=2)
        safe = np.where(denom > 0, denom, 1.0)
        updated = np.where(denom > 0, won / safe, strength)
        updated = np.maximum(updated, 1e-300)
        updated = updated / np.exp(np.log(updated).mean(axis=1, keepdims=True))
        change = float(np.max(np.abs(np.log(updated) - np.log(strength))))
        strength = updated
        if change < tolerance:
            break
    strength = strength / strength.sum(axis=1, keepdims=True)
    return strength[0] if single else strength


@dataclass(frozen=True)
class Rating:
    index: int
    strength: float
    low: float
    high: float


def bradley_terry_with_ci(
    pairs: np.ndarray,
    outcomes: np.ndarray,
    players: int,
    *,
    level: float = 0.95,
    resamples: int = 200,
    seed: int = DEFAULT_SEED,
    prior: float = 1.0,
) -> list[Rating]:
    """Strengths from individual comparisons, with a bootstrap over the comparisons.

    ``pairs`` is ``(n, 2)`` player indices, ``outcomes`` is 1.0 (first won),
    0.0 (second won) or 0.5 (tie). Returns one rating per player, strongest first.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    outcomes = np.asarray(outcomes, dtype=float)
    # Votes that name the same pair and outcome are interchangeable: resampling votes
    # one by one is the same as multinomial counts over the distinct kinds of vote.
    kinds, counts = (
        np.unique(np.column_stack([pairs, outcomes]), axis=0, return_counts=True)
        if len(outcomes)
        else (np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    )
    first = kinds[:, 0].astype(np.int64)
    second = kinds[:, 1].astype(np.int64)
    result = kinds[:, 2]

    def win_matrix(weights: np.ndarray) -> np.ndarray:
        matrix = np.zeros((players, players))
        np.add.at(matrix, (first, second), weights * result)
        np.add.at(matrix, (second, first), weights * (1.0 - result))
        return matrix

    point = bradley_terry(win_matrix(counts.astype(float)), prior=prior)
    if len(outcomes) == 0:
        return [
            Rating(i, float(point[i]), float(point[i]), float(point[i])) for i in range(players)
        ]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(int(counts.sum()), counts / counts.sum(), size=resamples)
    samples = bradley_terry(
        np.stack([win_matrix(d.astype(float)) for d in draws]), prior=prior, tolerance=1e-8
    )
    tail = (1.0 - level) / 2.0
    lows = np.quantile(samples, tail, axis=0)
    highs = np.quantile(samples, 1.0 - tail, axis=0)
    ratings = [Rating(i, float(point[i]), float(lows[i]), float(highs[i])) for i in range(players)]
    return sorted(ratings, key=lambda rating: -rating.strength)


def mcnemar_exact(only_first: int, only_second: int) -> float | None:
    """Two-sided exact McNemar test on paired pass/fail: the binomial probability, under
    "either side of a discordant pair is equally likely", of a split at least as uneven as
    ``only_first`` vs ``only_second``. None when there is no discordant pair."""
    n = only_first + only_second
    if n == 0:
        return None
    tail = sum(math.comb(n, i) for i in range(min(only_first, only_second) + 1)) / 2**n
    return min(1.0, 2 * tail)
