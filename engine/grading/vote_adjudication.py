"""Vote adjudication: pairs of answers that reviewers voted on differently, and the
adjudicator's final vote.

A pair is disputed when two or more reviewers' current votes on the same two current
answers chose different sides. Votes are compared by the answers they name, not by the
panes they were shown in (a vote for the left pane in one shuffled presentation and for
the right pane in another can be the same vote), so each vote is told as a *side*:
``low`` or ``high`` (the answer with the smaller or the larger id is better), ``tie`` or
``both_bad``. The adjudicator adopts one reviewer's vote or chooses a side; an append-only
``vote_adjudications`` row records it, and the latest per pair is the final vote that
``gradebench export --combine adjudicated`` counts instead of the reviewers' votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.store.adjudications import (
    insert_vote_adjudication,
    latest_vote_adjudication_row,
    vote_disagreement_rows,
)
from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.sqlite import Database

SIDES = ("low", "high", "tie", "both_bad")


@dataclass(frozen=True)
class ReviewerVote:
    reviewer: str
    side: str
    vote_id: str


@dataclass(frozen=True)
class VoteSettlement:
    id: str
    adjudicator: str
    side: str
    adopted_vote_id: str | None


@dataclass(frozen=True)
class VoteDispute:
    """Two current answers of one problem and every reviewer's differing vote on them."""

    problem_id: str
    low: str
    high: str
    contender_low: str
    contender_high: str
    code_low: str
    code_high: str
    votes: tuple[ReviewerVote, ...]
    settled: VoteSettlement | None


def _settlement(row: dict[str, Any] | None) -> VoteSettlement | None:
    if row is None:
        return None
    return VoteSettlement(row["id"], row["adjudicator"], row["side"], row["adopted_vote_id"])


def vote_disputes(db: Database, problem_ids: Sequence[str]) -> list[VoteDispute]:
    """Every disputed pair of these problems, by problem and pair."""
    by_pair: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in vote_disagreement_rows(db, problem_ids):
        key = (row["problem_id"], row["generation_low"], row["generation_high"])
        by_pair.setdefault(key, []).append(row)
    found = []
    for (problem_id, low, high), rows in by_pair.items():
        first = rows[0]
        found.append(
            VoteDispute(
                problem_id=problem_id,
                low=low,
                high=high,
                contender_low=first["contender_low"],
                contender_high=first["contender_high"],
                code_low=first["code_low"],
                code_high=first["code_high"],
                votes=tuple(ReviewerVote(r["reviewer"], r["side"], r["vote_id"]) for r in rows),
                settled=_settlement(latest_vote_adjudication_row(db, problem_id, low, high)),
            )
        )
    return found


def settle_vote(
    db: Database,
    dispute: VoteDispute,
    adjudicator: str,
    *,
    adopt: ReviewerVote | None = None,
    side: str | None = None,
) -> VoteSettlement:
    """Record the final vote: ``adopt`` one reviewer's, or ``side`` of the adjudicator's own."""
    if not adjudicator.strip():
        raise UserError("adjudicator: a name is needed")
    if (adopt is None) == (side is None):
        raise ValueError("settle_vote: give either adopt or side")
    chosen = adopt.side if adopt is not None else side
    if chosen not in SIDES:
        raise ValueError(f"settle_vote: side must be one of {SIDES}, not {chosen!r}")
    previous = latest_vote_adjudication_row(db, dispute.problem_id, dispute.low, dispute.high)
    row = {
        "id": new_id(),
        "problem_id": dispute.problem_id,
        "generation_low": dispute.low,
        "generation_high": dispute.high,
        "adjudicator": adjudicator.strip(),
        "created_at": utc_now(),
        "side": chosen,
        "adopted_vote_id": adopt.vote_id if adopt is not None else None,
        "replaces_id": previous["id"] if previous else None,
    }
    insert_vote_adjudication(db, row)
    return _settlement(row)  # type: ignore[return-value]
