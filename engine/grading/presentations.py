"""How a problem's answers were shown to a reviewer: the pane order (shuffled in blind mode),
recorded as a ``presentations`` row, and the reveal of the names.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.store.database import new_id, to_json, utc_now
from gradebench.engine.store.presentations import (
    insert_presentation,
    latest_presentation_row,
    mark_revealed,
)
from gradebench.engine.store.sqlite import Database


@dataclass(frozen=True)
class Presentation:
    id: str
    problem_id: str
    reviewer: str
    blind: bool
    contender_order: tuple[str, ...]
    created_at: str
    revealed_at: str | None

    @property
    def revealed(self) -> bool:
        return not self.blind or self.revealed_at is not None


def _presentation_from_row(r: dict[str, Any]) -> Presentation:
    return Presentation(
        r["id"],
        r["problem_id"],
        r["reviewer"],
        bool(r["blind"]),
        tuple(json.loads(r["contender_order"])),
        r["created_at"],
        r["revealed_at"],
    )


def latest_presentation(db: Database, problem_id: str, reviewer: str) -> Presentation | None:
    row = latest_presentation_row(db, problem_id, reviewer)
    return _presentation_from_row(row) if row else None


def present(
    db: Database,
    *,
    problem_id: str,
    reviewer: str,
    contender_ids: Sequence[str],
    blind: bool,
    run_id: str | None = None,
    rng: random.Random | None = None,
) -> Presentation:
    """The pane order for this problem: reused when the same set was shown before, else new.

    Blind mode shuffles the order per problem; open mode keeps the given order.
    Either way the order is recorded so a later analysis knows what was left.
    """
    previous = latest_presentation(db, problem_id, reviewer)
    if (
        previous is not None
        and previous.blind == blind
        and sorted(previous.contender_order) == sorted(contender_ids)
    ):
        return previous
    order = list(contender_ids)
    if blind:
        (rng or random.SystemRandom()).shuffle(order)
    presentation = Presentation(
        new_id(), problem_id, reviewer, blind, tuple(order), utc_now(), None
    )
    insert_presentation(
        db,
        id=presentation.id,
        problem_id=problem_id,
        reviewer=reviewer,
        blind=blind,
        contender_order_json=to_json(list(order)),
        created_at=presentation.created_at,
        run_id=run_id,
    )
    return presentation


def reveal(db: Database, presentation: Presentation) -> Presentation:
    """Mark a blind presentation's names as revealed (once its grades are committed)."""
    if presentation.revealed_at is not None:
        return presentation
    when = utc_now()
    mark_revealed(db, presentation.id, when)
    return Presentation(
        presentation.id,
        presentation.problem_id,
        presentation.reviewer,
        presentation.blind,
        presentation.contender_order,
        presentation.created_at,
        when,
    )


def blind_label(index: int) -> str:
    return chr(ord("A") + index)
