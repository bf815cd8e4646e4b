"""Look-ahead: the answers of the next problems are generated and tested while the
reviewer grades the current one.

``LookAhead`` follows the reviewer's position (``focus(index)``) in the session's
problem order (its filter's order) and prepares the next ``depth`` problems, nearest
first, one job per (problem, contender). Jobs are ordinary batch jobs
(``gradebench.engine.workflows.batch.run_job``): the same rows, the same resume rules
as ``gradebench generate`` (a finished or failed answer is kept, a cancelled or
interrupted one is redone, a row another live process streams is left to it and taken
over if that process dies), so quitting loses
nothing and the next session picks the answers up. Its threads take leases at
``LOOK_AHEAD`` priority, so the problem on screen takes the threads at the next token
and look-ahead pauses until the screen is done. A job on a problem that leaves the
window because the reviewer went elsewhere is cancelled; a job on the problem the
reviewer *opens* is kept and raised to screen priority, and the screen follows its text
(``follow``) instead of starting the answer again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gradebench.engine.answers.pipeline import ensure_problem_row
from gradebench.engine.answers.recording import FINISHED, current_generation
from gradebench.engine.errors import UserError
from gradebench.engine.generation.contender_rows import RegisteredContender
from gradebench.engine.generation.thread_budget import LOOK_AHEAD, SCREEN, Work, running_as
from gradebench.engine.store.executions import has_execution
from gradebench.engine.store.generations import claim_alive
from gradebench.engine.workflows.batch import KEEP, Job, run_job

if TYPE_CHECKING:
    from gradebench.engine.answers.pipeline import AnswerPipeline, Seat
    from gradebench.engine.config import Config
    from gradebench.engine.problems.model import Problem
    from gradebench.engine.store.sqlite import Database

DEFAULT_DEPTH = 2
"""Problems prepared ahead by default (see the README's look-ahead figures)."""


def look_ahead_depth(config: Config) -> int:
    """``[grading] look_ahead``: how many next problems to prepare (0 turns it off)."""
    value = config.section("grading").get("look_ahead", DEFAULT_DEPTH)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"[grading] look_ahead: a whole number >= 0 is needed (got {value!r})")
    return value


@dataclass(eq=False)
class RunningJob:
    """One look-ahead answer being made: its cancel event, its thread priority, the text
    so far and whoever follows it (the screen, once the reviewer opens the problem)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    work: Work = field(default_factory=lambda: Work(LOOK_AHEAD))
    finished: threading.Event = field(default_factory=threading.Event)
    pieces: list[str] = field(default_factory=list)
    listeners: list[Callable[[str], None]] = field(default_factory=list)


@dataclass(frozen=True)
class Following:
    """The screen's view of a look-ahead job it adopted: the text streamed before it
    looked, an event set when the job ends (answer stored and tested, or not), and the
    job's cancel event (Escape)."""

    text_so_far: str
    finished: threading.Event
    cancel: threading.Event


@dataclass(frozen=True)
class LookAheadStatus:
    """Of the next ``depth`` problems: how many are ready (every answer finished and
    tested) and how many are being prepared right now."""

    ready: int
    preparing: int
    depth: int


