"""Tests for one answer -> ``Execution`` (verdict, passed/total, first failure, score).

(~500 lines on purpose: one class, ``Evaluator``, whose methods share its reference-output
cache, its per-problem run plans and its database lock; the values, the stored-output
codec and the table's SQL live in their own modules.)

The expected output of a test is its stated ``expected`` value, or else what the
problem's reference solution returns for the same input. Reference outputs and the
reference's time per test are computed once by running the reference through the
same sandbox and harness, then kept in memory and (given a database) in the
``expected_outputs`` table, keyed by problem id and a hash of everything that
determines them (reference, tests, entry point, kind, take, harness protocol).

Per-test time limits scale from the reference's own time as EvalPlus does:
``max(min_time_limit, time_factor * reference_seconds)``; a problem's
``time_limit`` replaces them with one budget for all tests together. The machine is
shared and noisy, so an answer that times out is run once more and judged by that
second run (``confirm_timeouts``). A run stopped for a timeout whose child had little CPU
and spent most of its time waiting for one (``starved_run``) was starved by other work (a
model generating beside it), not slow: its verdict is ``inconclusive``, and the callers rerun it
once the machine is quiet (the app after its streams end, ``gradebench generate`` at the
end of the batch).

Counting: tests run base tests first, then plus tests. A test passes when the call
returned and its output matches by ``gradebench.engine.evaluation.compare.outputs_match``. A test that
raised, returned a wrong value, or never ran because the child was stopped (time
limit, crash, exit) does not pass. The verdict is the kind of the first test that
did not pass (``fail`` wrong output, ``error`` exception or crash, ``memory``
MemoryError, ``timeout``), so after a timeout in test 5 the later tests count as
not passed and the verdict is ``timeout``. ``base_*`` fields repeat this over base
tests only when the problem has plus tests.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from gradebench.engine.errors import log_exception
from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.compare import outputs_match, text_match_allowed
from gradebench.engine.evaluation.execution import (
    STATUS_LETTERS,
    Execution,
    short_repr,
    suggested_score,
)
from gradebench.engine.evaluation.expected_outputs import (
    ExpectedOutputs,
    LazyOutputs,
    expected_for,
    prepared_inputs,
)
from gradebench.engine.evaluation.sandbox import run_in_sandbox
from gradebench.engine.evaluation.sandbox_job import SandboxJob, SandboxLimits, SandboxResult
from gradebench.engine.evaluation.stored_outputs import (
    STORED_OUTPUTS_BLOB_HEADER,
    encode_stored_outputs,
    read_stored_outputs,
)
from gradebench.engine.problems.model import MISSING, Problem, TestCase
from gradebench.engine.store.reference_outputs import (
    load_reference_row,
    reference_seconds_rows,
    store_reference_row,
)

LOAD_SECONDS = 3.0


"""Time for an answer's module-level code (imports, constants) before the tests."""


@dataclass(frozen=True)
class _RunPlan:
    """The part of an answer's sandbox job that depends only on the problem."""

    expected: ExpectedOutputs
    order: tuple[int, ...]
    """Test indexes in run order: base tests, then plus tests."""
    base_order: tuple[int, ...] | None
    """The base tests' indexes when the problem has plus tests."""
    job: SandboxJob
    """The job with ``code`` left empty."""
    shown_limits: tuple[float, ...]
    """The first 50 tests' time limits, for the execution's ``sandbox`` report."""


