"""Opening and closing a grading session, with all its rules.

A session is a reviewer grading the answers of 2 to 4 contenders on a suite's problems
(all of them, the ungraded or failing ones, the reviewer's assigned queue, or one difficulty;
optionally only the problems that differ between two contenders or two runs, as
``gradebench diff`` finds them). Opening one checks the
request, registers the contenders, chooses the problems, remembers the reviewer and
starts the session's ``runs`` row; closing it sets the row's ``finished_at``. The app and
the command line both go through here, so the rules live in one place; their constants
feed ``choices=`` of the CLI and the session form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gradebench.engine.errors import UserError
from gradebench.engine.problems.subsets import parse_subset

if TYPE_CHECKING:  # the rules above import cheaply: the CLI's argument parser reads them
    from gradebench.engine.answers.pipeline import Seat
    from gradebench.engine.generation.prompts import PromptTemplates
    from gradebench.engine.generation.registry import Contender
    from gradebench.engine.grading.rubric import Rubric
    from gradebench.engine.problems.model import Problem
    from gradebench.engine.store.runs import RunHeartbeat
    from gradebench.engine.store.sqlite import Database

CONTENDER_BOUNDS = (2, 4)
"""A session compares at least two and at most four contenders side by side."""
PROBLEM_FILTERS = (
    "all",
    "ungraded",
    "failing",
    "disagreeing",
    "assigned",
    "easy",
    "medium",
    "hard",
    "unrated",
)
"""Which problems a session goes through (``select_problems``)."""
DEFAULT_CONTENDERS = ("smollm2-plain", "smollm2-cot")
DEFAULT_SUITE = "lowcost60"


@dataclass
class SessionRequest:
    """What the session-start form (or the command line) asks for."""

    suite: str
    contenders: list[str]
    reviewer: str
    blind: bool = False
    which: str = "all"
    subset: str = ""
    """Part of the suite (``gradebench.engine.problems.subsets.parse_subset``); empty: all."""
    diff: tuple[str, str] | None = None
    """Only the problems that differ between these two contenders or runs (``--diff A B``)."""
    diff_contender: str | None = None
    """For a diff of two runs that answered for several contenders: the one compared."""


@dataclass
class GradingSession:
    """An open grading session: what the grading screen runs."""

    suite: str
    problems: list[Problem]
    seats: list[Seat]
    reviewer: str
    blind: bool
    which: str
    run_id: str
    rubric: Rubric = field(default_factory=lambda: _default_rubric())
    heartbeat: RunHeartbeat | None = None
    """Keeps the run (and so its claims on the answers it streams) alive for other apps."""


def _default_rubric() -> Rubric:
    from gradebench.engine.grading.rubric import Rubric

    return Rubric()


def check_contender_names(names: Sequence[str]) -> None:
    """The contender rule: 2 to 4 of them, each once; a ``UserError`` otherwise."""
    low, high = CONTENDER_BOUNDS
    if not low <= len(names) <= high:
        raise UserError(f"contenders: choose {low} to {high}")
    if len(set(names)) != len(names):
        raise UserError("contenders: each contender once")


def check_request(request: SessionRequest) -> None:
    """Every rule of a session request that needs no database."""
    if not request.reviewer.strip():
        raise UserError("reviewer: a name is needed")
    check_contender_names(request.contenders)
    if request.which not in PROBLEM_FILTERS:
        raise UserError(f"problems: {request.which!r} is not one of {', '.join(PROBLEM_FILTERS)}")
    parse_subset(request.subset)


def open_grading_session(
    db: Database,
    request: SessionRequest,
    *,
    contenders: Sequence[Contender | Any],
    problems: Sequence[Problem],
    templates: PromptTemplates,
    rubric: Rubric,
) -> GradingSession:
    """Check ``request``, register ``contenders`` (the request's, in its order), choose
    the problems, remember the reviewer and start the session's run."""
    from gradebench.engine.answers.pipeline import Seat
    from gradebench.engine.answers.recording import mark_stale_streaming
    from gradebench.engine.generation.contender_rows import register_contender
    from gradebench.engine.grading.progress import select_problems
    from gradebench.engine.grading.reviewer_settings import remember_reviewer
    from gradebench.engine.store.database import database_file
    from gradebench.engine.store.runs import RunHeartbeat, start_run

    check_request(request)
    if not problems:
        raise UserError(f"suite {request.suite}: no problems loaded")
    mark_stale_streaming(db)  # answers left streaming by a process that died: redo them
    seats = []
    for contender in contenders:
        template = templates.template(contender.prompt_style)
        registered = register_contender(db, contender, template)
        seats.append(Seat(registered.id, contender.name, contender, template))
    reviewer = request.reviewer.strip()
    problems = parse_subset(request.subset).select(problems, request.suite)
    chosen = select_problems(
        problems,
        request.which,
        db=db,
        reviewer=reviewer,
        contender_ids=[s.contender_id for s in seats],
    )
    if request.diff is not None:
        chosen = _differing(db, request, chosen)
    if not chosen:
        raise UserError(f"problems: none match {request.which!r} in suite {request.suite}")
    remember_reviewer(db, reviewer)
    run_id = start_run(
        db,
        "grade",
        request.suite,
        {
            "contenders": request.contenders,
            "blind": request.blind,
            "which": request.which,
            "subset": request.subset,
            **({"diff": [*request.diff, request.diff_contender]} if request.diff else {}),
        },
        reviewer=reviewer,
    )
    path = database_file(db.conn)
    heartbeat = None if path is None else RunHeartbeat(path, run_id).start()
    return GradingSession(
        heartbeat=heartbeat,
        suite=request.suite,
        problems=list(chosen),
        seats=seats,
        reviewer=reviewer,
        blind=request.blind,
        which=request.which,
        run_id=run_id,
        rubric=rubric,
    )


def _differing(db: Database, request: SessionRequest, problems: list[Problem]) -> list[Problem]:
    """The problems among ``problems`` that ``gradebench diff`` finds differing."""
    from gradebench.engine.reporting.run_diff import compare

    assert request.diff is not None
    first, second = request.diff
    diff = compare(db.conn, first, second, contender=request.diff_contender)
    differing = set(diff.differing_problems)
    kept = [p for p in problems if p.id in differing]
    if not kept:
        raise UserError(
            f"--diff: no problem of suite {request.suite} differs between {first} and {second}"
            + (f" among the {request.which} ones" if request.which != "all" else "")
        )
    return kept


QUIT_WHILE_STREAMING = "cancelled: the app quit while this answer was streaming"


def close_grading_session(db: Database, session: GradingSession) -> None:
    """The session ended (the reviewer quit or started another): its answers still
    streaming are marked ``cancelled`` (redone when next needed) and its run is finished."""
    from gradebench.engine.store.database import utc_now
    from gradebench.engine.store.generations import close_streaming, streaming_ids_of_run
    from gradebench.engine.store.runs import finish_run

    if session.heartbeat is not None:
        session.heartbeat.stop()
    unfinished = streaming_ids_of_run(db, session.run_id)
    if unfinished:
        close_streaming(db, unfinished, QUIT_WHILE_STREAMING, utc_now())
    finish_run(db, session.run_id)
