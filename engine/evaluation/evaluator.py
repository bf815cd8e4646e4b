"""Tests for one answer -> ``Execution`` (verdict, passed/total, first failure, score).

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
second run (``confirm_timeouts``).

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

import hashlib
import json
import os
import pickle
import re
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.compare import Opaque, outputs_match, text_match_allowed
from gradebench.engine.evaluation.sandbox import (
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    prepare_args,
    run_in_sandbox,
)
from gradebench.engine.problems.model import MISSING, Problem, TestCase

VERDICTS = ("pass", "fail", "error", "timeout", "memory", "syntax", "no_code")
REPR_CHARS = 300
LOAD_SECONDS = 3.0
"""Time for an answer's module-level code (imports, constants) before the tests."""


@dataclass(frozen=True)
class Execution:
    """The outcome of running one answer against one problem's tests."""

    verdict: str
    passed: int
    total: int
    base_verdict: str | None = None
    base_passed: int | None = None
    base_total: int | None = None
    first_failure: dict | None = None
    """``{"test", "input", "expected", "actual", "message"}`` with short reprs."""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    suggested_score: float = 0.0
    sandbox: dict = field(default_factory=dict)


class EncodedOutputs(Sequence):
    """The reference's outputs per test as the harness encoded them, all in one UTF-8
    buffer (the stored form, ``STORED_OUTPUTS_BLOB_HEADER``): item ``i`` is the text
    (``str``, decoded on request) or None where the reference gave no output.

    An answer's output is compared with ``view(i)`` (a slice of the buffer, no copy);
    ``plain(i)`` says whether the text holds neither an opaque value nor NaN, which
    decided once when the text was stored instead of on every load."""

    def __init__(
        self, data: bytes, starts: Sequence[int], ends: Sequence[int], plain: bytes
    ) -> None:
        self.data = data
        self._starts = starts
        self._ends = ends
        self._plain = plain
        self._buffer = memoryview(data)

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        start = self._starts[index]
        if start < 0:
            return None
        return self._buffer[start : self._ends[index]].tobytes().decode("utf-8", "surrogatepass")

    def view(self, index: int) -> memoryview | None:
        """Test ``index``'s text as UTF-8 bytes (a view into the buffer), or None."""
        start = self._starts[index]
        return None if start < 0 else self._buffer[start : self._ends[index]]

    def plain(self, index: int) -> bool:
        """True when test ``index`` has a text with no opaque value and no NaN."""
        return bool(self._plain[index])


@dataclass(frozen=True)
class ExpectedOutputs:
    """The reference's output and time per test, in ``problem.tests`` order."""

    outputs: tuple[Any, ...]
    seconds: tuple[float | None, ...]
    errors: tuple[str | None, ...]
    """Why the reference produced no output for a test (None where it did)."""
    complete: bool = True
    """False when the reference run was stopped (then nothing is cached in the DB)."""
    encoded: EncodedOutputs | None = None
    """Each output as ``harness.encode`` writes it (None with an error): an answer whose
    output arrives as the same text passes without decoding (``Evaluator.match_texts``)."""


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


class _LazyOutputs(Sequence):
    """Expected outputs decoded from their encoded text on first use (most never are:
    a matching answer is recognised by its text)."""

    def __init__(self, encoded: Sequence[str | None]) -> None:
        self._encoded = encoded
        self._decoded: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._encoded)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index not in self._decoded:
            text = self._encoded[index]
            self._decoded[index] = None if text is None else harness.decode(text, Opaque)
        return self._decoded[index]


def _plain_text(text: bytes) -> bool:
    """No opaque value and no NaN in an encoded output (a string holding ``nan`` also
    counts as NaN here: such an output is then decoded and compared, never wrongly
    passed). ``["o`` can only be the opaque tag: inside a string a quote is escaped, and
    no other tag begins with ``o``; searched for by its rare last byte, it is a quick
    scan of texts that are mostly ``,`` ``"`` and ``[``."""
    return b'["o' not in text and b"nan" not in text


