"""Adjudication: the answers whose reviewers disagree, and the adjudicator's final grade.

An answer is disputed when two or more reviewers' current grades differ in score, or in
the format flag where both set one. The adjudicator adopts one reviewer's grade or gives
a grade of their own; either way an append-only ``adjudications`` row records it (who,
when, the score and flag, which grade event was adopted), and the latest per answer is
the final grade that ``gradebench export --combine adjudicated`` uses. Disagreements
between votes are settled by ``engine.grading.vote_adjudication``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.store.adjudications import (
    disagreement_rows,
    insert_adjudication,
    latest_adjudication_row,
)
from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.sqlite import Database


@dataclass(frozen=True)
class ReviewerGrade:
    reviewer: str
    score: float
    format_ok: bool | None
    note: str
    event_id: str


@dataclass(frozen=True)
class Adjudication:
    id: str
    adjudicator: str
    score: float
    format_ok: bool | None
    adopted_event_id: str | None


@dataclass(frozen=True)
class Disagreement:
    """One disputed answer with every reviewer's current grade (by reviewer name)."""

    generation_id: str
    problem_id: str
    contender_id: str
    code: str
    verdict: str | None
    passed: int | None
    total: int | None
    grades: tuple[ReviewerGrade, ...]
    settled: Adjudication | None


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _adjudication(row: dict[str, Any] | None) -> Adjudication | None:
    if row is None:
        return None
    return Adjudication(
        row["id"],
        row["adjudicator"],
        row["score"],
        _flag(row["format_ok"]),
        row["adopted_event_id"],
    )


def disagreements(db: Database, problem_ids: Sequence[str]) -> list[Disagreement]:
    """Every disputed current answer of these problems, by problem and contender."""
    by_answer: dict[str, list[dict[str, Any]]] = {}
    for row in disagreement_rows(db, problem_ids):
        by_answer.setdefault(row["generation_id"], []).append(row)
    found = []
    for generation_id, rows in by_answer.items():
        first = rows[0]
        found.append(
            Disagreement(
                generation_id=generation_id,
                problem_id=first["problem_id"],
                contender_id=first["contender_id"],
                code=first["extracted_code"] or first["raw_answer"] or "",
                verdict=first["verdict"],
                passed=first["passed"],
                total=first["total"],
                grades=tuple(
                    ReviewerGrade(
                        r["reviewer"], r["score"], _flag(r["format_ok"]), r["note"], r["event_id"]
                    )
                    for r in rows
                ),
                settled=_adjudication(latest_adjudication_row(db, generation_id)),
            )
        )
    return found


def adjudicate(
    db: Database,
    disagreement: Disagreement,
    adjudicator: str,
    *,
    adopt: ReviewerGrade | None = None,
    score: float | None = None,
    format_ok: bool | None = None,
    note: str = "",
) -> Adjudication:
    """Record the final grade: ``adopt`` one reviewer's grade, or ``score`` (and
    ``format_ok``) of the adjudicator's own."""
    if not adjudicator.strip():
        raise UserError("adjudicator: a name is needed")
    if (adopt is None) == (score is None):
        raise ValueError("adjudicate: give either adopt or score")
    if adopt is not None:
        score, format_ok = adopt.score, adopt.format_ok
    previous = latest_adjudication_row(db, disagreement.generation_id)
    row = {
        "id": new_id(),
        "generation_id": disagreement.generation_id,
        "adjudicator": adjudicator.strip(),
        "created_at": utc_now(),
        "score": float(score),  # type: ignore[arg-type]
        "format_ok": None if format_ok is None else int(format_ok),
        "adopted_event_id": adopt.event_id if adopt is not None else None,
        "note": note,
        "replaces_id": previous["id"] if previous else None,
    }
    insert_adjudication(db, row)
    return _adjudication(row)  # type: ignore[return-value]
