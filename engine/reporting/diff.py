"""``gradebench diff A B``: two contenders compared on the same problems.

For every problem both answered (the current first-sample answer of each), the latest test
verdict and the mean of the reviewers' current scores. From these: the problems that pass
for one and not the other, McNemar's exact test on those discordant problems (paired:
the same problems, so no independence between the two pass rates is assumed), the
answers whose verdict differs, and the problems whose human score differs.

``PairedFigures`` holds what every diff computes from its pairs, so a diff of two runs of
one contender (``run_diff``) reports the same figures the same way; ``differing_problems``
is what the app's ``--diff`` opens on.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.model import ContenderInfo
from gradebench.engine.reporting.selection import resolve_contenders
from gradebench.engine.reporting.stats import mcnemar_exact
from gradebench.engine.store.report_reads import paired_answer_rows


@dataclass(frozen=True)
class ProblemPair:
    problem_id: str
    verdict_a: str | None
    verdict_b: str | None
    score_a: float | None
    score_b: float | None
    sample_index: int = 0


class PairedFigures:
    """The figures of a diff, from ``pairs`` (one first-sample pair per problem) and
    ``every_pair()`` (every paired answer: the first samples, and more for runs)."""

    pairs: tuple[ProblemPair, ...]

    def every_pair(self) -> tuple[ProblemPair, ...]:
        return self.pairs

    def _tested(self) -> list[ProblemPair]:
        return [p for p in self.pairs if p.verdict_a is not None and p.verdict_b is not None]

    @property
    def tested(self) -> int:
        return len(self._tested())

    @property
    def only_a_passes(self) -> list[str]:
        return [p.problem_id for p in self._tested() if p.verdict_a == "pass" != p.verdict_b]

    @property
    def only_b_passes(self) -> list[str]:
        return [p.problem_id for p in self._tested() if p.verdict_b == "pass" != p.verdict_a]

    @property
    def both_pass(self) -> int:
        return sum(1 for p in self._tested() if p.verdict_a == p.verdict_b == "pass")

    @property
    def neither_passes(self) -> int:
        return sum(1 for p in self._tested() if "pass" not in (p.verdict_a, p.verdict_b))

    @property
    def mcnemar_p(self) -> float | None:
        return mcnemar_exact(len(self.only_a_passes), len(self.only_b_passes))

    @property
    def answers_tested(self) -> int:
        """Paired answers tested on both sides."""
        return sum(
            1 for p in self.every_pair() if p.verdict_a is not None and p.verdict_b is not None
        )

    @property
    def verdict_changes(self) -> list[ProblemPair]:
        """Paired answers tested on both sides whose verdicts differ, by problem and sample."""
        return [
            p
            for p in self.every_pair()
            if p.verdict_a is not None and p.verdict_b is not None and p.verdict_a != p.verdict_b
        ]

    @property
    def score_changes(self) -> list[ProblemPair]:
        """Answers graded on both sides whose mean human scores differ, biggest change first."""
        graded = [p for p in self.every_pair() if p.score_a is not None and p.score_b is not None]
        changed = [p for p in graded if abs(p.score_a - p.score_b) > 1e-9]  # type: ignore[operator]
        return sorted(
            changed,
            key=lambda p: (-abs(p.score_b - p.score_a), p.problem_id, p.sample_index),  # type: ignore[operator]
        )

    @property
    def differing_problems(self) -> list[str]:
        """The problems that differ: a verdict (pass in one only included) or a human score
        changed on one of their paired answers. What ``gradebench --diff A B`` grades."""
        changed = [*self.verdict_changes, *self.score_changes]
        return sorted({p.problem_id for p in changed})


@dataclass(frozen=True)
class ContenderDiff(PairedFigures):
    a: ContenderInfo
    b: ContenderInfo
    pairs: tuple[ProblemPair, ...]
    """Problems both contenders answered, by id."""

    @property
    def label_a(self) -> str:
        return self.a.label

    @property
    def label_b(self) -> str:
        return self.b.label


def resolve_one_contender(conn: sqlite3.Connection, text: str) -> ContenderInfo | None:
    """The contender a name, id or label names; None when none does; a ``UserError``
    when several share the name."""
    everyone, _ = resolve_contenders(conn, [])
    matches = [c for c in everyone if text in (c.id, c.name, c.label)]
    if len(matches) > 1:
        raise UserError(f"diff: {text!r} names {len(matches)} contenders; give an id")
    return matches[0] if matches else None


def diff_contenders(
    conn: sqlite3.Connection, first: str, second: str, suite: str | None = None
) -> ContenderDiff:
    """Compare two contenders (names or ids) on the problems both answered."""
    _, chosen = resolve_contenders(conn, [first])
    if len(chosen) != 1:
        raise UserError(f"diff: {first!r} names {len(chosen)} contenders; give an id")
    _, other = resolve_contenders(conn, [second])
    if len(other) != 1:
        raise UserError(f"diff: {second!r} names {len(other)} contenders; give an id")
    a, b = chosen[0], other[0]
    return contender_diff(conn, a, b, suite)


def contender_diff(
    conn: sqlite3.Connection, a: ContenderInfo, b: ContenderInfo, suite: str | None
) -> ContenderDiff:
    if a.id == b.id:
        raise UserError("diff: give two different contenders")
    found: dict[str, dict[str, tuple[str | None, float | None]]] = {}
    for problem_id, contender_id, verdict, score in paired_answer_rows(conn, [a.id, b.id], suite):
        found.setdefault(problem_id, {})[contender_id] = (verdict, score)
    pairs = tuple(
        ProblemPair(
            problem_id,
            verdict_a=answers[a.id][0],
            verdict_b=answers[b.id][0],
            score_a=answers[a.id][1],
            score_b=answers[b.id][1],
        )
        for problem_id, answers in sorted(found.items())
        if a.id in answers and b.id in answers
    )
    return ContenderDiff(a, b, pairs)
