"""Where a reviewer stands in a suite: the current answers and their scores and verdicts per
problem, the next ungraded or failing problem, where to resume, the session's problem
selection, and the per-contender summary the header shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.grading.assignments import reviewer_queue
from gradebench.engine.grading.reviewer_settings import saved_position
from gradebench.engine.grading.triage import disagreement
from gradebench.engine.store.executions import latest_verdicts
from gradebench.engine.store.generations import current_generation_ids
from gradebench.engine.store.grade_events import current_scores
from gradebench.engine.store.sqlite import Database

PASSING_VERDICTS = frozenset({"pass"})


@dataclass(frozen=True)
class ProblemStatus:
    """One problem as the reviewer stands with it."""

    problem_id: str
    generations: dict[str, str]  # contender_id -> generation_id (only those that exist)
    scores: dict[str, float]  # contender_id -> reviewer's current score
    verdicts: dict[str, str]  # contender_id -> latest verdict

    def graded(self, contender_ids: Sequence[str]) -> bool:
        return all(c in self.scores for c in contender_ids)

    def disagreeing(self, contender_ids: Sequence[str]) -> bool:
        """Some seat's grade (by this reviewer) disagrees with its verdict."""
        return any(
            disagreement(self.scores.get(c), self.verdicts.get(c)) is not None
            for c in contender_ids
        )

    def failing(self, contender_ids: Sequence[str]) -> bool:
        return any(
            c in self.verdicts and self.verdicts[c] not in PASSING_VERDICTS for c in contender_ids
        )


def problem_statuses(
    db: Database, reviewer: str, problem_ids: Sequence[str], contender_ids: Sequence[str]
) -> dict[str, ProblemStatus]:
    generations = current_generation_ids(db, problem_ids, contender_ids)
    scores = current_scores(db, reviewer, generations.values())
    verdicts = latest_verdicts(db, generations.values())
    statuses: dict[str, ProblemStatus] = {}
    for problem_id in problem_ids:
        gens = {
            c: generations[(problem_id, c)] for c in contender_ids if (problem_id, c) in generations
        }
        statuses[problem_id] = ProblemStatus(
            problem_id,
            gens,
            {c: scores[g] for c, g in gens.items() if g in scores},
            {c: verdicts[g] for c, g in gens.items() if g in verdicts},
        )
    return statuses


def next_matching(
    problem_ids: Sequence[str],
    start: int,
    matches: Any,
    *,
    wrap: bool = True,
) -> int | None:
    """Index of the first problem after ``start`` for which ``matches(problem_id)``."""
    n = len(problem_ids)
    for step in range(1, n + (1 if wrap else 0)):
        index = start + step
        if index >= n:
            if not wrap:
                return None
            index -= n
        if matches(problem_ids[index]):
            return index
    return None


def resume_index(
    db: Database,
    reviewer: str,
    suite: str,
    problem_ids: Sequence[str],
    contender_ids: Sequence[str],
) -> int:
    """Where this reviewer picks up: the first ungraded problem, else where they stopped."""
    if not problem_ids:
        return 0
    statuses = problem_statuses(db, reviewer, problem_ids, contender_ids)
    for index, problem_id in enumerate(problem_ids):
        if not statuses[problem_id].graded(contender_ids):
            return index
    saved = saved_position(db, reviewer, suite)
    return problem_ids.index(saved) if saved in problem_ids else 0


@dataclass(frozen=True)
class ContenderSummary:
    graded: int
    mean_score: float | None
    correct: int


def reviewer_summary(
    db: Database, reviewer: str, problem_ids: Sequence[str], contender_ids: Sequence[str]
) -> dict[str, ContenderSummary]:
    """Per contender: how many answers this reviewer graded, their mean and full marks."""
    statuses = problem_statuses(db, reviewer, problem_ids, contender_ids)
    summary: dict[str, ContenderSummary] = {}
    for contender_id in contender_ids:
        scores = [s.scores[contender_id] for s in statuses.values() if contender_id in s.scores]
        summary[contender_id] = ContenderSummary(
            graded=len(scores),
            mean_score=sum(scores) / len(scores) if scores else None,
            correct=sum(1 for s in scores if s >= 1.0),
        )
    return summary


def select_problems(
    problems: Sequence[Any],
    which: str,
    *,
    db: Database,
    reviewer: str,
    contender_ids: Sequence[str],
) -> list[Any]:
    """Which problems a session covers: ``all``, ``ungraded``, ``failing``, a difficulty,
    or ``assigned`` (the reviewer's queue from ``gradebench assign``, in queue order)."""
    if which == "all":
        return list(problems)
    if which in ("easy", "medium", "hard", "unrated"):
        return [p for p in problems if p.difficulty == which]
    if which == "assigned":
        by_id = {p.id: p for p in problems}
        queue = reviewer_queue(db, reviewer, list(by_id))
        if not queue:
            raise UserError(
                f"problems: nothing here is assigned to {reviewer} (see gradebench assign)"
            )
        return [by_id[problem_id] for problem_id in queue]
    if which not in ("ungraded", "failing", "disagreeing"):
        raise UserError(
            f"problems: {which!r} is not one of all, ungraded, failing, disagreeing,"
            " assigned, easy, medium, hard, unrated"
        )
    statuses = problem_statuses(db, reviewer, [p.id for p in problems], contender_ids)
    if which == "ungraded":
        return [p for p in problems if not statuses[p.id].graded(contender_ids)]
    if which == "disagreeing":
        return [p for p in problems if statuses[p.id].disagreeing(contender_ids)]
    return [p for p in problems if statuses[p.id].failing(contender_ids)]


def in_review_order(
    db: Database,
    reviewer: str | None,
    suite: str,
    problem_ids: Sequence[str],
    contender_ids: Sequence[str],
) -> list[str]:
    """``problem_ids`` in the order ``reviewer`` will meet them: from where their next
    session opens (``resume_index``) to the end, then the ones before. Without a reviewer,
    the suite's order. ``gradebench generate`` works in this order, so a batch started
    before a grading session prepares the reviewer's next problems first."""
    if reviewer is None or not problem_ids:
        return list(problem_ids)
    start = resume_index(db, reviewer, suite, problem_ids, contender_ids)
    return [*problem_ids[start:], *problem_ids[:start]]
