"""One contender's answer to one problem, as the grading screen needs it.

The screen asks three things per pane: is there a stored answer (then it is shown
at once, never regenerated), generate one (streaming tokens to a callback, stoppable
through an event), and run its tests. This module owns those three steps on top of
the generation backend, the prompt builder, the code extractor and the evaluator;
it holds no UI and is safe to call from a worker thread (each thread opens its own
database connection).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradebench.engine.problems.model import Problem
from gradebench.engine.store.executions import latest_execution_row
from gradebench.engine.store.generations import current_finished_row
from gradebench.engine.store.problems import has_problem_row, insert_problem_row
from gradebench.engine.store.sqlite import Database

FINISHED_STATUSES = ("done", "max_tokens")
SCREEN_TEST_NICENESS = 10
"""Niceness of the app's test runs that start while a stream on screen is generating (a
lease of ``SCREEN`` priority in a thread budget): they yield to it. Otherwise (look-ahead
generating, or nothing) they run at normal priority: niced by 10 always, below look-ahead's
generations too, they raised the wait after ``n`` from a median of 0.29 s to 1.89 s
(``bench/bench_review_wait.py``, docs/benchmarks.md). A run starved by the generations
beside it is told by its CPU and waiting times, marked ``inconclusive`` and run again once
the streams end."""


def niceness_of_test_runs() -> int:
    """The niceness a test run starting now gets (see ``SCREEN_TEST_NICENESS``)."""
    from gradebench.engine.generation.thread_budget import SCREEN, threads_generating

    return SCREEN_TEST_NICENESS if threads_generating(SCREEN) else 0


TokenSink = Callable[[str, int, float], None]
"""Called with (new text, tokens so far, seconds since the first token)."""


@dataclass(frozen=True)
class Answer:
    """A generation row as shown in a pane."""

    generation_id: str
    problem_id: str
    contender_id: str
    raw_answer: str
    code: str | None
    extract_method: str | None
    status: str
    tokens: int
    tokens_per_second: float | None
    total_seconds: float | None
    error: str | None = None
    followed_format: bool | None = None
    extract_notes: tuple[str, ...] = ()
    """The extractor's repairs, e.g. "took the parseable part of the block"."""


@dataclass(frozen=True)
class TestResult:
    """An execution row as shown in a pane."""

    __test__ = False

    verdict: str
    passed: int
    total: int
    first_failure: dict[str, Any] | None
    stdout: str
    stderr: str
    seconds: float
    suggested_score: float | None


def _answer_from_row(row: dict[str, Any]) -> Answer:
    return Answer(
        generation_id=row["id"],
        problem_id=row["problem_id"],
        contender_id=row["contender_id"],
        raw_answer=row["raw_answer"] or "",
        code=row["extracted_code"],
        extract_method=row["extract_method"],
        status=row["status"],
        tokens=row["tokens"] or 0,
        tokens_per_second=row["tokens_per_second"],
        total_seconds=row["total_seconds"],
        error=row["error"],
        followed_format=None
        if row.get("followed_format") is None
        else bool(row["followed_format"]),
        extract_notes=_notes(row.get("extract_notes")),
    )


def _notes(stored: str | None) -> tuple[str, ...]:
    """The stored JSON list of extraction notes (rows from before m007 have none)."""
    if not stored:
        return ()
    try:
        notes = json.loads(stored)
    except ValueError:
        return ()
    return tuple(str(note) for note in notes) if isinstance(notes, list) else ()


def stored_answer(db: Database, problem_id: str, contender_id: str) -> Answer | None:
    """The current finished answer of this contender to this problem, if any."""
    row = current_finished_row(db, problem_id, contender_id)
    return _answer_from_row(row) if row else None


def stored_result(db: Database, generation_id: str) -> TestResult | None:
    """The latest test run of this answer, if any."""
    row = latest_execution_row(db, generation_id)
    if row is None:
        return None
    return TestResult(
        verdict=row["verdict"],
        passed=row["passed"],
        total=row["total"],
        first_failure=json.loads(row["first_failure"]) if row["first_failure"] else None,
        stdout=row["stdout"],
        stderr=row["stderr"],
        seconds=row["seconds"],
        suggested_score=row["suggested_score"],
    )


