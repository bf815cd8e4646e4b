"""The grading screen: one problem, one pane per contender, scored from the keyboard.

The screen wires keys (``grading_keys``) and worker messages (``gradebench.tui.messages``)
to pane states (``PaneState``), and reads and writes through ``grading_records`` (engine
calls on the UI thread, one short transaction per key press). Answers come from
``AnswerPipeline`` in thread workers, one exclusive group per pane (``pane_jobs``);
a failing job is logged by the one ``on_worker_state_changed`` handler and its pane
says so in one line, naming the log file. (About 420 lines: showing a problem, the blind
hold and rechecks share the pane states and are read best together; the keys and the
engine calls already live in their own modules.)
"""

from __future__ import annotations

import random
from functools import lru_cache, partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from gradebench.engine.answers.pipeline import FINISHED_STATUSES, Answer
from gradebench.engine.errors import log_exception
from gradebench.engine.grading.presentations import Presentation, blind_label
from gradebench.engine.grading.votes import Vote
from gradebench.engine.problems.model import Problem
from gradebench.engine.workflows.look_ahead import LookAhead
from gradebench.tui.messages import (
    AnswerSettled,
    LookAheadProgress,
    PaneMessage,
    ResultReady,
    TokensArrived,
)
from gradebench.tui.screens import pane_jobs
from gradebench.tui.screens.grading_keys import BINDINGS, PALETTE, GradingKeys, score_bindings
from gradebench.tui.screens.grading_records import GradingRecords, LookAheadCounts
from gradebench.tui.widgets.answer_pane import AnswerPane
from gradebench.tui.widgets.key_footer import KeyFooter
from gradebench.tui.widgets.pane_state import PaneState
from gradebench.tui.widgets.problem_pane import ProblemPane

if TYPE_CHECKING:
    from gradebench.engine.answers.pipeline import AnswerPipeline
    from gradebench.engine.grading.rubric import Rubric
    from gradebench.engine.store.sqlite import Database
    from gradebench.engine.workflows.grading_session import GradingSession

__all__ = ["PALETTE", "GradingScreen"]

FLUSH_SECONDS = 0.1
"""How often streamed text reaches the screen (workers batch at ~100 ms too)."""


