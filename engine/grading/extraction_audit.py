"""Auditing an answer's extraction: the reviewer cycles the code the tests run among the
candidates the extractor saw (``engine.answers.candidates``); each choice is rerun in the
sandbox and recorded (who, which candidate, the code, the verdict), so the exports can
report a measured extraction error rate: how often reviewers took another candidate than
the extractor's, per contender and per extraction method."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.extraction_choices import insert_extraction_choice

if TYPE_CHECKING:
    from gradebench.engine.answers.candidates import CodeCandidate
    from gradebench.engine.store.sqlite import Database


def record_extraction_choice(
    db: Database,
    *,
    generation_id: str,
    reviewer: str,
    candidate: CodeCandidate,
    extract_method: str | None,
    execution_id: str | None,
    verdict: str,
    run_id: str | None,
) -> str:
    """Append the choice; returns its id."""
    choice_id = new_id()
    insert_extraction_choice(
        db,
        {
            "id": choice_id,
            "generation_id": generation_id,
            "reviewer": reviewer,
            "created_at": utc_now(),
            "label": candidate.label,
            "code": candidate.code,
            "extract_method": extract_method,
            "execution_id": execution_id,
            "verdict": verdict,
            "run_id": run_id,
        },
    )
    return choice_id