class LookAhead:
    """Background preparation of the next problems; see the module docstring."""

    def __init__(
        self,
        pipeline: AnswerPipeline,
        problems: Sequence[Problem],
        seats: Sequence[Seat],
        depth: int,
        *,
        on_change: Callable[[], None] | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
        workers: int | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.problems = list(problems)
        self.seats = list(seats)
        self.depth = depth
        self.on_change = on_change
        self.on_error = on_error
        """Told of a job that raised (it is not retried this session; the screen redoes it)."""
        self._lock = threading.Condition()
        self._window: list[int] = []
        self._running: dict[tuple[str, str], RunningJob] = {}
        self._prepared: set[tuple[str, str]] = set()
        self._done: set[tuple[str, str]] = set()
        self._elsewhere: set[tuple[str, str]] = set()
        """Pairs another live process (another reviewer's app, a ``generate``) is making:
        looked at again on every pass, taken over if that process dies."""
        self._stopped = False
        count = workers if workers is not None else len(self.seats)
        self._threads = [
            threading.Thread(target=self._work, name=f"look-ahead-{i}", daemon=True)
            for i in range(count if depth > 0 else 0)
        ]
        for thread in self._threads:
            thread.start()

    # --- the reviewer's side ---

    def focus(self, index: int) -> None:
        """The reviewer is on problem ``index``: prepare the ``depth`` after it. Jobs on
        problem ``index`` itself go on at screen priority (``follow`` shows them)."""
        with self._lock:
            self._window = list(range(index + 1, min(index + 1 + self.depth, len(self.problems))))
            wanted = {self.problems[i].id for i in self._window}
            on_screen = self.problems[index].id if 0 <= index < len(self.problems) else None
            for (problem_id, _seat), job in self._running.items():
                if problem_id == on_screen:
                    job.work.raise_to(SCREEN)
                elif problem_id not in wanted:
                    job.cancel.set()
            self._lock.notify_all()

    def follow(
        self, problem_id: str, contender_id: str, on_text: Callable[[str], None]
    ) -> Following | None:
        """Adopt the running job of this pair, if any: ``on_text`` gets every later chunk."""
        with self._lock:
            job = self._running.get((problem_id, contender_id))
            if job is None or job.cancel.is_set():
                return None
            job.listeners.append(on_text)
            return Following("".join(job.pieces), job.finished, job.cancel)

    def prepared(self, problem_id: str, contender_id: str) -> bool:
        """The answer on record was made by look-ahead in this session."""
        with self._lock:
            return (problem_id, contender_id) in self._prepared

    def status(self) -> LookAheadStatus:
        with self._lock:
            window = [self.problems[i].id for i in self._window]
            running = {p for p, _ in self._running} | {p for p, _ in self._elsewhere}
            done = set(self._done)
        ready = sum(1 for p in window if all((p, s.contender_id) in done for s in self.seats))
        return LookAheadStatus(ready, sum(1 for p in window if p in running), self.depth)

    def stop(self) -> None:
        """Cancel the running jobs (their rows end ``cancelled``, redone next time) and wait."""
        with self._lock:
            self._stopped = True
            for job in self._running.values():
                job.cancel.set()
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)

    # --- the workers ---

    def _next_job(self, db: Database) -> tuple[Problem, Seat, RunningJob] | None:
        """The nearest (problem, seat) of the window that needs work; ``None`` if none."""
        for index in self._window:
            problem = self.problems[index]
            for seat in self.seats:
                key = (problem.id, seat.contender_id)
                if key in self._running or key in self._done:
                    continue
                settled = self._settled(db, problem, seat)
                if settled is None:
                    self._elsewhere.add(key)
                    continue
                self._elsewhere.discard(key)
                if settled:
                    self._done.add(key)
                    continue
                job = RunningJob()
                self._running[key] = job
                return problem, seat, job
        return None

    def _settled(self, db: Database, problem: Problem, seat: Seat) -> bool | None:
        """True: nothing to do; False: work to do; None: another live process is making it."""
        row = current_generation(db, problem.id, seat.contender_id)
        if row is None:
            return False
        if row["status"] == "streaming":
            if row["run_id"] == self.pipeline.run_id:
                return True  # this session's own stream (the screen's)
            return None if claim_alive(db, row["id"]) else False  # dead: taken over
        if row["status"] not in KEEP:
            return False
        if row["status"] in FINISHED:
            return has_execution(db, row["id"])
        return True  # a kept error

    def _work(self) -> None:
        db = self.pipeline.db  # this thread's own connection
        while True:
            with self._lock:
                job = None
                while not self._stopped:
                    job = self._next_job(db)
                    if job is not None:
                        break
                    self._lock.wait(0.5)
                if self._stopped:
                    return
            assert job is not None
            problem, seat, running = job
            key = (problem.id, seat.contender_id)
            made = False
            try:
                with running_as(running.work):
                    made = self._prepare(db, problem, seat, running)
            except Exception as exc:  # one job's failure never stops look-ahead
                if self.on_error is not None:
                    self.on_error(f"look-ahead {problem.id} / {seat.name}", exc)
            finally:
                with self._lock:
                    self._running.pop(key, None)
                    if not running.cancel.is_set():
                        self._done.add(key)
                        if made and not running.listeners:
                            self._prepared.add(key)
                running.finished.set()
            if self.on_change is not None:
                self.on_change()

    def _prepare(self, db: Database, problem: Problem, seat: Seat, running: RunningJob) -> bool:
        """Generate (unless answered) and test one answer; True if look-ahead made it."""
        if self.on_change is not None:
            self.on_change()
        ensure_problem_row(db, problem)
        row = current_generation(db, problem.id, seat.contender_id)
        if row is not None and row["status"] in FINISHED:
            answer, result = self.pipeline.stored(problem, seat)
            if answer is not None and result is None:
                self.pipeline.evaluate(problem, answer)
            return False
        registered = RegisteredContender(
            seat.contender_id, seat.contender, "", seat.prompt_template_text
        )
        job = Job(problem, registered, 0, self.pipeline.user_message(problem, seat))

        def on_text(_job: Job, chunk: str) -> None:
            with self._lock:
                running.pieces.append(chunk)
                listeners = list(running.listeners)
            for listener in listeners:
                listener(chunk)

        outcome = run_job(
            db,
            self.pipeline.backend,
            job,
            self.pipeline.run_id,
            running.cancel,
            self._evaluate,
            1.0,
            on_text,
        )
        return not outcome.skipped and outcome.result is not None

    def _evaluate(self, db: Database, problem: Problem, generation_id: str, code: str) -> str:
        from gradebench.engine.evaluation.execution import save_execution

        execution = self.pipeline.evaluator.evaluate(problem, code)
        save_execution(db, execution, problem_id=problem.id, generation_id=generation_id)
        return execution.verdict
