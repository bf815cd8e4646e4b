"""Rechecks: an answer the reviewer already graded, shown again blind and unannounced,
and the second grade kept as a recheck (never as a grade event), so the exports can
measure each reviewer's self-consistency (intra-rater agreement and kappa).

``[grading] recheck_rate`` (default ``DEFAULT_RECHECK_RATE``; 0 turns rechecks off) is
the chance that moving on to the next problem first shows an earlier problem again, one
whose every answer the reviewer has graded and none of which was rechecked. A recheck is
never followed by another one, and never shows the problem just left or the one next.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError
from gradebench.engine.grading.grades import GradeEvent, current_grade
from gradebench.engine.grading.presentations import Presentation
from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.rechecks import insert_recheck, recheck_candidates

if TYPE_CHECKING:
    from gradebench.engine.config import Config
    from gradebench.engine.store.sqlite import Database

DEFAULT_RECHECK_RATE = 0.05


def recheck_rate(config: Config) -> float:
    """``[grading] recheck_rate``: a number from 0 to 1."""
    value = config.section("grading").get("recheck_rate", DEFAULT_RECHECK_RATE)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise UserError(f"[grading] recheck_rate: a number from 0 to 1 is needed (got {value!r})")
    return float(value)


def choose_recheck(
    db: Database,
    rng: random.Random,
    rate: float,
    *,
    reviewer: str,
    problem_ids: Sequence[str],
    contender_ids: Sequence[str],
    leaving: str,
    going_to: str | None = None,
) -> str | None:
    """The problem to show again before the next one, or None (most of the time): never
    the problem just left nor the one the reviewer is going to."""
    if rate <= 0 or rng.random() >= rate:
        return None
    candidates = [
        p
        for p in recheck_candidates(db, reviewer, problem_ids, contender_ids)
        if p not in (leaving, going_to)
    ]
    return rng.choice(candidates) if candidates else None


def recheck_presentation(
    problem_id: str, reviewer: str, contender_ids: Sequence[str], rng: random.Random
) -> Presentation:
    """A recheck's pane order: blind, shuffled afresh; not recorded (no vote is taken)."""
    order = list(contender_ids)
    rng.shuffle(order)
    return Presentation(new_id(), problem_id, reviewer, True, tuple(order), utc_now(), None)


def record_recheck(
    db: Database,
    *,
    generation_id: str,
    reviewer: str,
    score: float,
    format_ok: bool | None,
    run_id: str | None,
) -> GradeEvent:
    """Keep a second grade of an answer the reviewer graded before; returned as a
    ``GradeEvent`` for the pane to show (it is not one: the tables never count it)."""
    first = current_grade(db, generation_id, reviewer)
    if first is None:
        raise UserError(f"recheck: {reviewer} has not graded answer {generation_id}")
    event = GradeEvent(
        id=new_id(),
        generation_id=generation_id,
        reviewer=reviewer,
        created_at=utc_now(),
        score=float(score),
        format_ok=format_ok,
        note="",
        suggested_score=None,
        replaces_id=None,
        blind=True,
        run_id=run_id,
    )
    insert_recheck(
        db,
        {
            "id": event.id,
            "generation_id": generation_id,
            "reviewer": reviewer,
            "created_at": event.created_at,
            "score": event.score,
            "format_ok": None if format_ok is None else int(format_ok),
            "first_event_id": first.id,
            "run_id": run_id,
        },
    )
    return event
