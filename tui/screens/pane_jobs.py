"""What a pane's thread worker does: generate an answer and test it, or only test it.

The grading screen starts these with ``run_worker(thread=True, group="pane-N",
exclusive=True, exit_on_error=False)``: a new job on a pane cancels the one before it.
A job talks to the UI only through the messages of ``gradebench.tui.messages`` and
checks that its worker was not cancelled before each post, so nothing from a replaced
job reaches the pane. An exception is not caught here: it ends the worker in the
``ERROR`` state, and the screen's one ``on_worker_state_changed`` logs it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.message import Message
from textual.worker import Worker, get_current_worker

from gradebench.engine.answers.pipeline import FINISHED_STATUSES, Answer
from gradebench.tui.messages import AnswerSettled, ResultReady, TokensArrived
from gradebench.tui.streaming import TokenBatcher

if TYPE_CHECKING:
    from gradebench.engine.answers.pipeline import AnswerPipeline, Seat
    from gradebench.engine.problems.model import Problem
    from gradebench.engine.workflows.look_ahead import LookAhead

Post = Callable[[Message], object]


class StopFlag(threading.Event):
    """The backend's cancel event for one job: set by Escape (the answer is kept and
    reported as cancelled), and read as set once the worker itself is cancelled (the job
    was replaced: nothing more is reported)."""

    def __init__(self) -> None:
        super().__init__()
        self.worker: Worker[None] | None = None

    def is_set(self) -> bool:
        worker = self.worker
        return super().is_set() or (worker is not None and worker.is_cancelled)


FOLLOW_POLL_SECONDS = 0.25
"""How often a pane following another process's stream reads the stored text."""
QUIET_POLL_SECONDS = 0.5
"""How often a pane waiting to rerun a starved test run checks that generation ended."""
RESULT_GRACE_SECONDS = 10.0
"""How long a followed answer's pane waits for the other process's test result before
running the tests itself."""


def _pane_batcher(post: Post, pane: int, worker: Worker[None]) -> TokenBatcher:
    """Streamed text for the pane, in batches, as long as its job is not replaced."""

    def emit(text: str, tokens: int, rate: float | None) -> None:
        if not worker.is_cancelled:
            post(TokensArrived(pane, worker, text, tokens, rate))

    return TokenBatcher(emit)


def generate_and_test(
    post: Post,
    pane: int,
    pipeline: AnswerPipeline,
    problem: Problem,
    seat: Seat,
    stop: StopFlag,
    regenerate: bool = True,
) -> None:
    """Stream a new answer into the pane, then run its tests. ``regenerate`` (``r``)
    replaces the current answer whatever it is; otherwise (the problem was just opened) a
    stream another live process is making is followed instead (``follow_stored``)."""
    from gradebench.engine.answers.recording import AlreadyGenerated

    worker = get_current_worker()
    stop.worker = worker

    batcher = _pane_batcher(post, pane, worker)
    try:
        answer = pipeline.generate(problem, seat, batcher.add, stop, regenerate=regenerate)
    except AlreadyGenerated:  # another process holds (or just finished) this answer
        follow_stored(post, pane, pipeline, problem, seat, stop)
        return
    batcher.flush()
    if worker.is_cancelled:
        return
    post(AnswerSettled(pane, worker, answer))
    if answer.status in FINISHED_STATUSES and not stop.is_set():
        run_tests(post, pane, pipeline, problem, answer, stop)


def follow_stored(
    post: Post,
    pane: int,
    pipeline: AnswerPipeline,
    problem: Problem,
    seat: Seat,
    stop: StopFlag,
) -> None:
    """Show an answer another process is streaming, as its stored text grows; settle it
    when it ends (with that process's test result, or tests run here if none comes), and
    take it over (generate it here) if that process dies first. Escape stops following;
    the other process's stream goes on."""
    worker = get_current_worker()
    stop.worker = worker

    batcher = _pane_batcher(post, pane, worker)
    shown = 0
    while True:
        answer = pipeline.current(problem, seat)
        if worker.is_cancelled or stop.is_set():
            return
        if answer is None or (
            answer.status == "streaming" and not pipeline.claim_alive(answer.generation_id)
        ):  # the other process died (or its row is gone): make the answer here
            generate_and_test(post, pane, pipeline, problem, seat, stop, regenerate=False)
            return
        if len(answer.raw_answer) > shown:
            batcher.add(answer.raw_answer[shown:])
            shown = len(answer.raw_answer)
        if answer.status != "streaming":
            break
        batcher.flush()
        time.sleep(FOLLOW_POLL_SECONDS)
    batcher.flush()
    if answer.status not in FINISHED_STATUSES:  # cut off elsewhere: make it here
        generate_and_test(post, pane, pipeline, problem, seat, stop, regenerate=False)
        return
    post(AnswerSettled(pane, worker, answer))
    deadline = time.monotonic() + RESULT_GRACE_SECONDS
    while True:
        _answer, result = pipeline.stored(problem, seat)
        if worker.is_cancelled:
            return
        if result is not None:
            post(ResultReady(pane, worker, result))
            return
        if time.monotonic() > deadline:
            run_tests(post, pane, pipeline, problem, answer, stop)
            return
        time.sleep(FOLLOW_POLL_SECONDS)


