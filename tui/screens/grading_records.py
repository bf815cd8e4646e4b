"""The grading screen's reads and writes, all through ``gradebench.engine.grading``.

One ``GradingRecords`` per screen: it knows the session and the database (the UI
thread's connection) and turns what the screen needs into engine calls, one short
transaction per key press. It also writes the progress header's text, which is read
from the same tables. No widget code here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gradebench.engine.answers.pipeline import ensure_problem_row
from gradebench.engine.grading.grades import GradeEvent, current_grade, grade_history, record_grade
from gradebench.engine.grading.presentations import Presentation, present, reveal
from gradebench.engine.grading.progress import (
    ProblemStatus,
    next_matching,
    problem_statuses,
    resume_index,
    reviewer_summary,
)
from gradebench.engine.grading.rechecks import (
    choose_recheck,
    recheck_presentation,
    record_recheck,
)
from gradebench.engine.grading.reviewer_settings import save_position
from gradebench.engine.grading.test_disputes import (
    answer_statuses,
    contested_line,
    dispute_test,
    disputed_by,
    withdraw_dispute,
)
from gradebench.engine.grading.votes import Vote, current_vote, record_vote

if TYPE_CHECKING:
    from gradebench.engine.problems.model import Problem
    from gradebench.engine.store.sqlite import Database
    from gradebench.engine.workflows.grading_session import GradingSession


@dataclass(frozen=True)
class LookAheadCounts:
    """What the header says about the next problems: ready, being prepared, depth."""

    ready: int
    preparing: int
    depth: int


class GradingRecords:
    """Engine reads and writes for one grading screen; see the module docstring."""

    def __init__(self, db: Database, session: GradingSession, rng: random.Random) -> None:
        self.db = db
        self.session = session
        self.rng = rng

    @property
    def seat_ids(self) -> list[str]:
        return [s.contender_id for s in self.session.seats]

    @property
    def problem_ids(self) -> list[str]:
        return [p.id for p in self.session.problems]

    def resume_index(self) -> int:
        session = self.session
        return resume_index(
            self.db, session.reviewer, session.suite, self.problem_ids, self.seat_ids
        )

    def open_problem(self, problem: Problem) -> tuple[Presentation, Vote | None]:
        """Remember the position, make sure the problem has its row, record how it is shown."""
        session, db = self.session, self.db
        save_position(db, session.reviewer, session.suite, problem.id)
        ensure_problem_row(db, problem)
        presentation = present(
            db,
            problem_id=problem.id,
            reviewer=session.reviewer,
            contender_ids=self.seat_ids,
            blind=session.blind,
            run_id=session.run_id,
            rng=self.rng,
        )
        return presentation, current_vote(db, problem.id, session.reviewer)

    def recheck_presentation(self, problem: Problem) -> Presentation:
        """How a recheck shows a problem again: blind, panes shuffled afresh, names hidden
        until its grades are in. Not recorded (no vote is taken on a recheck), and the
        reviewer's position stays where it was."""
        return recheck_presentation(problem.id, self.session.reviewer, self.seat_ids, self.rng)

    def choose_recheck(
        self, rate: float, rng: random.Random, leaving: str, going_to: str
    ) -> str | None:
        """The problem to show again before the next one (``engine.grading.rechecks``)."""
        session = self.session
        return choose_recheck(
            self.db,
            rng,
            rate,
            reviewer=session.reviewer,
            problem_ids=self.problem_ids,
            contender_ids=self.seat_ids,
            leaving=leaving,
            going_to=going_to,
        )

    def record_recheck(
        self, generation_id: str, *, score: float, format_ok: bool | None
    ) -> GradeEvent:
        session = self.session
        return record_recheck(
            self.db,
            generation_id=generation_id,
            reviewer=session.reviewer,
            score=score,
            format_ok=format_ok,
            run_id=session.run_id,
        )

    def answer_statuses(self, generation_id: str) -> str | None:
        return answer_statuses(self.db, generation_id)

    def my_disputes(self, problem_id: str) -> set[int]:
        return disputed_by(self.db, problem_id, self.session.reviewer)

    def dispute(self, problem_id: str, test_index: int, reason: str | None) -> set[int]:
        """Dispute (or, with ``reason`` None, withdraw) a test; the tests you dispute now."""
        if reason is None:
            withdraw_dispute(
                self.db,
                problem_id=problem_id,
                test_index=test_index,
                reviewer=self.session.reviewer,
            )
        else:
            dispute_test(
                self.db,
                problem_id=problem_id,
                test_index=test_index,
                reviewer=self.session.reviewer,
                reason=reason,
            )
        return self.my_disputes(problem_id)

    def contested(self, problem_id: str, generation_id: str) -> str | None:
        return contested_line(self.db, problem_id, generation_id)

    def grade_of(self, generation_id: str) -> tuple[GradeEvent | None, int]:
        """The reviewer's current grade of an answer and how many grade events it has."""
        reviewer = self.session.reviewer
        history = grade_history(self.db, generation_id, reviewer)
        return current_grade(self.db, generation_id, reviewer), len(history)

    def history(self, generation_id: str) -> list[GradeEvent]:
        return grade_history(self.db, generation_id)

    def record_grade(
        self,
        generation_id: str,
        *,
        score: float,
        format_ok: bool | None,
        note: str,
        suggested_score: float | None,
        rubric: dict[str, str] | None = None,
    ) -> GradeEvent:
        session = self.session
        return record_grade(
            self.db,
            generation_id=generation_id,
            reviewer=session.reviewer,
            score=score,
            format_ok=format_ok,
            note=note,
            suggested_score=suggested_score,
            blind=session.blind,
            run_id=session.run_id,
            rubric=rubric,
        )

    def record_vote(
        self, problem_id: str, generation_a: str, generation_b: str, outcome: str
    ) -> Vote:
        session = self.session
        return record_vote(
            self.db,
            problem_id=problem_id,
            reviewer=session.reviewer,
            generation_a=generation_a,
            generation_b=generation_b,
            outcome=outcome,
            blind=session.blind,
            run_id=session.run_id,
        )

    def reveal(self, presentation: Presentation) -> Presentation:
        return reveal(self.db, presentation)

    def statuses(self) -> dict[str, ProblemStatus]:
        return problem_statuses(self.db, self.session.reviewer, self.problem_ids, self.seat_ids)

    def next_ungraded(self, index: int) -> int | None:
        statuses, seats = self.statuses(), self.seat_ids
        return next_matching(self.problem_ids, index, lambda p: not statuses[p].graded(seats))

    def next_failing(self, index: int) -> int | None:
        statuses, seats = self.statuses(), self.seat_ids
        return next_matching(self.problem_ids, index, lambda p: statuses[p].failing(seats))

    def header(
        self,
        index: int,
        presentation: Presentation | None,
        vote: Vote | None,
        look_ahead: LookAheadCounts | None = None,
    ) -> str:
        """The progress header: position, graded count, reviewer, vote, look-ahead, per-seat
        summary (in blind mode, before the reveal, without the problem on screen)."""
        session = self.session
        seat_ids, problem_ids = self.seat_ids, self.problem_ids
        problem = session.problems[index]
        statuses = problem_statuses(self.db, session.reviewer, problem_ids, seat_ids)
        graded = sum(1 for s in statuses.values() if s.graded(seat_ids))
        counted = problem_ids
        if session.blind and presentation is not None and not presentation.revealed:
            # the running summary must not tell which hidden pane was just graded
            counted = [p for p in problem_ids if p != problem.id]
        summary = reviewer_summary(self.db, session.reviewer, counted, seat_ids)
        mode = "blind" if session.blind else "open"
        where = "assigned to you: problem" if session.which == "assigned" else "problem"
        first = (
            f"[b]{problem.suite}[/b]  {where} [b]{index + 1}[/b] of {len(problem_ids)}  ·  "
            f"graded {graded}/{len(problem_ids)}  ·  reviewer [b]{session.reviewer}[/b] ({mode})"
        )
        if vote is not None:
            first += f"  ·  vote: {vote.outcome}"
        if look_ahead is not None and look_ahead.depth > 0:
            first += f"  ·  next {look_ahead.depth}: {look_ahead.ready} ready"
            if look_ahead.preparing:
                first += f", {look_ahead.preparing} preparing"
        parts = []
        for seat in session.seats:
            s = summary[seat.contender_id]
            mean = "-" if s.mean_score is None else f"{s.mean_score:.2f}"
            parts.append(f"{seat.name}: {s.graded} graded, mean {mean}, {s.correct} correct")
        return first + "\n" + "  |  ".join(parts)
