"""Headless generation: every (problem, contender, sample) not yet answered, resumable.

``plan_jobs`` lists the work left: a triple is done when its current generation row
is finished (``done``/``max_tokens``) or ended in a real ``error`` (a server contender's
``error`` is a failure of the server or the network, not of the model: it is redone, the
old row kept as superseded); rows a crash or a
Ctrl-C left behind (``streaming`` from a dead process, ``cancelled``) are redone, the
old row kept as superseded. ``run_batch`` runs the jobs on ``parallel`` worker threads
(each with its own database connection; the backend's thread budget shares the
cores among them), streaming every answer into its row (``gradebench.engine.answers.recording``), then
extracts the code and runs the evaluator on each finished answer. Killing the
process at any moment and running again ends with exactly one current answer per
triple. A failure while testing or storing one answer is that answer's ``error``
verdict (``JobOutcome.internal_error``, traceback in the log file), not the batch's
end.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradebench.engine.answers.recording import (
    FINISHED,
    AlreadyGenerated,
    current_generation,
    mark_stale_streaming,
    start_answer,
)
from gradebench.engine.errors import SampleError, log_exception
from gradebench.engine.generation.backend import Backend, GenerationRequest, GenerationResult
from gradebench.engine.generation.contender_rows import RegisteredContender
from gradebench.engine.problems.model import Problem
from gradebench.engine.store.runs import RunHeartbeat, finish_run, start_run

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database

KEEP: tuple[str, ...] = (*FINISHED, "error")

Evaluate = Callable[["Database", Problem, str, str], Any]
"""(db, problem, generation_id, code) -> anything; runs and stores the tests."""


@dataclass(frozen=True)
class Job:
    problem: Problem
    seat: RegisteredContender
    sample_index: int
    user_message: str
    regenerate: bool = False
    """Replace the current row (a server contender's answer that ended in ``error``)."""

    @property
    def label(self) -> str:
        suffix = f"#{self.sample_index}" if self.sample_index else ""
        return f"{self.problem.id} / {self.seat.contender.name}{suffix}"

    def request(self) -> GenerationRequest:
        return GenerationRequest.for_contender(self.seat.contender, self.user_message)


@dataclass(frozen=True)
class JobOutcome:
    job: Job
    generation_id: str | None
    result: GenerationResult | None
    verdict: str | None = None
    skipped: bool = False
    internal_error: str | None = None
    """One line (naming the log file) when gradebench failed while testing or storing
    this answer: its verdict is then ``error`` and the batch went on."""
    code: str | None = None
    """The code its tests ran (to run them again when the first run was starved)."""


@dataclass
class BatchSummary:
    planned: int = 0
    outcomes: list[JobOutcome] = field(default_factory=list)
    stale_closed: int = 0
    interrupted: bool = False
    reruns: int = 0
    """Test runs starved by the generations beside them (``inconclusive``), run again
    once the batch's generations had ended."""

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.result and o.result.stop_reason == status)

    @property
    def tokens(self) -> int:
        return sum(o.result.tokens for o in self.outcomes if o.result)


def ensure_problem_rows(db: Database, problems: list[Problem]) -> None:
    from gradebench.engine.answers.pipeline import ensure_problem_row

    for problem in problems:
        ensure_problem_row(db, problem)


def plan_jobs(
    db: Database,
    problems: list[Problem],
    seats: list[RegisteredContender],
    user_messages: Callable[[Problem, RegisteredContender], str],
    samples: int = 1,
) -> list[Job]:
    """The (problem, contender, sample) triples still to generate, in ``problems``' order.

    The first sample of every problem comes before any further sample: the first
    sample is the answer a reviewer grades, so a batch serves the grading first and
    the extra samples of pass@k after. Rows a dead process left ``streaming`` are
    closed first (and so redone); a row another live process is streaming right now
    is left to it.
    """
    mark_stale_streaming(db)
    jobs: list[Job] = []
    for sample in range(samples):
        for problem in problems:
            for seat in seats:
                row = current_generation(db, problem.id, seat.id, sample)
                redo_error = (
                    row is not None
                    and row["status"] == "error"
                    and not seat.contender.model.is_local
                )
                if row is not None and row["status"] in (*KEEP, "streaming") and not redo_error:
                    continue
                message = user_messages(problem, seat)
                jobs.append(Job(problem, seat, sample, message, regenerate=redo_error))
    return jobs