class GradingScreen(GradingKeys, Screen):
    """Bindings are listed in the footer only while they apply (``check_action``)."""

    BINDINGS: ClassVar[list[Binding]] = BINDINGS

    @classmethod
    def for_rubric(cls, rubric: Rubric) -> type[GradingScreen]:
        """This screen with the score keys labelled by ``rubric``'s levels."""
        return _labelled(cls, tuple(level.label for level in rubric.levels))

    def __init__(
        self,
        session: GradingSession,
        *,
        db: Database,
        pipeline: AnswerPipeline,
        rng: random.Random,
        stable_display: bool = False,
        look_ahead: int = 0,
        recheck_rate: float = 0.0,
        recheck_rng: random.Random | None = None,
    ) -> None:
        super().__init__()
        self.recheck_rate = recheck_rate
        self.recheck_rng = recheck_rng or random.SystemRandom()
        self.code_choices: dict[int, tuple[list, int, Answer]] = {}
        """Per pane: its answer's code candidates, the one tested now, the answer as stored."""
        self.recheck_return: int | None = None
        """While a recheck is shown: the problem ``n`` goes to next (None: no recheck)."""
        self.session = session
        self.db = db
        self.pipeline = pipeline
        self.records = GradingRecords(db, session, rng)
        self.stable_display = stable_display
        self.index = 0
        self.presentation: Presentation | None = None
        self.order: list[int] = []  # pane -> seat index
        self.vote: Vote | None = None
        self.current = 0
        self.jobs: dict[int, tuple[Worker[None], pane_jobs.StopFlag]] = {}
        self._panes: list[AnswerPane] | None = None
        self.look_ahead_depth = look_ahead
        self.look_ahead: LookAhead | None = None
        self.held: dict[int, PaneState] = {}
        """Blind and not revealed: the real states of panes whose answers are not all ready
        yet. They stream and settle off screen and appear together (``_release_held``), so
        no finish order, streaming speed or timing can tell the contenders apart."""

    # --- layout ---

    def compose(self):
        yield Static(id="progress")
        with Horizontal(id="body"):
            yield ProblemPane(id="problem")
            with Horizontal(id="panes"):
                for i in range(len(self.session.seats)):
                    yield AnswerPane(
                        i, rubric=self.session.rubric, stable=self.stable_display, id=f"pane-{i}"
                    )
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        self.index = self.records.resume_index()
        if self.look_ahead_depth > 0:
            self.look_ahead = LookAhead(
                self.pipeline,
                self.session.problems,
                self.session.seats,
                self.look_ahead_depth,
                on_change=lambda: self.post_message(LookAheadProgress()),
                on_error=log_exception,
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

    def on_descendant_focus(self, event) -> None:
        node = event.widget
        while node is not None and not isinstance(node, AnswerPane):
            node = node.parent
        if isinstance(node, AnswerPane):
            self.current = node.index
        self.refresh_bindings()

    # --- showing a problem ---

    @property
    def rechecking(self) -> bool:
        """An already graded problem is shown again, blind (``engine.grading.rechecks``)."""
        return self.recheck_return is not None

    @property
    def blind(self) -> bool:
        return self.session.blind or self.rechecking

    @property
    def hidden(self) -> bool:
        """Blind and not revealed yet: names, speed and timing stay off the screen."""
        return self.blind and (self.presentation is None or not self.presentation.revealed)

    def pane_label(self, pane_index: int) -> str:
        seat = self.session.seats[self.order[pane_index]]
        if not self.blind:
            return seat.name
        letter = blind_label(pane_index)
        if self.presentation is not None and self.presentation.revealed:
            return f"{letter} · {seat.name}"
        return letter

    def show_problem(self, index: int, *, recheck_return: int | None = None) -> None:
        """Show problem ``index``; with ``recheck_return`` as a recheck (blind, its grades
        not shown, new scores kept as rechecks), after which ``n`` goes to that problem."""
        self.cancel_all()
        self.index = index
        self.recheck_return = recheck_return
        self.code_choices = {}
        problem = self.problem
        if self.look_ahead is not None:
            # its jobs on this problem stop: the screen takes it (a recheck keeps the
            # window after the problem the reviewer left)
            self.look_ahead.focus(index if recheck_return is None else recheck_return - 1)
        if recheck_return is None:
            self.presentation, self.vote = self.records.open_problem(problem)
        else:
            self.presentation, self.vote = self.records.recheck_presentation(problem), None
        seat_ids = self.records.seat_ids
        self.order = [seat_ids.index(c) for c in self.presentation.contender_order]
        self.query_one(ProblemPane).show(problem)
        self.held = {}
        states: list[tuple[AnswerPane, PaneState, Answer | None, bool]] = []
        for pane in self.panes:
            pane.hide_timing = self.hidden
            state = PaneState(label=self.pane_label(pane.index))
            answer, result = self.pipeline.stored(problem, self.seat_of(pane))
            if answer is not None:
                look_ahead = self.look_ahead
                prepared = look_ahead is not None and look_ahead.prepared(
                    problem.id, answer.contender_id
                )
                state.settle(answer, prepared=prepared)
                if result is not None:
                    state.show_result(result)
                    state.contested = self.records.contested(problem.id, answer.generation_id)
                if recheck_return is None:
                    state.show_grade(*self.records.grade_of(answer.generation_id))
            rerun = result is None or result.verdict == "inconclusive"  # starved: test again
            states.append((pane, state, answer, answer is not None and rerun))
        if self.hidden and not all(_complete(state) for _pane, state, _a, _t in states):
            self.held = {pane.index: state for pane, state, _a, _t in states}
        for pane, state, answer, needs_tests in states:
            pane.show(self._placeholder(pane) if pane.index in self.held else state)
            if answer is None:
                self.start_generation(pane, follow=True)
            elif needs_tests:
                self.start_tests(pane, answer)
        self.current = 0  # each problem starts on its first pane
        if self.is_mounted:
            self.panes[0].focus()
        self.update_progress()
        self.refresh_bindings()

    # --- pane jobs (thread workers, one exclusive group per pane) ---

    def _run_job(self, pane: AnswerPane, name: str, work, *args) -> None:
        stop = pane_jobs.StopFlag()
        worker = self.run_worker(
            lambda: work(self.post_message, pane.index, self.pipeline, *args, stop),
            name=name,
            group=f"pane-{pane.index}",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )
        self.jobs[pane.index] = (worker, stop)

    # --- blind hold: nothing streams or settles visibly before every answer is ready ---

    def state_of(self, pane: AnswerPane) -> PaneState:
        """The pane's real state: held off screen in blind mode, else the shown one."""
        return self.held.get(pane.index, pane.state)

    def _placeholder(self, pane: AnswerPane) -> PaneState:
        state = PaneState(label=self.pane_label(pane.index), phase="waiting")
        state.status = "blind: the answers appear together once all are ready…"
        return state

    def _present(self, pane: AnswerPane) -> None:
        """Show the pane's new state, or (held) show every held pane once all are ready."""
        if pane.index not in self.held:
            pane.show()
            return
        if all(_complete(state) for state in self.held.values()):
            held, self.held = self.held, {}
            for index, state in held.items():
                self.panes[index].show(state)
            self.refresh_bindings()

    def start_generation(self, pane: AnswerPane, *, follow: bool = False) -> None:
        """Stream the pane's answer. ``follow``: the problem was just opened, so an answer
        look-ahead is making is followed, not started again (``r`` always starts anew)."""
        if self.hidden and pane.index not in self.held:
            self.held[pane.index] = PaneState(label=self.pane_label(pane.index))
            pane.show(self._placeholder(pane))
        self.state_of(pane).start_stream()
        self._present(pane)
        problem, seat = self.problem, self.seat_of(pane)
        name = f"generate {problem.id} / {seat.name}"
        if follow and self.look_ahead is not None:
            self._run_job(pane, name, pane_jobs.follow_or_generate, problem, seat, self.look_ahead)
        else:
            generate = partial(pane_jobs.generate_and_test, regenerate=not follow)
            self._run_job(pane, name, generate, problem, seat)

    def start_tests(self, pane: AnswerPane, answer: Answer) -> None:
        problem = self.problem
        self._run_job(pane, f"test {problem.id}", pane_jobs.run_tests, problem, answer)

    def stop_stream(self, pane: AnswerPane) -> None:
        """Escape: the stream stops at its next token; its answer is kept as cancelled."""
        job = self.jobs.get(pane.index)
        if job is not None:
            job[1].set()
        self.state_of(pane).cancel()
        self._present(pane)

    def cancel_all(self) -> None:
        for worker, _stop in self.jobs.values():
            worker.cancel()
        self.jobs.clear()

    def flush_streams(self) -> None:
        for pane in self.panes:
            pane.flush()

    def _pane_for(self, message: PaneMessage) -> AnswerPane | None:
        job = self.jobs.get(message.pane)
        if job is None or job[0] is not message.worker:
            return None  # from a job that was replaced (another problem, a regenerate)
        return self.panes[message.pane]

    @on(TokensArrived)
    def _tokens(self, message: TokensArrived) -> None:
        pane = self._pane_for(message)
        if pane is None:
            return
        state = self.state_of(pane)
        if state.phase not in ("waiting", "streaming"):
            return
        if pane.index in self.held:
            state.add_text(message.text, message.tokens, message.rate)
        else:
            pane.add_text(message.text, message.tokens, message.rate)

    @on(AnswerSettled)
    def _settled(self, message: AnswerSettled) -> None:
        pane = self._pane_for(message)
        if pane is None:
            return
        self.code_choices.pop(pane.index, None)  # a new answer: its own candidates
        state = self.state_of(pane)
        state.settle(message.answer)
        if message.answer.status == "cancelled":
            state.cancel()
        state.show_grade(*self.records.grade_of(message.answer.generation_id))
        self._present(pane)
        self.refresh_bindings()

    @on(ResultReady)
    def _result(self, message: ResultReady) -> None:
        pane = self._pane_for(message)
        if pane is not None:
            state = self.state_of(pane)
            state.show_result(message.result)
            if state.answer is not None:
                state.contested = self.records.contested(
                    self.problem.id, state.answer.generation_id
                )
            self._present(pane)
            self.refresh_bindings()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a job's failure lands: logged with its traceback, the pane marked."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        assert error is not None
        message = log_exception(event.worker.name, error)
        for index, (worker, _stop) in list(self.jobs.items()):
            if worker is event.worker:
                pane = self.panes[index]
                self.state_of(pane).fail(f"error: {message}")
                self._present(pane)
                self.refresh_bindings()

    # --- header and grades ---

    @on(LookAheadProgress)
    def _look_ahead_progress(self) -> None:
        self.update_progress()

    def update_progress(self) -> None:
        counts = None
        if self.look_ahead is not None:
            status = self.look_ahead.status()
            counts = LookAheadCounts(status.ready, status.preparing, status.depth)
        header = self.records.header(self.index, self.presentation, self.vote, counts)
        self.query_one("#progress", Static).update(header)

    def after_grade(self, bindings_changed: bool = True) -> None:
        """Header, reveal, and the footer only when a key's availability changed (the
        first grade enables ``h``): a footer refresh rebuilds all its keys."""
        if (
            self.hidden
            and self.presentation is not None
            and all(p.state.grade is not None for p in self.panes)
        ):
            self.presentation = self.records.reveal(self.presentation)
            bindings_changed = True
            for pane in self.panes:
                pane.hide_timing = False
                pane.state.label = self.pane_label(pane.index)
                pane.render_all()
        self.update_progress()
        if bindings_changed:
            self.refresh_bindings()

    def on_unmount(self) -> None:
        self.cancel_all()
        if self.look_ahead is not None:
            self.look_ahead.stop()


def _complete(state: PaneState) -> bool:
    """Nothing more will happen to this pane by itself: its answer and tests are done,
    or it ended without an answer to test (cancelled, failed, an error)."""
    if state.phase in ("failed", "cancelled"):
        return True
    if state.phase != "settled" or state.answer is None:
        return False
    return state.result is not None or state.answer.status not in FINISHED_STATUSES


@lru_cache(maxsize=16)
def _labelled(base: type[GradingScreen], labels: tuple[str, ...]) -> type[GradingScreen]:
    # a subclass whose BINDINGS add the labelled score keys; Textual merges them over
    # the base's (one subclass per set of labels, cached)
    return type(base.__name__, (base,), {"BINDINGS": score_bindings(labels)})
