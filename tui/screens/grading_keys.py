"""The grading screen's keys: bindings, command-palette entries, and the actions they run.

``GradingKeys`` is mixed into ``GradingScreen``; every action reads the focused
pane's ``PaneState`` and acts through the screen's ``records`` (engine writes) or its
job methods. Footer entries are shown only while they apply (``check_action``). The
score keys are labelled with the rubric's own words: ``score_bindings(rubric)`` makes
one ``Binding`` per level, which ``GradingScreen.for_rubric`` puts on a subclass (the
public way to give a screen its bindings). (About 480 lines: every key of the screen in one
place, so the key map reads from one file; each action is short.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding

if TYPE_CHECKING:
    import random

    from gradebench.engine.workflows.grading_session import GradingSession
    from gradebench.tui.screens.grading_records import GradingRecords
    from gradebench.tui.widgets.answer_pane import AnswerPane

MAX_LEVELS = 9
"""Score keys 1-9: a rubric has at most nine levels."""

PALETTE: tuple[tuple[str, str, str], ...] = (
    ("accept", "Accept suggested", "a: take the score the tests suggest"),
    ("toggle_format", "Toggle format flag", "f: followed the requested format yes/no"),
    ("edit_note", "Edit note", "e: free-text note on the focused answer"),
    ("history", "Grade history", "h: every grade event of the focused answer"),
    ("reason", "Why grade and tests disagree", "w: a reason code for the disagreement"),
    ("cycle_code", "Cycle the code tested", "c: run the tests on the next code candidate"),
    ("dispute_tests", "Contest a test", "d: the problem's tests; dispute a wrong one"),
    ("next_problem", "Next problem", "n"),
    ("previous_problem", "Previous problem", "p"),
    ("next_ungraded", "Next ungraded", "u: the next problem you have not fully graded"),
    ("next_failing", "Next failing", "x: the next problem with a failing answer"),
    ("vote('a')", "Vote: A (left) better", "["),
    ("vote('b')", "Vote: B (right) better", "]"),
    ("vote('tie')", "Vote: tie", "="),
    ("vote('both_bad')", "Vote: both bad", "-"),
    ("regenerate", "Regenerate answer", "r: a new answer for the focused pane"),
    ("cancel_stream", "Cancel stream", "Escape"),
    ("toggle_problem", "Toggle problem pane", "t"),
    ("help", "Help: key map", "?"),
)
"""Command-palette entries: action, title, help."""
PANE_ACTIONS = {
    "score",
    "accept",
    "toggle_format",
    "edit_note",
    "history",
    "reason",
    "cycle_code",
    "dispute_tests",
}

BINDINGS: list[Binding] = [
    # score keys first so the footer shows them first; for_rubric relabels them
    *[Binding(str(n), f"score({n - 1})", f"score {n}") for n in range(1, MAX_LEVELS + 1)],
    Binding("a", "accept", "accept"),
    Binding("f", "toggle_format", "format"),
    Binding("e", "edit_note", "note"),
    Binding("n", "next_problem", "next"),
    Binding("p", "previous_problem", "prev", show=False),
    Binding("u", "next_ungraded", "ungraded"),
    Binding("x", "next_failing", "failing", show=False),
    Binding("left_square_bracket", "vote('a')", "A better", key_display="["),
    Binding("right_square_bracket", "vote('b')", "B better", key_display="]"),
    Binding("equals_sign", "vote('tie')", "tie", key_display="="),
    Binding("minus", "vote('both_bad')", "both bad", key_display="-"),
    Binding("r", "regenerate", "regen"),
    Binding("escape", "cancel_stream", "cancel"),
    Binding("h", "history", "history", show=False),
    Binding("w", "reason", "why", show=False),
    Binding("c", "cycle_code", "code", show=False),
    Binding("d", "dispute_tests", "tests", show=False),
    Binding("t", "toggle_problem", "problem pane", show=False),
    Binding("question_mark", "help", "help", key_display="?"),
    Binding("tab", "focus_pane(1)", "next pane", show=False),
    Binding("shift+tab", "focus_pane(-1)", "prev pane", show=False),
    Binding("right", "focus_pane(1)", "next pane", show=False),
    Binding("left", "focus_pane(-1)", "prev pane", show=False),
]


def score_bindings(labels: Sequence[str]) -> list[Binding]:
    """The score keys labelled with a rubric's level labels (keys past the last level
    keep their generic binding, hidden by ``check_action``)."""
    return [
        Binding(str(level + 1), f"score({level})", label)
        for level, label in enumerate(labels[:MAX_LEVELS])
    ]


class GradingKeys:
    """Actions of the grading screen (mixed into ``GradingScreen``)."""

    BINDINGS: ClassVar[list[Binding]] = BINDINGS
    session: GradingSession
    records: GradingRecords
    current: int
    index: int
    recheck_rate: float
    recheck_rng: random.Random
    recheck_return: int | None

    if TYPE_CHECKING:  # provided by GradingScreen / Screen
        from gradebench.engine.grading.presentations import Presentation
        from gradebench.engine.grading.votes import Vote
        from gradebench.tui.widgets.answer_pane import AnswerPane as _Pane

        presentation: Presentation | None
        vote: Vote | None

        @property
        def panes(self) -> list[_Pane]: ...
        def focused_pane(self) -> _Pane | None: ...
        def show_problem(self, index: int, *, recheck_return: int | None = None) -> None: ...
        @property
        def rechecking(self) -> bool: ...
        def update_progress(self) -> None: ...
        def refresh_bindings(self) -> None: ...
        def notify(self, message: str, **kwargs: object) -> None: ...
        def start_generation(self, pane: _Pane) -> None: ...
        def stop_stream(self, pane: _Pane) -> None: ...
        def after_grade(self, bindings_changed: bool = True) -> None: ...
        def query_one(self, selector: object, expect_type: object = None) -> object: ...
        def _run_job(self, pane: _Pane, name: str, work: object, *args: object) -> None: ...
        @property
        def problem(self) -> object: ...

        pipeline: object
        code_choices: dict[int, tuple[list[object], int, object]]

        @property
        def app(self) -> object: ...

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "score" and parameters:
            index = int(parameters[0])  # type: ignore[arg-type]
            if index >= len(self.session.rubric.levels):
                return False
        if action in PANE_ACTIONS or action == "score":
            pane = self.focused_pane()
            if pane is None or pane.state.answer is None:
                return None
            state = pane.state
            if action == "accept" and (
                state.result is None or state.result.suggested_score is None
            ):
                return None
            if action == "toggle_format" and not self.session.rubric.format_flag:
                return False
            if action == "history" and state.history_count == 0:
                return None
            if action == "reason" and self._disagreement(state) is None:
                return None
        if action == "vote":
            if len(self.panes) != 2:
                return False
            if any(p.state.answer is None for p in self.panes):
                return None
        if action == "cancel_stream" and not any(p.state.streaming for p in self.panes):
            return None
        if action == "regenerate":
            pane = self.focused_pane()
            if pane is None or pane.state.streaming:
                return None
        return True

    # --- focus ---

    def action_focus_pane(self, step: int) -> None:
        panes = self.panes
        self.current = (self.current + step) % len(panes)
        panes[self.current].focus()
        self.refresh_bindings()

    # --- grading ---

    def _grade(
        self,
        pane: AnswerPane,
        score: float,
        format_ok: bool | None,
        note: str,
        rubric: dict[str, str] | None = None,
    ) -> None:
        state = pane.state
        if state.answer is None:
            self.notify("no answer to grade yet", severity="warning")
            return
        if self.rechecking:
            event = self.records.record_recheck(
                state.answer.generation_id, score=score, format_ok=format_ok
            )
            state.show_grade(event, 1)
            pane.render_all()
            self.after_grade(bindings_changed=True)
            return
        event = self.records.record_grade(
            state.answer.generation_id,
            score=score,
            format_ok=format_ok,
            note=note,
            suggested_score=state.result.suggested_score if state.result else None,
            rubric=rubric,
        )
        first_grade = state.history_count == 0
        state.show_grade(event, state.history_count + 1)
        pane.render_all()
        self.after_grade(bindings_changed=first_grade)

    def action_score(self, level: int) -> None:
        pane = self.focused_pane()
        levels = self.session.rubric.levels
        if pane is None or level >= len(levels):
            return
        draft = pane.state.draft
        self._grade(pane, levels[level].value, draft.format_ok, draft.note)

    def action_accept(self) -> None:
        pane = self.focused_pane()
        result = None if pane is None else pane.state.result
        if pane is None or result is None or result.suggested_score is None:
            self.notify("no suggested score yet", severity="warning")
            return
        score = self.session.rubric.nearest(result.suggested_score)
        self._grade(pane, score, pane.state.draft.format_ok, pane.state.draft.note)

    def action_toggle_format(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        state = pane.state
        state.draft.format_ok = not state.draft.format_ok
        if state.grade is not None:
            self._grade(pane, state.grade.score, state.draft.format_ok, state.draft.note)
        else:
            pane.render_all()

    def action_edit_note(self) -> None:
        pane = self.focused_pane()
        if pane is None or pane.state.answer is None:
            return
        from gradebench.tui.screens.note import NoteScreen

        state = pane.state

        def save(note: str | None) -> None:
            if note is None or note == state.draft.note:
                return
            state.draft.note = note
            if state.grade is not None:
                self._grade(pane, state.grade.score, state.draft.format_ok, note)
            else:
                pane.render_all()
                self.notify("note kept; it is saved with the score")

        self.app.push_screen(NoteScreen(state.draft.note, title=state.label), save)  # type: ignore[attr-defined]

    @staticmethod
    def _disagreement(state) -> str | None:  # PaneState
        from gradebench.engine.grading.triage import disagreement

        if state.grade is None or state.result is None:
            return None
        return disagreement(state.grade.score, state.result.verdict)

    def action_reason(self) -> None:
        if self.rechecking:  # a recheck looks like any problem: the key does nothing
            return
        pane = self.focused_pane()
        if pane is None or pane.state.grade is None:
            return
        how = self._disagreement(pane.state)
        if how is None:
            self.notify("your grade agrees with the tests: nothing to explain")
            return
        from gradebench.tui.screens.reason import ReasonScreen

        state = pane.state

        def chosen(code: str | None) -> None:
            if code is None or state.grade is None:
                return
            self._grade(
                pane,
                state.grade.score,
                state.draft.format_ok,
                state.draft.note,
                {**state.grade.rubric, "reason": code},
            )

        self.app.push_screen(ReasonScreen(state.label, how), chosen)  # type: ignore[attr-defined]

    def action_cycle_code(self) -> None:
        """The next code candidate of the focused answer (the extractor's choice, each
        fenced block, the blocks joined, the unfenced code, the raw answer): its tests run
        at once and the choice is recorded."""
        if self.rechecking:  # a recheck looks like any problem: the key does nothing
            return
        from dataclasses import replace

        from gradebench.engine.answers.candidates import EXTRACTOR
        from gradebench.engine.answers.pipeline import FINISHED_STATUSES
        from gradebench.tui.screens import pane_jobs

        pane = self.focused_pane()
        answer = None if pane is None else pane.state.answer
        if pane is None or answer is None or answer.status not in FINISHED_STATUSES:
            self.notify("no finished answer to take code from", severity="warning")
            return
        known = self.code_choices.get(pane.index)
        if known is None:
            known = (self.pipeline.candidates(self.problem, answer), 0, answer)  # type: ignore[attr-defined]
        candidates, index, original = known
        if len(candidates) < 2:
            self.notify("the extractor's code is the only candidate in this answer")
            return
        index = (index + 1) % len(candidates)
        candidate = candidates[index]
        self.code_choices[pane.index] = (candidates, index, original)
        method = original.extract_method  # type: ignore[attr-defined]
        label = candidate.label  # type: ignore[attr-defined]
        shown = replace(
            original,  # type: ignore[arg-type]
            code=candidate.code,  # type: ignore[attr-defined]
            extract_method=method if label == EXTRACTOR else f"{label}, your choice",
        )
        pane.state.answer = shown
        pane.state.result = None
        pane.state.status = "running tests…"
        pane.render_all()
        self.notify(f"code tested: {label} ({index + 1} of {len(candidates)})")
        self._run_job(
            pane,
            f"test {label}",
            pane_jobs.test_candidate,
            self.problem,
            shown,
            candidate,
            self.session.reviewer,
            method,
        )

    def action_dispute_tests(self) -> None:
        """The problem's tests with this answer's outcome on each; dispute a wrong one."""
        if self.rechecking:  # a recheck looks like any problem: the key does nothing
            return
        from gradebench.tui.screens.problem_tests import ProblemTestsScreen

        pane = self.focused_pane()
        answer = None if pane is None else pane.state.answer
        problem = self.problem
        statuses = None if answer is None else self.records.answer_statuses(answer.generation_id)

        def record(index: int, reason: str | None) -> set[int]:
            mine = self.records.dispute(problem.id, index, reason)  # type: ignore[attr-defined]
            for other in self.panes:  # every pane's verdict without the disputed tests
                state = other.state
                if state.answer is not None and state.result is not None:
                    state.contested = self.records.contested(
                        problem.id,  # type: ignore[attr-defined]
                        state.answer.generation_id,
                    )
                    other.render_all()
            return mine

        mine = self.records.my_disputes(problem.id)  # type: ignore[attr-defined]
        title = pane.state.label if pane is not None else "tests"
        screen = ProblemTestsScreen(title, problem, statuses, mine, record)  # type: ignore[arg-type]
        self.app.push_screen(screen)  # type: ignore[attr-defined]

    def action_history(self) -> None:
        if self.rechecking:  # a recheck looks like any problem: the key does nothing
            return
        pane = self.focused_pane()
        if pane is None or pane.state.answer is None:
            return
        from gradebench.tui.screens.history import HistoryScreen

        events = self.records.history(pane.state.answer.generation_id)
        screen = HistoryScreen(events, self.session.rubric, title=pane.state.label)
        self.app.push_screen(screen)  # type: ignore[attr-defined]

    def action_vote(self, outcome: str) -> None:
        if self.rechecking:  # a recheck looks like any problem: the key does nothing
            return
        panes = self.panes
        answers = [p.state.answer for p in panes]
        if len(panes) != 2 or answers[0] is None or answers[1] is None:
            self.notify("a vote needs two finished answers", severity="warning")
            return
        problem_id = self.session.problems[self.index].id
        self.vote = self.records.record_vote(
            problem_id, answers[0].generation_id, answers[1].generation_id, outcome
        )
        self.update_progress()

    # --- moving between problems ---

    def _go(self, index: int | None, what: str) -> None:
        if index is None:
            self.notify(f"no {what} problem", severity="information")
            return
        self.show_problem(index)

    def action_next_problem(self) -> None:
        problems = self.session.problems
        if self.recheck_return is not None:  # leaving a recheck: on to where the reviewer was
            target = self.recheck_return
            if target < len(problems):
                self.show_problem(target)
            else:
                self.show_problem(target - 1)
            return
        if self.index + 1 >= len(problems):
            self.notify("this is the last problem")
            return
        again = self.records.choose_recheck(
            self.recheck_rate,
            self.recheck_rng,
            leaving=problems[self.index].id,
            going_to=problems[self.index + 1].id,
        )
        if again is not None:
            index = next(i for i, p in enumerate(problems) if p.id == again)
            self.show_problem(index, recheck_return=self.index + 1)
            return
        self.show_problem(self.index + 1)

    def action_previous_problem(self) -> None:
        if self.index > 0:
            self.show_problem(self.index - 1)
        else:
            self.notify("this is the first problem")

    def action_next_ungraded(self) -> None:
        self._go(self.records.next_ungraded(self.index), "ungraded")

    def action_next_failing(self) -> None:
        self._go(self.records.next_failing(self.index), "failing")

    # --- streams ---

    def action_regenerate(self) -> None:
        if self.rechecking:  # a recheck looks like any problem: the key does nothing
            return
        pane = self.focused_pane()
        if pane is None or pane.state.streaming:
            return
        self.start_generation(pane)
        self.refresh_bindings()

    def action_cancel_stream(self) -> None:
        pane = self.focused_pane()
        targets = [pane] if pane is not None and pane.state.streaming else self.panes
        for target in targets:
            if target.state.streaming:
                self.stop_stream(target)
        self.refresh_bindings()

    # --- views ---

    def action_toggle_problem(self) -> None:
        from gradebench.tui.widgets.problem_pane import ProblemPane

        problem = self.query_one(ProblemPane)
        problem.display = not problem.display  # type: ignore[attr-defined]

    def action_help(self) -> None:
        from gradebench.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())  # type: ignore[attr-defined]