class Evaluator:
    """Runs answers against problems; thread-safe, one sandbox child per call."""

    def __init__(
        self,
        db: Any = None,
        *,
        time_factor: float = 4.0,
        min_time_limit: float = 1.0,
        reference_time_limit: float = 30.0,
        limits: SandboxLimits | None = None,
        confirm_timeouts: bool = True,
        niceness: Callable[[], int] | None = None,
    ) -> None:
        self.db = db
        self.time_factor = time_factor
        self.min_time_limit = min_time_limit
        self.reference_time_limit = reference_time_limit
        self.limits = limits or SandboxLimits()
        self.niceness = niceness
        """Read as each child starts: its niceness then (else ``limits.niceness``), so a
        run can yield to what is more urgent at that moment."""
        self.confirm_timeouts = confirm_timeouts
        """Run an answer that timed out once more and keep the second result: on a
        shared, busy machine a correct answer can miss a limit by bad luck."""
        self.sandbox_runs = 0
        """Children started (answers and references); for tests and reports."""
        self.reference_runs = 0
        self._lock = threading.Lock()
        self._db_lock = threading.Lock()
        self._expected: dict[tuple[str, str], ExpectedOutputs] = {}
        self._encoded: dict[int, tuple[Problem, str, tuple[tuple[str, bytes | str], ...]]] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._plans: dict[tuple[str, str], _RunPlan] = {}

    # ------------------------------------------------------------ running

    def _limits_now(self) -> SandboxLimits:
        if self.niceness is None:
            return self.limits
        return replace(self.limits, niceness=self.niceness())

    def _run(self, job: SandboxJob) -> SandboxResult:
        with self._lock:
            self.sandbox_runs += 1
        result = run_in_sandbox(job, self._limits_now())
        if result.stopped == "startup":  # a busy machine, not the answer: try once more
            with self._lock:
                self.sandbox_runs += 1
            result = run_in_sandbox(job, self._limits_now())
        return result

    # ------------------------------------------------------------ expected outputs

    def match_texts(
        self, problem: Problem, expected: ExpectedOutputs
    ) -> tuple[memoryview | None, ...]:
        """Per test (``problem.tests`` order), the text an answer's output must be to pass
        without decoding, as UTF-8 bytes (views into the expected outputs' buffer), or
        None. An identical text is sure to pass under every rule but ``poly_root`` and
        the MBPP+ oracles (``compare.text_match_allowed``): the
        value equals the expected one with the same types, unless it holds NaN (never
        equal) or an opaque value (equal to nothing), and a test with a stated
        ``expected`` value is compared with that. Called once per problem content (the
        run plan keeps the result)."""
        encoded = expected.encoded
        if encoded is None or not text_match_allowed(problem.compare):
            return (None,) * len(problem.tests)
        return tuple(
            encoded.view(index) if test.expected is MISSING and encoded.plain(index) else None
            for index, test in enumerate(problem.tests)
        )

    def _encoding(self, problem: Problem) -> tuple[str, tuple[tuple[str, bytes | str], ...]]:
        """(expected-output key, args prepared for the child per test), once per Problem."""
        with self._lock:
            cached = self._encoded.get(id(problem))
        if cached is not None and cached[0] is problem:
            return cached[1], cached[2]
        key, prepared = prepared_inputs(problem)
        with self._lock:
            self._encoded[id(problem)] = (problem, key, prepared)  # holds it: ids stay unique
        return key, prepared

    def expected(self, problem: Problem) -> ExpectedOutputs:
        """The reference's outputs and times, computed once per content hash."""
        key = (problem.id, self._encoding(problem)[0])
        with self._lock:
            cached = self._expected.get(key)
            if cached is not None:
                return cached
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                cached = self._expected.get(key)
            if cached is not None:
                return cached
            expected = self._load_expected(key)
            if expected is None:
                expected = self._compute_expected(problem)
                if expected.complete:
                    self._store_expected(key, expected)
            with self._lock:
                self._expected[key] = expected
            return expected

    def _compute_expected(self, problem: Problem) -> ExpectedOutputs:
        with self._lock:
            self.reference_runs += 1
        job = SandboxJob(
            code=problem.reference,
            entry_point=problem.entry_point,
            tests=tuple((i, t.args) for i, t in enumerate(problem.tests)),
            prepared_args=self._encoding(problem)[1],
            test_limits=(self.reference_time_limit,) * len(problem.tests),
            kind=problem.kind,
            take=problem.take,
            load_limit=self.reference_time_limit,
            decode_outputs=False,  # kept as the child's text, decoded only when compared
        )
        result = self._run(job)
        count = len(problem.tests)
        encoded: list[str | bytes | None] = [None] * count
        seconds: list[float | None] = [None] * count
        errors: list[str | None] = [f"the reference did not run: {result.message}"] * count
        for outcome in result.outcomes:
            seconds[outcome.index] = outcome.seconds
            if outcome.returned:
                encoded[outcome.index] = (
                    outcome.text if outcome.text is not None else harness.encode(outcome.output)
                )
                errors[outcome.index] = None
            else:
                errors[outcome.index] = (
                    f"the reference raised {outcome.error_type}: {outcome.message}"
                )
        complete = result.stopped in (None, "load_error")
        texts, errors = read_stored_outputs(encode_stored_outputs(encoded, errors))
        outputs: Any = LazyOutputs(texts)
        return ExpectedOutputs(outputs, tuple(seconds), tuple(errors), complete, texts)

    def _load_expected(self, key: tuple[str, str]) -> ExpectedOutputs | None:
        if self.db is None:
            return None
        with self._db_lock:
            row = load_reference_row(self.db, *key)
        if row is None:
            return None
        stored, seconds_json = row
        try:
            texts, errors = read_stored_outputs(stored)
            seconds = tuple(json.loads(seconds_json))
        except (ValueError, TypeError):
            return None  # damaged: computed again and stored over it
        if len(texts) != len(seconds):
            return None
        expected = ExpectedOutputs(LazyOutputs(texts), seconds, tuple(errors), True, texts)
        if not isinstance(stored, bytes) or not stored.startswith(STORED_OUTPUTS_BLOB_HEADER):
            self._store_expected(key, expected)  # an earlier version's row: stored anew
        return expected

    def _store_expected(self, key: tuple[str, str], expected: ExpectedOutputs) -> None:
        if self.db is None:
            return
        outputs = (
            expected.encoded.data
            if expected.encoded is not None
            else encode_stored_outputs([None] * len(expected.errors), expected.errors)
        )
        with self._db_lock:
            store_reference_row(self.db, key[0], key[1], outputs, expected.seconds)

    def reference_seconds(self, problem_ids: Iterable[str]) -> dict[str, float]:
        """Total seconds the reference took on each problem's tests, where a run is
        cached in the database (any content version: it is a hint for scheduling)."""
        if self.db is None:
            return {}
        wanted = set(problem_ids)
        totals: dict[str, float] = {}
        with self._db_lock:
            rows = reference_seconds_rows(self.db)
        for problem_id, seconds_json in rows:
            if problem_id in wanted:
                try:
                    totals[problem_id] = float(sum(s or 0.0 for s in json.loads(seconds_json)))
                except (TypeError, ValueError):
                    continue
        return totals

    # ------------------------------------------------------------ evaluating

    def time_limits(self, problem: Problem, expected: ExpectedOutputs) -> list[float]:
        """Seconds allowed per test, in ``problem.tests`` order."""
        return [max(self.min_time_limit, self.time_factor * (s or 0.0)) for s in expected.seconds]

    def _plan(self, problem: Problem, expected: ExpectedOutputs) -> _RunPlan:
        """What every answer to ``problem`` runs: the same for all of them, so made once
        per problem content (HumanEval+ problems have up to ~1,000 tests)."""
        key = (problem.id, self._encoding(problem)[0])
        with self._lock:
            cached = self._plans.get(key)
        if cached is not None and cached.expected is expected:
            return cached
        tests = problem.tests
        base_order = tuple(i for i, t in enumerate(tests) if not t.plus)
        order = base_order + tuple(i for i, t in enumerate(tests) if t.plus)
        match_texts = self.match_texts(problem, expected)
        limits = self.time_limits(problem, expected)
        prepared = self._encoding(problem)[1]
        plan = _RunPlan(
            expected=expected,
            order=order,
            base_order=base_order if len(base_order) < len(order) else None,
            job=SandboxJob(
                code="",
                entry_point=problem.entry_point,
                tests=tuple((i, tests[i].args) for i in order),
                prepared_args=tuple(prepared[i] for i in order),
                test_limits=tuple(limits[i] for i in order),
                kind=problem.kind,
                take=problem.take,
                total_limit=problem.time_limit,
                load_limit=max(LOAD_SECONDS, self.min_time_limit),
                expected_encoded=tuple(match_texts[i] for i in order),
            ),
            shown_limits=tuple(round(limits[i], 3) for i in order[:50]),
        )
        with self._lock:
            self._plans[key] = plan
        return plan

    def evaluate(self, problem: Problem, code: str | None) -> Execution:
        """Run ``code`` against every test of ``problem``."""
        has_plus = any(t.plus for t in problem.tests)
        base_total = len(problem.base_tests) if has_plus else None
        if code is None or not code.strip():
            return self._uniform(problem, "no_code", "the answer contains no code", base_total)
        try:
            compile(code, "<answer>", "exec")
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None)
            where = f"line {line}: " if line else ""
            message = f"{where}{getattr(exc, 'msg', None) or exc}"
            return self._uniform(problem, "syntax", message, base_total)
        expected = self.expected(problem)
        plan = self._plan(problem, expected)
        order = plan.order
        job = replace(plan.job, code=code)
        result = self._run(job)
        if result.stopped == "timeout" and self.confirm_timeouts:
            result = self._run(job)
        base_verdict = base_passed = None
        if not result.outcomes and len(result.matched) == len(order):
            # every test's output was the expected text (each position is matched at
            # most once): all passed, nothing to decode or look up
            verdict, passed, failure = "pass", len(order), None
            if plan.base_order is not None:
                base_verdict, base_passed = "pass", len(plan.base_order)
            letters = "p" * len(problem.tests)
        else:
            statuses = self._statuses(problem, expected, order, result)
            verdict, passed, failure = _summarize(order, statuses)
            letters = "".join(
                STATUS_LETTERS.get(statuses[i][0], "e") if i in statuses else "-"
                for i in range(len(problem.tests))
            )
            if plan.base_order is not None:
                base_verdict, base_passed, _ = _summarize(plan.base_order, statuses)
        starved = starved_run(result)
        if starved and verdict == "timeout":
            verdict = "inconclusive"  # rerun once the machine is quiet (rerun_inconclusive)
        sandbox = {
            **result.isolation,
            "test_seconds": list(plan.shown_limits),
            "total_limit": problem.time_limit,
            "stopped": result.stopped,
            "leftovers_killed": result.leftovers_killed,
            "cpu_seconds": None if result.cpu_seconds is None else round(result.cpu_seconds, 3),
            "wait_seconds": None if result.wait_seconds is None else round(result.wait_seconds, 3),
            "starved": starved,
        }
        return Execution(
            verdict=verdict,
            passed=passed,
            total=len(order),
            base_verdict=base_verdict,
            base_passed=base_passed,
            base_total=base_total,
            first_failure=failure,
            stdout=result.stdout,
            stderr=result.stderr,
            seconds=result.seconds,
            suggested_score=suggested_score(verdict, passed, len(order)),
            sandbox=sandbox,
            test_statuses=letters,
        )

    def evaluate_safely(self, problem: Problem, code: str | None) -> Execution:
        """``evaluate``, except that any exception (gradebench failing on this answer:
        a bug, a full disk, never just the answer's doing) becomes this answer's verdict
        ``error``, its traceback in the log file and a one-line ``internal_error``
        naming it. What every batch and the app call: one answer never stops the rest."""
        try:
            return self.evaluate(problem, code)
        except Exception as exc:
            return self.internal_error(
                problem, log_exception(f"evaluating an answer to {problem.id}", exc)
            )

    def internal_error(self, problem: Problem, message: str) -> Execution:
        """The ``error`` execution of an answer gradebench failed on (``message``: one line)."""
        base_total = len(problem.base_tests) if any(t.plus for t in problem.tests) else None
        return replace(self._uniform(problem, "error", message, base_total), internal_error=message)

    def evaluate_many(
        self, pairs: Iterable[tuple[Problem, str | None]], jobs: int | None = None
    ) -> list[Execution]:
        """Evaluate many (problem, code) pairs on ``jobs`` threads; results in input order
        (each by ``evaluate_safely``: a failure on one pair is that pair's verdict)."""
        pairs = list(pairs)
        jobs = max(1, jobs or os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            unique = {p.id: p for p, code in pairs if code and code.strip()}
            # a reference that cannot be run shows again, per answer, in evaluate_safely
            list(pool.map(self._expected_or_none, unique.values()))
            return list(pool.map(lambda pair: self.evaluate_safely(*pair), pairs))

    def _expected_or_none(self, problem: Problem) -> ExpectedOutputs | None:
        try:
            return self.expected(problem)
        except Exception:
            return None

    def _uniform(
        self, problem: Problem, verdict: str, message: str, base_total: int | None
    ) -> Execution:
        return Execution(
            verdict=verdict,
            passed=0,
            total=len(problem.tests),
            base_verdict=verdict if base_total is not None else None,
            base_passed=0 if base_total is not None else None,
            base_total=base_total,
            first_failure={
                "test": None,
                "input": "",
                "expected": "",
                "actual": "",
                "message": message,
            },
        )

    def _statuses(
        self,
        problem: Problem,
        expected: ExpectedOutputs,
        order: Sequence[int],
        result: SandboxResult,
    ) -> dict[int, tuple[str, dict | None]]:
        """Per test index: (pass | fail | error | memory | timeout, failure details)."""
        statuses: dict[int, tuple[str, dict | None]] = dict.fromkeys(
            (index for index, _ in result.matched), ("pass", None)
        )  # the expected output's exact text (``match_texts``): passed
        for outcome in result.outcomes:
            test = problem.tests[outcome.index]
            want, reference_error = expected_for(test, expected, outcome.index)
            details = {
                "test": outcome.index,
                "input": short_repr(_shown_args(problem, test)),
                "expected": "" if reference_error else short_repr(want),
            }
            if not outcome.returned:
                kind = "memory" if outcome.error_type == "MemoryError" else "error"
                message = f"{outcome.error_type}: {outcome.message}".strip().rstrip(":")
                statuses[outcome.index] = (kind, {**details, "actual": "", "message": message})
            elif reference_error:
                statuses[outcome.index] = (
                    "fail",
                    {**details, "actual": short_repr(outcome.output), "message": reference_error},
                )
            elif _matches(problem, test, want, outcome.output):
                statuses[outcome.index] = ("pass", None)
            else:
                statuses[outcome.index] = (
                    "fail",
                    {**details, "actual": short_repr(outcome.output), "message": "wrong output"},
                )
        stop_kind = _stop_kind(result)
        for index in order:
            if index in statuses:
                continue
            test = problem.tests[index]
            want, _ = expected_for(test, expected, index)
            message = result.message or "not run"
            if result.stopped_test is not None and index != result.stopped_test:
                message = f"not run: {message}"
            statuses[index] = (
                stop_kind,
                {
                    "test": index,
                    "input": short_repr(_shown_args(problem, test)),
                    "expected": short_repr(want),
                    "actual": "",
                    "message": message,
                },
            )
        return statuses


def _matches(problem: Problem, test: TestCase, want: Any, got: Any) -> bool:
    try:
        return bool(outputs_match(problem, test, want, got))
    except Exception:
        return False


def _shown_args(problem: Problem, test: TestCase) -> Any:
    return test.args


def _stop_kind(result: SandboxResult) -> str:
    if result.stopped == "timeout":
        return "timeout"
    if result.load_error and result.load_error[0] == "MemoryError":
        return "memory"
    if result.exit_code is not None and result.exit_code == -24:  # SIGXCPU: RLIMIT_CPU
        return "timeout"
    return "error"


STARVED_SHARE = 0.3
"""A child stopped for a timeout whose process group had used less CPU than this share of
the run's wall time, and which had waited for a CPU (runnable, not running) more than this
share, was starved by other work (a model generating beside it): ``inconclusive``. An
answer that sleeps uses no CPU but does not wait for one; an answer that loops or forks
uses the CPU it gets."""


def starved_run(result: SandboxResult) -> bool:
    """Whether a run stopped for a timeout was starved: little CPU, much waiting for one."""
    if result.stopped != "timeout" or result.seconds <= 0:
        return False
    if result.cpu_seconds is None or result.wait_seconds is None:
        return False
    share = STARVED_SHARE * result.seconds
    return result.cpu_seconds < share and result.wait_seconds > share


def _summarize(
    order: Sequence[int], statuses: dict[int, tuple[str, dict | None]]
) -> tuple[str, int, dict | None]:
    passed = sum(1 for i in order if statuses[i][0] == "pass")
    for index in order:
        kind, failure = statuses[index]
        if kind != "pass":
            return kind, passed, failure
    return "pass", passed, None
