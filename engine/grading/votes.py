"""Side-by-side votes (A better, B better, tie, both bad): append-only events per problem,
reviewer and pair of answers; the current vote is the latest one.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradebench.engine.errors import UserError
from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.sqlite import Database
from gradebench.engine.store.votes import current_vote_row, insert_vote

VOTE_OUTCOMES = ("a", "b", "tie", "both_bad")


@dataclass(frozen=True)
class Vote:
    id: str
    problem_id: str
    reviewer: str
    created_at: str
    generation_a: str
    generation_b: str
    outcome: str
    replaces_id: str | None
    blind: bool


def current_vote(db: Database, problem_id: str, reviewer: str) -> Vote | None:
    r = current_vote_row(db, problem_id, reviewer)
    if r is None:
        return None
    return Vote(
        r["id"],
        r["problem_id"],
        r["reviewer"],
        r["created_at"],
        r["generation_a"],
        r["generation_b"],
        r["outcome"],
        r["replaces_id"],
        bool(r["blind"]),
    )


def record_vote(
    db: Database,
    *,
    problem_id: str,
    reviewer: str,
    generation_a: str,
    generation_b: str,
    outcome: str,
    blind: bool = False,
    run_id: str | None = None,
) -> Vote:
    """Append a side-by-side preference (``a``/``b`` = left/right pane as shown)."""
    if outcome not in VOTE_OUTCOMES:
        raise UserError(f"vote: outcome must be one of {', '.join(VOTE_OUTCOMES)}")
    previous = current_vote(db, problem_id, reviewer)
    vote = Vote(
        new_id(),
        problem_id,
        reviewer,
        utc_now(),
        generation_a,
        generation_b,
        outcome,
        previous.id if previous else None,
        blind,
    )
    insert_vote(
        db,
        {
            "id": vote.id,
            "problem_id": problem_id,
            "reviewer": reviewer,
            "created_at": vote.created_at,
            "generation_a": generation_a,
            "generation_b": generation_b,
            "outcome": outcome,
            "replaces_id": vote.replaces_id,
            "blind": int(blind),
            "run_id": run_id,
        },
    )
    return vote
