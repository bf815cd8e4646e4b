"""Splitting a suite's problems among reviewers, and where each reviewer stands.

``split_problems`` gives every problem to ``overlap`` different reviewers so that each
reviewer's load is within one problem of every other's, and, among the reviewers equally
loaded, prefers those who have shared the fewest problems with the ones already chosen
(every pair of reviewers then overlaps about equally, so each pair's agreement rests on
about as many answers). Ties are broken by a seeded draw: the same problems, reviewers,
overlap and seed always give the same split. ``assign_problems`` stores a split as one
batch (``assignments``); for each problem the latest batch is in force.

``team_status`` reads, for the batch in force, each reviewer's queue: problems done (every
current answer of the problem graded by them), and their agreement so far with the other
reviewers on the answers both graded.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from gradebench.engine.errors import UserError
from gradebench.engine.store.assignments import (
    answers_and_grades,
    assignments_in_force,
    insert_assignments,
    queue_of,
)
from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.sqlite import Database


def check_reviewers(reviewers: Sequence[str], overlap: int) -> list[str]:
    names = [name.strip() for name in reviewers]
    if not names or any(not name for name in names):
        raise UserError("--reviewers: give names separated by commas, e.g. ann,bob,cy")
    if len(set(names)) != len(names):
        raise UserError("--reviewers: each reviewer once")
    if not 1 <= overlap <= len(names):
        raise UserError(f"--overlap: must be from 1 to the number of reviewers ({len(names)})")
    return names


def split_problems(
    problem_ids: Sequence[str], reviewers: Sequence[str], overlap: int, seed: int
) -> dict[str, list[str]]:
    """Each reviewer's queue (problems in suite order); see the module docstring."""
    names = check_reviewers(reviewers, overlap)
    draw = random.Random(seed)
    load = dict.fromkeys(names, 0)
    shared: dict[frozenset[str], int] = defaultdict(int)
    queues: dict[str, list[str]] = {name: [] for name in names}
    for problem_id in problem_ids:
        chosen: list[str] = []
        for _ in range(overlap):
            candidates = [name for name in names if name not in chosen]
            ranked = sorted(
                candidates,
                key=lambda name: (
                    load[name],
                    sum(shared[frozenset((name, other))] for other in chosen),
                    draw.random(),
                ),
            )
            chosen.append(ranked[0])
        for index, name in enumerate(chosen):
            load[name] += 1
            queues[name].append(problem_id)
            for other in chosen[index + 1 :]:
                shared[frozenset((name, other))] += 1
    return queues


def assign_problems(
    db: Database,
    suite: str,
    problem_ids: Sequence[str],
    reviewers: Sequence[str],
    overlap: int,
    seed: int,
) -> dict[str, list[str]]:
    """Split and store as one batch; returns the queues."""
    if not problem_ids:
        raise UserError(f"--suite {suite}: no problems to assign")
    queues = split_problems(problem_ids, reviewers, overlap, seed)
    batch_id, now = new_id(), utc_now()
    insert_assignments(
        db,
        [
            {
                "id": new_id(),
                "batch_id": batch_id,
                "suite": suite,
                "problem_id": problem_id,
                "reviewer": reviewer,
                "position": position,
                "overlap": overlap,
                "seed": seed,
                "created_at": now,
            }
            for reviewer, queue in queues.items()
            for position, problem_id in enumerate(queue)
        ],
    )
    return queues


def reviewer_queue(db: Database, reviewer: str, problem_ids: Sequence[str]) -> list[str]:
    """The problems among ``problem_ids`` assigned to ``reviewer`` (batch in force), in
    queue order."""
    return queue_of(db, reviewer, problem_ids)


@dataclass(frozen=True)
class ReviewerStatus:
    """One reviewer's queue in the batch in force."""

    reviewer: str
    assigned: int
    done: int
    """Problems whose every current answer the reviewer has graded (none: not done)."""
    compared: int
    """Answers graded by this reviewer and at least one other reviewer."""
    agreed: int
    """Of those, answers where every other reviewer gave the same score."""

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def team_status(db: Database, problem_ids: Sequence[str]) -> list[ReviewerStatus]:
    """Each assigned reviewer's progress and agreement so far, by name."""
    rows = assignments_in_force(db, problem_ids)
    queues: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        queues[row["reviewer"]].append(row["problem_id"])
    answers: dict[str, set[str]] = defaultdict(set)  # problem -> answer ids
    scores: dict[str, dict[str, float]] = defaultdict(dict)  # answer -> reviewer -> score
    for problem_id, answer_id, reviewer, score in answers_and_grades(db, list(problem_ids)):
        answers[problem_id].add(answer_id)
        if reviewer is not None:
            scores[answer_id][reviewer] = score
    statuses = []
    for reviewer in sorted(queues):
        queue = queues[reviewer]
        done = sum(
            1 for p in queue if answers[p] and all(reviewer in scores[a] for a in answers[p])
        )
        compared = agreed = 0
        for problem_id in queue:
            for answer_id in answers[problem_id]:
                graded = scores[answer_id]
                if reviewer in graded and len(graded) > 1:
                    compared += 1
                    mine = graded[reviewer]
                    agreed += all(s == mine for s in graded.values())
        statuses.append(ReviewerStatus(reviewer, len(queue), done, compared, agreed))
    return statuses