def suggested_score(verdict: str, passed: int, total: int) -> float:
    if verdict == "pass":
        return 1.0
    if 0 < passed < total:
        return 0.5
    return 0.0


def short_repr(value: Any, limit: int = REPR_CHARS) -> str:
    """A repr of decoded (plain) data, truncated; never raises."""
    if isinstance(value, Opaque):
        return f"<{value.type_name} object{': ' + value.text if value.text else ''}>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. ints past the str conversion limit
        text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _canonical(node: Any) -> Any:
    """Encoded data with set items sorted, so equal tests hash equally in every process."""
    if isinstance(node, list) and node and node[0] in ("S", "F"):
        return [node[0], sorted((_canonical(x) for x in node[1]), key=json.dumps)]
    if isinstance(node, list):
        return [_canonical(x) for x in node]
    return node


_NOT_PLAIN_PICKLE = re.compile(b"[\x82-\x84\x8f-\x91\x93]")
"""Pickle (protocol 5) opcodes of a global lookup (STACK_GLOBAL, EXT1/2/4) and of sets.
A pickle without any of these bytes holds only plain data in a fixed order, so its
bytes can name the inputs and be unpickled in the child with no global lookup. The
bytes may also occur inside data; then the slower, exact path is taken."""


def prepared_inputs(problem: Problem) -> tuple[str, tuple[tuple[str, bytes | str], ...]]:
    """(content hash of everything that decides the reference's outputs, how each test's
    args travel to the child), in one pass over the tests.

    Args whose pickle is plain data are named by the pickle itself (C speed); the
    others (complex numbers, sets, anything that is not plain data) by their encoded
    text with set items in canonical order, and travel as ``prepare_args`` says."""
    parts: list[bytes] = []
    prepared: list[tuple[str, bytes | str]] = []
    for test in problem.tests:
        data = pickle.dumps(test.args, protocol=5)
        if _NOT_PLAIN_PICKLE.search(data) is None:
            prepared.append(("pickle", data))
            parts.append(b"p" + data)
            continue
        text = harness.encode(test.args)
        prepared.append(prepare_args(test.args, text))
        if '["S",' in text or '["F",' in text:
            text = json.dumps(_canonical(json.loads(text)))
        parts.append(b"e" + text.encode("utf-8", "surrogatepass"))
    digest = hashlib.sha256()
    for part in (
        harness.PROTOCOL,
        problem.kind,
        problem.entry_point,
        repr(problem.take),
        problem.reference,
    ):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest(), tuple(prepared)


