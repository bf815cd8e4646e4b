"""Setting up a ``gradebench generate`` batch, with its rules: the contenders' model files
are checked, the problems and contenders registered, the problems put in the order the
reviewer will meet them, and the work left listed (``plan_jobs``). The command line only
parses, calls ``plan_batch`` and runs the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradebench.engine.generation.contender_rows import RegisteredContender, register_contender
from gradebench.engine.generation.model_files import check_model_file
from gradebench.engine.generation.prompts import build_prompt
from gradebench.engine.grading.progress import in_review_order
from gradebench.engine.grading.reviewer_settings import last_reviewer
from gradebench.engine.workflows.batch import Job, ensure_problem_rows, plan_jobs

if TYPE_CHECKING:
    from gradebench.engine.generation.prompts import PromptTemplates
    from gradebench.engine.generation.registry import Contender
    from gradebench.engine.problems.model import Problem
    from gradebench.engine.store.sqlite import Database


@dataclass(frozen=True)
class BatchPlan:
    """What a batch will do."""

    seats: list[RegisteredContender]
    jobs: list[Job]
    total: int
    """Answers the batch covers, done or not (problems x contenders x samples)."""
    reviewer: str | None
    """Whose order the problems follow (None: the suite's order)."""
    first_problem: str | None
    """The problem the work starts at, when the reviewer's order moved it off the first."""


def check_model_files(contenders: Sequence[Contender]) -> None:
    """Every contender's model can be loaded from a local file (one-line error if not)."""
    for contender in contenders:
        check_model_file(contender.model)


def plan_batch(
    db: Database,
    suite: str,
    problems: Sequence[Problem],
    contenders: Sequence[Contender],
    templates: PromptTemplates,
    *,
    samples: int = 1,
    reviewer: str | None = None,
) -> BatchPlan:
    """Register ``problems`` and ``contenders`` and list the answers still to make, in the
    order ``reviewer`` (else the database's last reviewer) will meet the problems."""
    ensure_problem_rows(db, list(problems))
    seats = [register_contender(db, c, templates.template(c.prompt_style)) for c in contenders]
    reviewer = reviewer or last_reviewer(db)
    order = in_review_order(db, reviewer, suite, [p.id for p in problems], [s.id for s in seats])
    by_id = {p.id: p for p in problems}
    ordered = [by_id[i] for i in order]
    jobs = plan_jobs(
        db,
        ordered,
        seats,
        lambda problem, seat: build_prompt(problem, seat.contender.prompt_style, templates),
        samples=samples,
    )
    moved = bool(problems) and order[0] != problems[0].id
    return BatchPlan(
        seats=seats,
        jobs=jobs,
        total=len(problems) * len(seats) * samples,
        reviewer=reviewer,
        first_problem=order[0] if moved else None,
    )
