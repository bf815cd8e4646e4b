"""Grade events: append-only, one short transaction per event, so a crash right after a key
press cannot lose it. Editing a grade appends a new event naming the one it replaces;
the current grade of a (generation, reviewer) is the event no later event replaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.store.database import new_id, to_json, utc_now
from gradebench.engine.store.grade_events import (
    current_grade_row,
    grade_event_rows,
    insert_grade_event,
)
from gradebench.engine.store.sqlite import Database


@dataclass(frozen=True)
class GradeEvent:
    id: str
    generation_id: str
    reviewer: str
    created_at: str
    score: float
    format_ok: bool | None
    note: str
    suggested_score: float | None
    replaces_id: str | None
    blind: bool
    run_id: str | None = None
    rubric: dict[str, Any] = field(default_factory=dict, compare=False)


def _grade_from_row(row: dict[str, Any]) -> GradeEvent:
    return GradeEvent(
        id=row["id"],
        generation_id=row["generation_id"],
        reviewer=row["reviewer"],
        created_at=row["created_at"],
        score=row["score"],
        format_ok=None if row["format_ok"] is None else bool(row["format_ok"]),
        note=row["note"],
        suggested_score=row["suggested_score"],
        replaces_id=row["replaces_id"],
        blind=bool(row["blind"]),
        run_id=row["run_id"],
        rubric=json.loads(row["rubric"] or "{}"),
    )


def current_grade(db: Database, generation_id: str, reviewer: str) -> GradeEvent | None:
    """The reviewer's grade for this answer now: the latest event nothing replaces."""
    row = current_grade_row(db, generation_id, reviewer)
    return _grade_from_row(row) if row else None


def grade_history(
    db: Database, generation_id: str, reviewer: str | None = None
) -> list[GradeEvent]:
    """Every grade event for an answer, oldest first (optionally one reviewer's)."""
    return [_grade_from_row(r) for r in grade_event_rows(db, generation_id, reviewer)]


def record_grade(
    db: Database,
    *,
    generation_id: str,
    reviewer: str,
    score: float,
    format_ok: bool | None = None,
    note: str = "",
    suggested_score: float | None = None,
    blind: bool = False,
    run_id: str | None = None,
    rubric: dict[str, Any] | None = None,
) -> GradeEvent:
    """Append a grade event (replacing the reviewer's current one), committed at once."""
    if not reviewer.strip():
        raise UserError("reviewer: name must not be empty")
    previous = current_grade(db, generation_id, reviewer)
    event = GradeEvent(
        id=new_id(),
        generation_id=generation_id,
        reviewer=reviewer,
        created_at=utc_now(),
        score=float(score),
        format_ok=format_ok,
        note=note,
        suggested_score=suggested_score,
        replaces_id=previous.id if previous else None,
        blind=blind,
        run_id=run_id,
        rubric=rubric or {},
    )
    insert_grade_event(
        db,
        {
            "id": event.id,
            "generation_id": event.generation_id,
            "reviewer": event.reviewer,
            "created_at": event.created_at,
            "score": event.score,
            "format_ok": None if format_ok is None else int(format_ok),
            "rubric": to_json(event.rubric),
            "note": event.note,
            "suggested_score": event.suggested_score,
            "replaces_id": event.replaces_id,
            "blind": int(blind),
            "run_id": run_id,
        },
    )
    return event