def result_from_execution(execution: Any) -> TestResult:
    first = execution.first_failure
    if first is not None and not isinstance(first, dict):
        first = {k: getattr(first, k) for k in ("test", "input", "expected", "actual", "message")}
    return TestResult(
        verdict=execution.verdict,
        passed=execution.passed,
        total=execution.total,
        first_failure=first,
        stdout=execution.stdout,
        stderr=execution.stderr,
        seconds=execution.seconds,
        suggested_score=execution.suggested_score,
    )


class _ThreadDatabases:
    """One sqlite connection per thread, opened on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def get(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            from gradebench.engine.store.database import open_db

            db = open_db(self.path)
            self._local.db = db
        return db


@dataclass(frozen=True)
class Seat:
    """A contender taking part in a grading session: its stored id and how to run it."""

    contender_id: str
    name: str
    contender: Any  # gradebench.engine.generation.registry.Contender
    prompt_template_text: str


def ensure_problem_row(db: Database, problem: Problem) -> None:
    """Generations reference ``problems(id)``: make sure the problem has its row."""
    from gradebench.engine.evaluation.expected_outputs import expected_key
    from gradebench.engine.store.database import to_json, utc_now

    # Called on every problem change (UI thread) and per job: hashing every test input
    # costs time on large suites, so only a missing row pays for it.
    if has_problem_row(db, problem.id):
        return
    # repr() of the tests would fail on integers over 4300 digits; the evaluator's key does not
    insert_problem_row(
        db,
        {
            "id": problem.id,
            "suite": problem.suite,
            "title": problem.title,
            "difficulty": problem.difficulty,
            "entry_point": problem.entry_point,
            "statement": problem.statement,
            "tags": to_json(list(problem.tags)),
            "content_sha256": expected_key(problem),
            "updated_at": utc_now(),
        },
    )


class AnswerPipeline:
    """Generate, record, extract and evaluate answers for the grading screen.

    ``backend`` follows ``gradebench.engine.generation.backend.Backend``. Methods may be called from any
    thread; each thread uses its own connection to ``db_path``.
    """

    def __init__(
        self,
        db_path: Path,
        backend: Any,
        *,
        prompt_templates: Any = None,
        run_id: str | None = None,
    ) -> None:
        from gradebench.engine.generation.prompts import PromptTemplates

        self.db_path = Path(db_path)
        self.backend = backend
        self.prompt_templates = prompt_templates or PromptTemplates()
        self.run_id = run_id
        self._dbs = _ThreadDatabases(self.db_path)
        self._evaluator: Any = None
        self._evaluator_lock = threading.Lock()

    @property
    def evaluator(self) -> Any:
        """One evaluator for the session: it caches the reference outputs per problem."""
        with self._evaluator_lock:
            if self._evaluator is None:
                from gradebench.engine.evaluation.evaluator import Evaluator
                from gradebench.engine.evaluation.sandbox_job import SandboxLimits
                from gradebench.engine.store.database import open_db

                self._evaluator = Evaluator(
                    open_db(self.db_path), limits=SandboxLimits(), niceness=niceness_of_test_runs
                )
            return self._evaluator

    @property
    def db(self) -> Database:
        return self._dbs.get()

    def user_message(self, problem: Problem, seat: Seat) -> str:
        from gradebench.engine.generation.prompts import build_prompt

        return build_prompt(problem, seat.contender.prompt_style, self.prompt_templates)

    def stored(self, problem: Problem, seat: Seat) -> tuple[Answer | None, TestResult | None]:
        answer = stored_answer(self.db, problem.id, seat.contender_id)
        if answer is None:
            return None, None
        return answer, stored_result(self.db, answer.generation_id)

    def claim_alive(self, generation_id: str) -> bool:
        """Whether this answer is still being streamed by a live process."""
        from gradebench.engine.store.generations import claim_alive

        return claim_alive(self.db, generation_id)

    def current(self, problem: Problem, seat: Seat) -> Answer | None:
        """The current answer of this pair whatever its status (cancelled, error too)."""
        from gradebench.engine.store.generations import current_generation_row

        row = current_generation_row(self.db, problem.id, seat.contender_id)
        return None if row is None else _answer_from_row(row)

    def generate(
        self,
        problem: Problem,
        seat: Seat,
        on_text: Callable[[str], None],
        cancel: threading.Event,
        *,
        regenerate: bool = True,
    ) -> Answer:
        """Stream a new answer, recorded as it streams.

        ``regenerate`` (the reviewer's ``r``): the current answer is replaced whatever it
        is. Otherwise (a problem opened with no finished answer) only a cut-off, failed or
        abandoned one is, or this session's own stream; a stream another live process is
        making raises ``AlreadyGenerated`` (``claimed_elsewhere``) for the caller to follow.

        The row is written by ``gradebench.engine.answers.recording`` (periodic flushes
        while streaming, the final text and stop reason at the end); the code is extracted
        at once.
        """
        from gradebench.engine.answers.extract import extract_for_problem
        from gradebench.engine.answers.recording import start_answer
        from gradebench.engine.generation.backend import GenerationRequest

        db = self.db
        ensure_problem_row(db, problem)
        request = GenerationRequest.for_contender(seat.contender, self.user_message(problem, seat))
        writer = start_answer(
            db,
            problem_id=problem.id,
            contender_id=seat.contender_id,
            prompt_text=request.prompt_text,
            run_id=self.run_id,
            regenerate=regenerate,
            redo=("cancelled", "error"),
            replace_own_run=True,
        )

        def both(chunk: str) -> None:
            writer.on_text(chunk)
            on_text(chunk)

        result = self.backend.generate(request, both, cancel)
        extraction = None
        if result.stop_reason in FINISHED_STATUSES:
            extraction = extract_for_problem(result.text, problem)
        writer.finish(result, extraction)
        return Answer(
            generation_id=writer.generation_id,
            problem_id=problem.id,
            contender_id=seat.contender_id,
            raw_answer=result.text,
            code=None if extraction is None else extraction.code,
            extract_method=None if extraction is None else extraction.method,
            status=result.stop_reason,
            tokens=result.tokens,
            tokens_per_second=result.tokens_per_second,
            total_seconds=result.total_seconds,
            error=result.error,
            followed_format=None if extraction is None else extraction.followed_format,
            extract_notes=() if extraction is None else tuple(extraction.notes),
        )

    def candidates(self, problem: Problem, answer: Answer) -> list[Any]:
        """The code candidates of an answer (``engine.answers.candidates``)."""
        from gradebench.engine.answers.candidates import code_candidates

        return code_candidates(answer.raw_answer, problem)

    def evaluate_code(self, problem: Problem, answer: Answer, code: str) -> tuple[TestResult, str]:
        """Run the tests on other code of this answer (a candidate the reviewer chose) and
        store the test run (it becomes the answer's latest); (result, test run id)."""
        from gradebench.engine.evaluation.execution import save_execution

        execution = self.evaluator.evaluate_safely(problem, code)
        execution_id = save_execution(
            self.db, execution, problem_id=problem.id, generation_id=answer.generation_id
        )
        return result_from_execution(execution), execution_id

    def evaluate(self, problem: Problem, answer: Answer) -> TestResult:
        """Run the answer's code against the problem's tests; the execution is stored.
        Never raises for one answer: a failure of gradebench's (testing or storing) is
        shown as the verdict ``error`` with a one-line message naming the log file."""
        from gradebench.engine.errors import log_exception
        from gradebench.engine.evaluation.execution import save_execution

        execution = self.evaluator.evaluate_safely(problem, answer.code or "")
        try:
            save_execution(
                self.db, execution, problem_id=problem.id, generation_id=answer.generation_id
            )
        except Exception as exc:
            message = log_exception(f"storing the test result of {problem.id}", exc)
            execution = self.evaluator.internal_error(problem, message)
        return result_from_execution(execution)