def default_evaluate(db: Database, problem: Problem, generation_id: str, code: str) -> str:
    """Test and store; a failure of gradebench's on this answer is stored as its
    ``error`` verdict and raised as ``SampleError`` (one line) for the batch to count."""
    from gradebench.engine.evaluation.evaluator import Evaluator
    from gradebench.engine.evaluation.execution import save_execution

    execution = Evaluator(db).evaluate_safely(problem, code)
    save_execution(db, execution, problem_id=problem.id, generation_id=generation_id)
    if execution.internal_error:
        raise SampleError(execution.internal_error)
    return execution.verdict


def run_job(
    db: Database,
    backend: Backend,
    job: Job,
    run_id: str | None,
    cancel: threading.Event,
    evaluate: Evaluate | None,
    flush_seconds: float,
    on_text: Callable[[Job, str], None] | None,
) -> JobOutcome:
    from gradebench.engine.answers.extract import extract_for_problem

    request = job.request()
    try:
        writer = start_answer(
            db,
            problem_id=job.problem.id,
            contender_id=job.seat.id,
            prompt_text=request.prompt_text,
            sample_index=job.sample_index,
            run_id=run_id,
            regenerate=job.regenerate,
            flush_seconds=flush_seconds,
        )
    except AlreadyGenerated:  # another process answered it meanwhile
        return JobOutcome(job, None, None, skipped=True)

    def sink(chunk: str) -> None:
        writer.on_text(chunk)
        if on_text is not None:
            on_text(job, chunk)

    try:
        result = backend.generate(request, sink, cancel)
    except BaseException as exc:  # keep the row honest; it is redone next time
        writer.finish(
            GenerationResult(
                text=writer.text,
                tokens=0,
                stop_reason="cancelled",
                ttft_seconds=None,
                total_seconds=0.0,
                error=f"{type(exc).__name__}: {exc}",
            )
        )
        raise
    extraction = None
    if result.stop_reason in FINISHED:
        extraction = extract_for_problem(result.text, job.problem)
    writer.finish(result, extraction)
    verdict = internal_error = None
    if extraction is not None and evaluate is not None:
        try:
            verdict = evaluate(db, job.problem, writer.generation_id, extraction.code)
        except SampleError as exc:  # already logged, its error verdict stored
            verdict, internal_error = "error", str(exc)
        except Exception as exc:  # testing or storing failed: this answer's error, not the batch's
            verdict, internal_error = "error", log_exception(f"testing {job.label}", exc)
    return JobOutcome(
        job,
        writer.generation_id,
        result,
        verdict=verdict,
        internal_error=internal_error,
        code=None if extraction is None else extraction.code,
    )


def rerun_inconclusive(db: Database, summary: BatchSummary, evaluate: Evaluate) -> None:
    """Test again, now that no generation runs beside them, the answers whose test run
    was starved (verdict ``inconclusive``); the new run is stored and its verdict kept."""
    for position, outcome in enumerate(summary.outcomes):
        if outcome.verdict != "inconclusive" or outcome.generation_id is None:
            continue
        problem, generation_id = outcome.job.problem, outcome.generation_id
        try:
            verdict = evaluate(db, problem, generation_id, outcome.code or "")
            again = replace(outcome, verdict=verdict)
        except SampleError as exc:
            again = replace(outcome, verdict="error", internal_error=str(exc))
        summary.outcomes[position] = again
        summary.reruns += 1


