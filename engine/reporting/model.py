"""The values a report is made of, and the choices it offers.

What the user asks to see (``Selection``), who competed (``ContenderInfo``), one aggregate
row per group (``GroupRow`` with its ``PassAtK`` figures), the agreement between reviewers
(``Agreement``, ``PairKappa``), the side-by-side votes (``Pairwise``, ``PairRecord``,
``Standing``), and the whole ``Report`` with its cheap first part ``ReportTables``. Frozen
dataclasses only: no database, no computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradebench.engine.reporting import stats

COMBINE_CHOICES = ("mean", "majority", "adjudicated")
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
    problem_ids: tuple[str, ...] | None = None
    """Only these problems (a subset of the suite); None means every problem."""
    tests: str = "published"
    """``published``: verdicts over every test; ``contested``: without disputed tests."""


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
    disputed: int = 0
    """Answers whose reviewers gave different scores."""
    adjudicated: int = 0
    """Answers with an adjudicated final grade."""
    votes_disputed: int = 0
    """Pairs of answers whose reviewers voted for different sides."""
    votes_adjudicated: int = 0
    """Of those, the pairs with an adjudicated final vote."""
    inconclusive_runs: int = 0
    """Test runs starved by the generations beside them (verdict ``inconclusive``)."""
    inconclusive_left: int = 0
    """Answers whose latest test run is still inconclusive (not rerun yet)."""
    reasons: tuple[tuple[str, int], ...] = ()
    """(reason code, current grades giving it) for grades that differ from the tests."""
    reasons_by_contender: tuple[tuple[str, str, int], ...] = ()
    """(contender label, reason code, count)."""


@dataclass(frozen=True)
class ReviewerStats:
    """How one reviewer worked (``reporting.reviewer_stats``)."""

    reviewer: str
    graded: int
    """Answers they graded (first grades)."""
    votes: int
    left_share: float | None
    """Of their votes for one side, the share for the left pane (None: no such vote)."""
    seconds_per_answer: float | None
    """Median seconds between consecutive first grades in a session (breaks left out)."""
    pace_drift: float | None
    """Median of the later half of those gaps minus the earlier half's."""
    rechecks: int = 0
    """Answers shown to them again blind (``[grading] recheck_rate``) and graded again."""
    recheck_same: float | None = None
    """Of those, the share given the same score as the first time."""
    recheck_kappa: float | None = None
    """Cohen's kappa between their first grades and their rechecks (intra-rater)."""


@dataclass(frozen=True)
class DisputedTestRow:
    """One disputed test and what excluding it does."""

    problem_id: str
    test_index: int
    reasons: str
    """``reviewer: reason (note)``, joined."""
    answers_changed: int
    """Current answers that pass without this test and not with it."""


@dataclass(frozen=True)
class ExtractionAudit:
    """Reviewers' audits of the extraction for one contender and extraction method."""

    contender: str
    method: str
    audited: int
    """(answer, reviewer) pairs where the reviewer looked at the code candidates (``c``)."""
    changed: int
    """Of those, the ones whose reviewer's latest choice was not the extractor's code."""


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
    reviewers: tuple[ReviewerStats, ...] = field(default=())
    extraction: tuple[ExtractionAudit, ...] = field(default=())
    disputed_tests: tuple[DisputedTestRow, ...] = field(default=())
    contested_changed: int = 0
    """Current answers whose verdict differs without the disputed tests."""
    """Per contender and extraction method: how often reviewers changed the code tested."""


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
