"""The grading screen: one problem, one pane per contender, scored from the keyboard.

The screen only wires keys and messages to the engine: answers come from
``gradebench.engine.answers.pipeline.AnswerPipeline`` in thread workers (which talk back through the
message classes below, tokens batched every ~40 ms), and every grade, vote and
presentation is written through ``gradebench.engine.grading.events`` on the UI thread, one short
transaction per key press.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from gradebench.engine.answers.pipeline import FINISHED_STATUSES, Answer, TestResult
from gradebench.engine.grading import events as grading
from gradebench.engine.problems.model import Problem
from gradebench.tui.streaming import TokenBatcher
from gradebench.tui.widgets.answer_pane import AnswerPane
from gradebench.tui.widgets.problem_pane import ProblemPane

if TYPE_CHECKING:
    from gradebench.engine.answers.pipeline import AnswerPipeline
    from gradebench.engine.store.sqlite import Database
    from gradebench.engine.workflows.grading_session import GradingSession


# --- messages from pane workers ------------------------------------------------


@dataclass
class PaneMessage(Message):
    pane: int
    serial: int


@dataclass
class TokensArrived(PaneMessage):
    text: str
    tokens: int
    rate: float | None


@dataclass
class AnswerSettled(PaneMessage):
    answer: Answer


@dataclass
class ResultReady(PaneMessage):
    result: TestResult


@dataclass
class PaneFailed(PaneMessage):
    error: str


FLUSH_SECONDS = 0.1
"""How often streamed text reaches the screen (workers batch at ~40 ms too)."""

PALETTE: tuple[tuple[str, str, str], ...] = (
    ("accept", "Accept suggested", "a: take the score the tests suggest"),
    ("toggle_format", "Toggle format flag", "f: followed the requested format yes/no"),
    ("edit_note", "Edit note", "e: free-text note on the focused answer"),
    ("history", "Grade history", "h: every grade event of the focused answer"),
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
PANE_ACTIONS = {"score", "accept", "toggle_format", "edit_note", "history"}
VOTE_KEYS = {"a": "left_square_bracket", "b": "right_square_bracket", "tie": "equals_sign"}


class GradingScreen(Screen):
    """Bindings are listed in the footer only while they apply (``check_action``)."""

    BINDINGS: ClassVar[list[Binding]] = [
        # score keys first so the footer shows them first; labels come from the rubric
        *[Binding(str(n), f"score({n - 1})", f"score {n}") for n in range(1, 10)],
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
        Binding("t", "toggle_problem", "problem pane", show=False),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("tab", "focus_pane(1)", "next pane", show=False),
        Binding("shift+tab", "focus_pane(-1)", "prev pane", show=False),
        Binding("right", "focus_pane(1)", "next pane", show=False),
        Binding("left", "focus_pane(-1)", "prev pane", show=False),
    ]

    def __init__(
        self,
        session: GradingSession,
        *,
        db: Database,
        pipeline: AnswerPipeline,
        rng: random.Random,
        stable_display: bool = False,
    ) -> None:
        super().__init__()
        self.session = session
        self.db = db
        self.pipeline = pipeline
        self.rng = rng
        self.stable_display = stable_display
        self.index = 0
        self.presentation: grading.Presentation | None = None
        self.order: list[int] = []  # pane -> seat index
        self.serials = [0] * len(session.seats)
        self.cancels: list[threading.Event] = [threading.Event() for _ in session.seats]
        self.vote: grading.Vote | None = None
        self.current = 0
        self._panes: list[AnswerPane] | None = None
        for level, score in enumerate(session.rubric.levels):
            # the footer shows the rubric's own labels on the score keys
            key = str(level + 1)
            self._bindings.key_to_bindings[key] = [Binding(key, f"score({level})", score.label)]

    # --- layout ---

    def compose(self):
        yield Static(id="progress")
        with Horizontal(id="body"):
            yield ProblemPane(id="problem")
            with Horizontal(id="panes"):
                for i in range(len(self.session.seats)):
                    yield AnswerPane(i, rubric=self.session.rubric, id=f"pane-{i}")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for pane in self.panes:
            pane.stable = self.stable_display
        self.index = grading.resume_index(
            self.db,
            self.session.reviewer,
            self.session.suite,
            [p.id for p in self.session.problems],
            [s.contender_id for s in self.session.seats],
        )
        # one repaint of all streaming panes per tick, whatever the token rate
        self.set_interval(FLUSH_SECONDS, self.flush_streams)
        if self.session.problems:
            self.show_problem(self.index)
        self.panes[0].focus()

    @property
    def panes(self) -> list[AnswerPane]:
        if self._panes is None:
            self._panes = list(self.query(AnswerPane))
        return self._panes

    @property
    def problem(self) -> Problem:
        return self.session.problems[self.index]

    def focused_pane(self) -> AnswerPane | None:
        """The pane the keys act on: set at once by the focus keys (``focus()`` is deferred,
        so a score typed right after Tab must not land on the previous pane)."""
        panes = self.panes
        return panes[self.current] if 0 <= self.current < len(panes) else None

    def seat_of(self, pane: AnswerPane):
        return self.session.seats[self.order[pane.index]]

    # --- showing a problem ---

    def pane_label(self, pane_index: int) -> str:
        seat = self.session.seats[self.order[pane_index]]
        if not self.session.blind:
            return seat.name
        letter = grading.blind_label(pane_index)
        if self.presentation is not None and self.presentation.revealed:
            return f"{letter} · {seat.name}"
        return letter

    def show_problem(self, index: int) -> None:
        self.cancel_all()
        self.index = index
        problem = self.problem
        db = self.db
        grading.save_position(db, self.session.reviewer, self.session.suite, problem.id)
        from gradebench.engine.answers.pipeline import ensure_problem_row

        ensure_problem_row(db, problem)
        seat_ids = [s.contender_id for s in self.session.seats]
        self.presentation = grading.present(
            db,
            problem_id=problem.id,
            reviewer=self.session.reviewer,
            contender_ids=seat_ids,
            blind=self.session.blind,
            run_id=self.session.run_id,
            rng=self.rng,
        )
        self.order = [seat_ids.index(c) for c in self.presentation.contender_order]
        self.vote = grading.current_vote(db, problem.id, self.session.reviewer)
        self.query_one(ProblemPane).show(problem)
        for pane in self.panes:
            self.serials[pane.index] += 1
            pane.reset(self.pane_label(pane.index))
            seat = self.seat_of(pane)
            answer, result = self.pipeline.stored(problem, seat)
            if answer is None:
                self.start_generation(pane)
                continue
            pane.settle(answer)
            self.load_grade(pane)
            if result is None:
                self.start_evaluation(pane, answer)
            else:
                pane.show_result(result)
        self.current = 0  # each problem starts on its first pane
        if self.is_mounted:
            self.panes[0].focus()
        self.update_progress()
        self.refresh_bindings()

    def load_grade(self, pane: AnswerPane) -> None:
        if pane.answer is None:
            pane.show_grade(None, 0)
            return
        history = grading.grade_history(self.db, pane.answer.generation_id, self.session.reviewer)
        current = grading.current_grade(self.db, pane.answer.generation_id, self.session.reviewer)
        pane.show_grade(current, len(history))

    # --- workers ---

    def start_generation(self, pane: AnswerPane) -> None:
        i = pane.index
        cancel = threading.Event()
        self.cancels[i] = cancel
        serial = self.serials[i]
        problem, seat = self.problem, self.seat_of(pane)
        pane.start_stream()

        def work() -> None:
            batcher = TokenBatcher(
                lambda text, tokens, rate: self.post_message(
                    TokensArrived(i, serial, text, tokens, rate)
                )
            )
            try:
                answer = self.pipeline.generate(problem, seat, batcher.add, cancel)
                batcher.flush()
                self.post_message(AnswerSettled(i, serial, answer))
                if answer.status in FINISHED_STATUSES and not cancel.is_set():
                    result = self.pipeline.evaluate(problem, answer)
                    self.post_message(ResultReady(i, serial, result))
            except Exception as exc:
                self.post_message(PaneFailed(i, serial, f"{type(exc).__name__}: {exc}"))

        self.run_worker(work, thread=True, group=f"pane-{i}", exit_on_error=False)

    def start_evaluation(self, pane: AnswerPane, answer: Answer) -> None:
        i, serial, problem = pane.index, self.serials[pane.index], self.problem

        def work() -> None:
            try:
                self.post_message(ResultReady(i, serial, self.pipeline.evaluate(problem, answer)))
            except Exception as exc:
                self.post_message(PaneFailed(i, serial, f"{type(exc).__name__}: {exc}"))

        self.run_worker(work, thread=True, group=f"eval-{i}", exit_on_error=False)

    def flush_streams(self) -> None:
        for pane in self.panes:
            pane.flush()

    def cancel_all(self) -> None:
        for event in self.cancels:
            event.set()

    def _current(self, message: PaneMessage) -> AnswerPane | None:
        if message.serial != self.serials[message.pane]:
            return None  # from a problem no longer shown
        return self.panes[message.pane]

    @on(TokensArrived)
    def _tokens(self, message: TokensArrived) -> None:
        pane = self._current(message)
        if pane is not None and pane.streaming:
            pane.add_text(message.text, message.tokens, message.rate)

    @on(AnswerSettled)
    def _settled(self, message: AnswerSettled) -> None:
        pane = self._current(message)
        if pane is None:
            return
        pane.settle(message.answer)
        if message.answer.followed_format is not None and pane.draft.format_ok is None:
            pane.draft.format_ok = message.answer.followed_format
        self.load_grade(pane)
        self.refresh_bindings()

    @on(ResultReady)
    def _result(self, message: ResultReady) -> None:
        pane = self._current(message)
        if pane is not None:
            pane.show_result(message.result)
            self.refresh_bindings()

    @on(PaneFailed)
    def _failed(self, message: PaneFailed) -> None:
        pane = self._current(message)
        if pane is not None:
            pane.stop_stream(f"error: {message.error}")
            self.refresh_bindings()

    # --- header ---

    def update_progress(self) -> None:
        session = self.session
        seat_ids = [s.contender_id for s in session.seats]
        problem_ids = [p.id for p in session.problems]
        statuses = grading.problem_statuses(self.db, session.reviewer, problem_ids, seat_ids)
        graded = sum(1 for s in statuses.values() if s.graded(seat_ids))
        counted = problem_ids
        if session.blind and self.presentation is not None and not self.presentation.revealed:
            # the running summary must not tell which hidden pane was just graded
            counted = [p for p in problem_ids if p != self.problem.id]
        summary = grading.reviewer_summary(self.db, session.reviewer, counted, seat_ids)
        mode = "blind" if session.blind else "open"
        first = (
            f"[b]{self.problem.suite}[/b]  problem [b]{self.index + 1}[/b] of {len(problem_ids)}  ·  "
            f"graded {graded}/{len(problem_ids)}  ·  reviewer [b]{session.reviewer}[/b] ({mode})"
        )
        parts = []
        for seat in session.seats:
            s = summary[seat.contender_id]
            mean = "-" if s.mean_score is None else f"{s.mean_score:.2f}"
            parts.append(f"{seat.name}: {s.graded} graded, mean {mean}, {s.correct} correct")
        vote = f"  ·  vote: {self.vote.outcome}" if self.vote else ""
        self.query_one("#progress", Static).update(first + vote + "\n" + "  |  ".join(parts))

    # --- actions ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "score" and parameters:
            rubric = self.session.rubric
            index = int(parameters[0])  # type: ignore[arg-type]
            if index >= len(rubric.levels):
                return False
        if action in PANE_ACTIONS or action == "score":
            pane = self.focused_pane()
            if pane is None or pane.answer is None:
                return None
            if action == "accept" and (pane.result is None or pane.result.suggested_score is None):
                return None
            if action == "toggle_format" and not self.session.rubric.format_flag:
                return False
            if action == "history" and pane.history_count == 0:
                return None
        if action == "vote":
            if len(self.order) != 2:
                return False
            if any(p.answer is None for p in self.panes):
                return None
        if action == "cancel_stream" and not any(p.streaming for p in self.panes):
            return None
        if action == "regenerate":
            pane = self.focused_pane()
            if pane is None or pane.streaming:
                return None
        return True

    def action_focus_pane(self, step: int) -> None:
        panes = self.panes
        self.current = (self.current + step) % len(panes)
        panes[self.current].focus()
        self.refresh_bindings()

    def on_descendant_focus(self, event) -> None:
        node = event.widget
        while node is not None and not isinstance(node, AnswerPane):
            node = node.parent
        if isinstance(node, AnswerPane):
            self.current = node.index
        self.refresh_bindings()

    def _grade(
        self,
        pane: AnswerPane,
        score: float,
        format_ok: bool | None,
        note: str,
    ) -> None:
        if pane.answer is None:
            self.notify("no answer to grade yet", severity="warning")
            return
        event = grading.record_grade(
            self.db,
            generation_id=pane.answer.generation_id,
            reviewer=self.session.reviewer,
            score=score,
            format_ok=format_ok,
            note=note,
            suggested_score=pane.result.suggested_score if pane.result else None,
            blind=self.session.blind,
            run_id=self.session.run_id,
        )
        first_grade = pane.history_count == 0
        pane.show_grade(event, pane.history_count + 1)
        self.after_grade(bindings_changed=first_grade)

    def after_grade(self, bindings_changed: bool = True) -> None:
        """Header, reveal, and the footer only when a key's availability changed (the
        first grade enables ``h``): a footer refresh rebuilds all its keys."""
        if (
            self.session.blind
            and self.presentation is not None
            and not self.presentation.revealed
            and all(p.grade is not None for p in self.panes)
        ):
            self.presentation = grading.reveal(self.db, self.presentation)
            bindings_changed = True
            for pane in self.panes:
                pane.label = self.pane_label(pane.index)
                pane.render_all()
        self.update_progress()
        if bindings_changed:
            self.refresh_bindings()

    def action_score(self, level: int) -> None:
        pane = self.focused_pane()
        levels = self.session.rubric.levels
        if pane is None or level >= len(levels):
            return
        self._grade(pane, levels[level].value, pane.draft.format_ok, pane.draft.note)

    def action_accept(self) -> None:
        pane = self.focused_pane()
        if pane is None or pane.result is None or pane.result.suggested_score is None:
            self.notify("no suggested score yet", severity="warning")
            return
        score = self.session.rubric.nearest(pane.result.suggested_score)
        self._grade(pane, score, pane.draft.format_ok, pane.draft.note)

    def action_toggle_format(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        pane.draft.format_ok = not pane.draft.format_ok
        if pane.grade is not None:
            self._grade(pane, pane.grade.score, pane.draft.format_ok, pane.draft.note)
        else:
            pane.render_all()

    def action_edit_note(self) -> None:
        pane = self.focused_pane()
        if pane is None or pane.answer is None:
            return
        from gradebench.tui.screens.note import NoteScreen

        def save(note: str | None) -> None:
            if note is None or note == pane.draft.note:
                return
            pane.draft.note = note
            if pane.grade is not None:
                self._grade(pane, pane.grade.score, pane.draft.format_ok, note)
            else:
                pane.render_all()
                self.notify("note kept; it is saved with the score")

        self.app.push_screen(NoteScreen(pane.draft.note, title=pane.label), save)

    def action_history(self) -> None:
        pane = self.focused_pane()
        if pane is None or pane.answer is None:
            return
        from gradebench.tui.screens.history import HistoryScreen

        events = grading.grade_history(self.db, pane.answer.generation_id)
        self.app.push_screen(HistoryScreen(events, self.session.rubric, title=pane.label))

    def action_vote(self, outcome: str) -> None:
        panes = self.panes
        if len(panes) != 2 or any(p.answer is None for p in panes):
            self.notify("a vote needs two finished answers", severity="warning")
            return
        self.vote = grading.record_vote(
            self.db,
            problem_id=self.problem.id,
            reviewer=self.session.reviewer,
            generation_a=panes[0].answer.generation_id,  # type: ignore[union-attr]
            generation_b=panes[1].answer.generation_id,  # type: ignore[union-attr]
            outcome=outcome,
            blind=self.session.blind,
            run_id=self.session.run_id,
        )
        self.update_progress()

    def _go(self, index: int | None, what: str) -> None:
        if index is None:
            self.notify(f"no {what} problem", severity="information")
            return
        self.show_problem(index)

    def action_next_problem(self) -> None:
        if self.index + 1 < len(self.session.problems):
            self.show_problem(self.index + 1)
        else:
            self.notify("this is the last problem")

    def action_previous_problem(self) -> None:
        if self.index > 0:
            self.show_problem(self.index - 1)
        else:
            self.notify("this is the first problem")

    def _statuses(self) -> dict[str, grading.ProblemStatus]:
        return grading.problem_statuses(
            self.db,
            self.session.reviewer,
            [p.id for p in self.session.problems],
            [s.contender_id for s in self.session.seats],
        )

    def action_next_ungraded(self) -> None:
        statuses = self._statuses()
        seats = [s.contender_id for s in self.session.seats]
        ids = [p.id for p in self.session.problems]
        self._go(
            grading.next_matching(ids, self.index, lambda p: not statuses[p].graded(seats)),
            "ungraded",
        )

    def action_next_failing(self) -> None:
        statuses = self._statuses()
        seats = [s.contender_id for s in self.session.seats]
        ids = [p.id for p in self.session.problems]
        self._go(
            grading.next_matching(ids, self.index, lambda p: statuses[p].failing(seats)),
            "failing",
        )

    def action_regenerate(self) -> None:
        pane = self.focused_pane()
        if pane is None or pane.streaming:
            return
        self.serials[pane.index] += 1
        pane.reset(self.pane_label(pane.index))
        self.start_generation(pane)
        self.refresh_bindings()

    def action_cancel_stream(self) -> None:
        pane = self.focused_pane()
        targets = [pane] if pane is not None and pane.streaming else self.panes
        for target in targets:
            if target.streaming:
                self.cancels[target.index].set()
                target.stop_stream("cancelled (r: regenerate)")
        self.refresh_bindings()

    def action_toggle_problem(self) -> None:
        problem = self.query_one(ProblemPane)
        problem.display = not problem.display

    def action_help(self) -> None:
        from gradebench.tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def on_unmount(self) -> None:
        self.cancel_all()