def run_batch(
    db_path: Path,
    backend: Backend,
    jobs: list[Job],
    *,
    suite: str | None = None,
    parallel: int = 1,
    server_parallel: int | None = None,
    cancel: threading.Event | None = None,
    evaluate: Evaluate | None = default_evaluate,
    on_outcome: Callable[[JobOutcome], None] | None = None,
    on_text: Callable[[Job, str], None] | None = None,
    flush_seconds: float = 1.0,
    study_sha256: str | None = None,
    settings: dict[str, Any] | None = None,
) -> BatchSummary:
    """Generate (and evaluate) ``jobs``; Ctrl-C cancels the running answers and re-raises.

    Jobs of local contenders run on ``parallel`` workers (their threads come from the
    backend's budget); jobs of server contenders on ``server_parallel`` workers of their
    own (default: ``parallel``), which take no local threads, so a slow server never holds
    up the local models and the other way round. ``study_sha256`` and ``settings`` go
    into the batch's ``runs`` row (a study's batches name their study file).
    """
    from gradebench.engine.store.database import open_db

    cancel = cancel or threading.Event()
    summary = BatchSummary(planned=len(jobs))
    main_db = open_db(db_path)
    summary.stale_closed = mark_stale_streaming(main_db)
    server_parallel = server_parallel or parallel
    run_id = start_run(
        main_db,
        "generate",
        suite,
        {
            "jobs": len(jobs),
            "parallel": parallel,
            "server_parallel": server_parallel,
            **(settings or {}),
        },
        study_sha256=study_sha256,
    )
    heartbeat = RunHeartbeat(db_path, run_id).start()
    local: queue.SimpleQueue[Job] = queue.SimpleQueue()
    served: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for job in jobs:
        (local if job.seat.contender.model.is_local else served).put(job)
    local_jobs = sum(1 for job in jobs if job.seat.contender.model.is_local)
    outcomes: queue.SimpleQueue[JobOutcome | BaseException] = queue.SimpleQueue()

    def worker(pending: queue.SimpleQueue[Job]) -> None:
        db = open_db(db_path)
        try:
            while not cancel.is_set():
                try:
                    job = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcomes.put(
                        run_job(db, backend, job, run_id, cancel, evaluate, flush_seconds, on_text)
                    )
                except BaseException as exc:
                    cancel.set()
                    outcomes.put(exc)
                    return
        finally:
            db.conn.close()

    queues = [local] * min(max(1, parallel), local_jobs)
    queues += [served] * min(max(1, server_parallel), len(jobs) - local_jobs)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, len(queues)), thread_name_prefix="batch") as pool:
        futures = [pool.submit(worker, pending) for pending in queues]
        try:
            while not all(f.done() for f in futures) or not outcomes.empty():
                try:
                    item = outcomes.get(timeout=0.1)
                except queue.Empty:
                    continue
                if isinstance(item, BaseException):
                    failure = failure or item
                    continue
                summary.outcomes.append(item)
                if on_outcome is not None:
                    on_outcome(item)
        except KeyboardInterrupt:
            cancel.set()
            summary.interrupted = True
            try:
                for future in futures:
                    future.result()
                while not outcomes.empty():
                    item = outcomes.get()
                    if not isinstance(item, BaseException):
                        summary.outcomes.append(item)
            finally:  # a second Ctrl-C while the workers wind down still closes the run
                heartbeat.stop()
                finish_run(main_db, run_id)
                main_db.conn.close()
            raise
    if cancel.is_set() and failure is None:
        summary.interrupted = True
    if failure is None and not summary.interrupted and evaluate is not None:
        rerun_inconclusive(main_db, summary, evaluate)
    heartbeat.stop()
    finish_run(main_db, run_id)
    main_db.conn.close()
    if failure is not None:
        raise failure
    return summary


@dataclass
class ProgressLine:
    """A one-line progress bar with tokens/s and ETA for a terminal."""

    total: int
    width: int = 28
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: JobOutcome) -> None:
        with self._lock:
            self.done += 1

    def token(self) -> None:
        """Count one streamed token (called from the workers' ``on_text``)."""
        with self._lock:
            self.tokens += 1

    def render(self) -> str:
        with self._lock:
            elapsed = max(time.monotonic() - self.started, 1e-9)
            share = self.done / self.total if self.total else 1.0
            filled = int(self.width * share)
            rate = self.tokens / elapsed
            if self.done:
                eta = elapsed / self.done * (self.total - self.done)
                eta_text = format_duration(eta)
            else:
                eta_text = "?"
            bar = "#" * filled + "." * (self.width - filled)
            return (
                f"[{bar}] {self.done}/{self.total}  {rate:5.1f} tok/s  "
                f"elapsed {format_duration(elapsed)}  ETA {eta_text}"
            )


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``: a time for a progress line."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