def follow_or_generate(
    post: Post,
    pane: int,
    pipeline: AnswerPipeline,
    problem: Problem,
    seat: Seat,
    look_ahead: LookAhead,
    stop: StopFlag,
) -> None:
    """The answer of a problem just opened: when look-ahead is making it, follow that job
    (it now runs at screen priority) instead of starting again; else generate it."""
    worker = get_current_worker()
    stop.worker = worker

    batcher = _pane_batcher(post, pane, worker)
    following = look_ahead.follow(problem.id, seat.contender_id, batcher.add)
    if following is None:
        answer, result = pipeline.stored(problem, seat)
        if answer is None:
            generate_and_test(post, pane, pipeline, problem, seat, stop, regenerate=False)
            return
        if not worker.is_cancelled:
            post(AnswerSettled(pane, worker, answer))
        if result is None:
            run_tests(post, pane, pipeline, problem, answer, stop)
        elif not worker.is_cancelled:
            post(ResultReady(pane, worker, result))
        return
    if following.text_so_far:
        batcher.emit(following.text_so_far, 0, None)
    while not following.finished.wait(0.05):
        if worker.is_cancelled:
            return  # another problem was opened: look-ahead decides about the job
        if stop.is_set():
            following.cancel.set()  # Escape: the job stops at its next token
    batcher.flush()
    if worker.is_cancelled:
        return
    answer = pipeline.current(problem, seat)
    if answer is None:  # the job ended before it wrote a row: generate here
        generate_and_test(post, pane, pipeline, problem, seat, stop, regenerate=False)
        return
    post(AnswerSettled(pane, worker, answer))
    if answer.status in FINISHED_STATUSES and not stop.is_set():
        _answer, result = pipeline.stored(problem, seat)
        if result is None:
            run_tests(post, pane, pipeline, problem, answer, stop)
        elif not worker.is_cancelled:
            post(ResultReady(pane, worker, result))


def run_tests(
    post: Post,
    pane: int,
    pipeline: AnswerPipeline,
    problem: Problem,
    answer: Answer,
    stop: StopFlag,
) -> None:
    """Run the tests of a settled answer. A run starved by the generations beside it
    (verdict ``inconclusive``) is shown, then run again once no generation of this
    process is running (the streams on screen and look-ahead have ended)."""
    from gradebench.engine.generation.thread_budget import threads_generating

    worker = get_current_worker()
    stop.worker = worker
    result = pipeline.evaluate(problem, answer)
    if worker.is_cancelled:
        return
    post(ResultReady(pane, worker, result))
    if result.verdict != "inconclusive":
        return
    while threads_generating() > 0:
        if worker.is_cancelled:
            return
        time.sleep(QUIET_POLL_SECONDS)
    result = pipeline.evaluate(problem, answer)
    if not worker.is_cancelled:
        post(ResultReady(pane, worker, result))


def test_candidate(
    post: Post,
    pane: int,
    pipeline: AnswerPipeline,
    problem: Problem,
    answer: Answer,
    candidate: object,
    reviewer: str,
    extract_method: str | None,
    stop: StopFlag,
) -> None:
    """Run the tests on the code candidate the reviewer chose (``c``) and record the choice
    (``engine.grading.extraction_audit``)."""
    from gradebench.engine.grading.extraction_audit import record_extraction_choice

    worker = get_current_worker()
    stop.worker = worker
    result, execution_id = pipeline.evaluate_code(problem, answer, candidate.code)  # type: ignore[attr-defined]
    record_extraction_choice(
        pipeline.db,
        generation_id=answer.generation_id,
        reviewer=reviewer,
        candidate=candidate,  # type: ignore[arg-type]
        extract_method=extract_method,
        execution_id=execution_id,
        verdict=result.verdict,
        run_id=pipeline.run_id,
    )
    if not worker.is_cancelled:
        post(ResultReady(pane, worker, result))