def expected_key(problem: Problem) -> str:
    """Content hash of everything that decides the reference's outputs."""
    return prepared_inputs(problem)[0]


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
    ) -> None:
        self.db = db
        self.time_factor = time_factor
        self.min_time_limit = min_time_limit
        self.reference_time_limit = reference_time_limit
        self.limits = limits or SandboxLimits()
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

    def _run(self, job: SandboxJob) -> SandboxResult:
        with self._lock:
            self.sandbox_runs += 1
        result = run_in_sandbox(job, self.limits)
        if result.stopped == "startup":  # a busy machine, not the answer: try once more
            with self._lock:
                self.sandbox_runs += 1
            result = run_in_sandbox(job, self.limits)
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
        texts, errors = _read_stored_outputs(_stored_outputs(encoded, errors))
        outputs: Any = _LazyOutputs(texts)
        return ExpectedOutputs(outputs, tuple(seconds), tuple(errors), complete, texts)

    def _load_expected(self, key: tuple[str, str]) -> ExpectedOutputs | None:
        if self.db is None:
            return None
        with self._db_lock:
            rows = self.db.execute(
                "select outputs, reference_seconds from expected_outputs"
                " where problem_id = ? and content_sha256 = ?",
                list(key),
            ).fetchall()
        if not rows:
            return None
        stored, seconds_json = rows[0]
        try:
            texts, errors = _read_stored_outputs(stored)
            seconds = tuple(json.loads(seconds_json))
        except (ValueError, TypeError):
            return None  # damaged: computed again and stored over it
        if len(texts) != len(seconds):
            return None
        expected = ExpectedOutputs(_LazyOutputs(texts), seconds, tuple(errors), True, texts)
        if not isinstance(stored, bytes) or not stored.startswith(STORED_OUTPUTS_BLOB_HEADER):
            self._store_expected(key, expected)  # an earlier version's row: stored anew
        return expected

    def _store_expected(self, key: tuple[str, str], expected: ExpectedOutputs) -> None:
        if self.db is None:
            return
        from gradebench.engine.store.database import to_json, utc_now

        with self._db_lock, self.db.conn:
            self.db["expected_outputs"].insert(
                {
                    "problem_id": key[0],
                    "content_sha256": key[1],
                    "outputs": expected.encoded.data
                    if expected.encoded is not None
                    else _stored_outputs([None] * len(expected.errors), expected.errors),
                    "reference_seconds": to_json(list(expected.seconds)),
                    "created_at": utc_now(),
                },
                replace=True,
            )

    def reference_seconds(self, problem_ids: Iterable[str]) -> dict[str, float]:
        """Total seconds the reference took on each problem's tests, where a run is
        cached in the database (any content version: it is a hint for scheduling)."""
        if self.db is None:
            return {}
        wanted = set(problem_ids)
        totals: dict[str, float] = {}
        with self._db_lock:
            rows = self.db.execute(
                "select problem_id, reference_seconds from expected_outputs order by created_at"
            ).fetchall()
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
        else:
            statuses = self._statuses(problem, expected, order, result)
            verdict, passed, failure = _summarize(order, statuses)
            if plan.base_order is not None:
                base_verdict, base_passed, _ = _summarize(plan.base_order, statuses)
        sandbox = {
            **result.isolation,
            "test_seconds": list(plan.shown_limits),
            "total_limit": problem.time_limit,
            "stopped": result.stopped,
            "leftovers_killed": result.leftovers_killed,
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
        )

    def evaluate_many(
        self, pairs: Iterable[tuple[Problem, str | None]], jobs: int | None = None
    ) -> list[Execution]:
        """Evaluate many (problem, code) pairs on ``jobs`` threads; results in input order."""
        pairs = list(pairs)
        jobs = max(1, jobs or os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            unique = {p.id: p for p, code in pairs if code and code.strip()}
            list(pool.map(self.expected, unique.values()))
            return list(pool.map(lambda pair: self.evaluate(*pair), pairs))

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
            want, reference_error = _expected_for(test, expected, outcome.index)
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
            want, _ = _expected_for(test, expected, index)
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


STORED_OUTPUTS_HEADER = "gradebench-outputs-2"
"""Text rows written by earlier versions (still read): a header line, then per test
the encoded output or the error as a JSON string."""
STORED_OUTPUTS_BLOB_HEADER = b"gradebench-outputs-3\n"
_OUTPUT_PLAIN, _OUTPUT_MARKED, _OUTPUT_ERROR = b"=", b"~", b"!"


def _stored_outputs(encoded: Sequence[str | bytes | None], errors: Sequence[str | None]) -> bytes:
    """The reference's outputs as stored (a BLOB): ``STORED_OUTPUTS_BLOB_HEADER``, then
    one line per test: ``=`` and the output's encoded text (JSON, never a raw newline),
    ``~`` and the text when it holds an opaque value or NaN (so it is never matched
    by its text alone), or ``!`` and the error message as a JSON string when the
    reference gave no output. Loading it is a scan for newlines, no copy, no decoding."""
    parts = [STORED_OUTPUTS_BLOB_HEADER]
    for text, error in zip(encoded, errors, strict=True):
        if error is not None or text is None:
            message = error if error is not None else "no output"
            parts += (_OUTPUT_ERROR, json.dumps(message).encode("utf-8"), b"\n")
        else:
            data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            parts += (_OUTPUT_PLAIN if _plain_text(data) else _OUTPUT_MARKED, data, b"\n")
    return b"".join(parts)


def _read_stored_outputs(stored: bytes | str) -> tuple[EncodedOutputs, list[str | None]]:
    """(the encoded outputs, error or None per test) from a stored value of any version;
    ``ValueError`` when it is damaged."""
    if isinstance(stored, str) or not stored.startswith(STORED_OUTPUTS_BLOB_HEADER):
        text = stored if isinstance(stored, str) else stored.decode("utf-8", "surrogatepass")
        encoded, errors = _parse_stored_outputs(text)
        stored = _stored_outputs(encoded, errors)
    starts: list[int] = []
    ends: list[int] = []
    plain = bytearray()
    errors = []
    position, size, find = len(STORED_OUTPUTS_BLOB_HEADER), len(stored), stored.find
    plain_tag, marked_tag, error_tag = _OUTPUT_PLAIN[0], _OUTPUT_MARKED[0], _OUTPUT_ERROR[0]
    while position < size:
        end = find(b"\n", position)
        if end < 0:
            raise ValueError("stored outputs: last line unterminated")
        tag = stored[position]
        if tag in (plain_tag, marked_tag):
            starts.append(position + 1)
            ends.append(end)
            plain.append(tag == plain_tag)
            errors.append(None)
        elif tag == error_tag:
            starts.append(-1)
            ends.append(-1)
            plain.append(0)
            errors.append(str(json.loads(stored[position + 1 : end])))
        else:
            raise ValueError(f"stored outputs: unknown line tag {tag!r}")
        position = end + 1
    return EncodedOutputs(stored, starts, ends, bytes(plain)), errors


def _parse_stored_outputs(stored: str) -> tuple[list[str | None], list[str | None]]:
    """(encoded output or None, error or None) per test, from either text form of
    earlier versions."""
    encoded: list[str | None] = []
    errors: list[str | None] = []
    if stored.startswith(STORED_OUTPUTS_HEADER + "\n") or stored == STORED_OUTPUTS_HEADER:
        for line in stored.split("\n")[1:]:
            if line.startswith('"'):
                encoded.append(None)
                errors.append(str(json.loads(line)))
            else:
                encoded.append(line)
                errors.append(None)
        return encoded, errors
    for item in json.loads(stored):  # rows written by earlier versions: a JSON list
        if isinstance(item, dict) and "error" in item:
            encoded.append(None)
            errors.append(str(item.get("error")))
        elif isinstance(item, dict):  # {"v": encoded text}
            encoded.append(str(item["v"]))
            errors.append(None)
        else:  # a decoded node
            encoded.append(harness.encode(harness.decode_node(item, Opaque)))
            errors.append(None)
    return encoded, errors


def _expected_for(test: TestCase, expected: ExpectedOutputs, index: int) -> tuple[Any, str | None]:
    if test.expected is not MISSING:
        return test.expected, None
    return expected.outputs[index], expected.errors[index]


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


def _summarize(
    order: Sequence[int], statuses: dict[int, tuple[str, dict | None]]
) -> tuple[str, int, dict | None]:
    passed = sum(1 for i in order if statuses[i][0] == "pass")
    for index in order:
        kind, failure = statuses[index]
        if kind != "pass":
            return kind, passed, failure
    return "pass", passed, None


def save_execution(
    db: Any, execution: Execution, *, problem_id: str, generation_id: str | None = None
) -> str:
    """Insert an ``executions`` row; returns its id."""
    from gradebench.engine.store.database import new_id, to_json, utc_now

    row_id = new_id()
    row = asdict(execution)
    with db.conn:
        db["executions"].insert(
            {
                "id": row_id,
                "generation_id": generation_id,
                "problem_id": problem_id,
                "verdict": row["verdict"],
                "passed": row["passed"],
                "total": row["total"],
                "base_verdict": row["base_verdict"],
                "base_passed": row["base_passed"],
                "base_total": row["base_total"],
                "first_failure": to_json(row["first_failure"])
                if row["first_failure"] is not None
                else None,
                "stdout": row["stdout"],
                "stderr": row["stderr"],
                "seconds": row["seconds"],
                "suggested_score": row["suggested_score"],
                "sandbox": to_json(row["sandbox"]),
                "created_at": utc_now(),
            }
        )
    return row_id
