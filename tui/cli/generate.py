"""``gradebench generate``: answer a suite headlessly with the chosen contenders, resumably."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import TYPE_CHECKING

from gradebench.tui.cli.subsets import add_subset_arguments

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate (and test) every answer not yet in the database; resumes after a crash",
    )
    parser.add_argument("--suite", required=True, help="suite name")
    parser.add_argument(
        "--contender",
        action="append",
        metavar="NAME",
        help="contender to run (repeatable; default: all, see `gradebench models list`)",
    )
    parser.add_argument("--limit", type=positive_int, metavar="N", help="only the first N problems")
    parser.add_argument(
        "--problems", dest="problems_ids", metavar="ID,...", help="only these problem ids (= --ids)"
    )
    add_subset_arguments(parser)
    parser.add_argument(
        "--samples", type=positive_int, default=1, metavar="N", help="answers per pair (pass@k)"
    )
    parser.add_argument(
        "--parallel",
        type=positive_int,
        metavar="N",
        help="requests kept in flight to each server (openai contenders; overrides the "
        "endpoint's max_concurrent; takes no local threads). Local contenders always run one "
        "answer each at once, up to the thread budget",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="cap on total ggml threads (default: cores)",
    )
    parser.add_argument(
        "--reviewer",
        metavar="NAME",
        help="work in the order this reviewer will meet the problems (default: the last reviewer)",
    )
    parser.add_argument(
        "--no-evaluate", action="store_true", help="only generate; do not run the tests"
    )
    parser.set_defaults(handler=generate)


def _select_problems(context: Context) -> list:
    load = context.load_suite(context.args.suite, subset=True)
    for error in load.errors:
        print(f"gradebench: {error}", file=sys.stderr)
    problems = list(load.problems)
    if context.args.limit:
        problems = problems[: context.args.limit]
    return problems


def generate(context: Context) -> int:
    from gradebench.engine.generation.prompts import load_prompt_templates
    from gradebench.engine.generation.registry import load_registry
    from gradebench.engine.generation.routing import RoutingBackend
    from gradebench.engine.generation.thread_budget import ThreadBudget
    from gradebench.engine.workflows.batch import ProgressLine, run_batch
    from gradebench.engine.workflows.batch_plan import check_model_files, plan_batch

    args = context.args
    templates = load_prompt_templates(context.config)
    registry = load_registry(context.config, styles=templates.styles)
    contenders = registry.select(args.contender)
    check_model_files(contenders)
    problems = _select_problems(context)
    db = context.open_db()
    plan = plan_batch(
        db,
        args.suite,
        problems,
        contenders,
        templates,
        samples=args.samples,
        reviewer=args.reviewer,
    )
    db.conn.close()
    jobs = plan.jobs
    if plan.first_problem:
        print(
            f"starting at {plan.first_problem}, where {plan.reviewer} resumes grading",
            file=sys.stderr,
        )
    print(
        f"{len(jobs)} answers to generate ({plan.total - len(jobs)} of {plan.total} already done)",
        file=sys.stderr,
    )
    if not jobs:
        return 0
    budget = ThreadBudget.for_machine(args.threads or registry.max_threads)
    local_seats = sum(1 for c in contenders if c.model.is_local)
    parallel = max(1, min(local_seats, budget.total))
    servers = [c.model.endpoint for c in contenders if c.model.endpoint is not None]
    server_parallel = args.parallel or sum({e.base_url: e.max_concurrent for e in servers}.values())
    backend = RoutingBackend(budget, factories=_factories(args.parallel))
    for model in {(c.model.backend, c.model.location): c.model for c in contenders}.values():
        backend.preload(model)
    progress = ProgressLine(total=len(jobs))
    tty = sys.stderr.isatty()
    last_draw = [0.0]
    draw_lock = threading.Lock()

    def draw(force: bool = False) -> None:
        now = time.monotonic()
        with draw_lock:
            if not force and now - last_draw[0] < 0.5:
                return
            last_draw[0] = now
            print("\r" + progress.render(), end="", file=sys.stderr, flush=True)

    def on_text(job, chunk: str) -> None:
        progress.token()
        if tty:
            draw()

    def on_outcome(outcome) -> None:
        progress.add(outcome)
        result = outcome.result
        if tty:
            draw(force=True)
        elif result is not None:
            verdict = f" {outcome.verdict}" if outcome.verdict else ""
            print(
                f"{outcome.job.label}: {result.stop_reason}{verdict}, {result.tokens} tokens, "
                f"{result.tokens_per_second:.1f} tok/s",
                file=sys.stderr,
            )
            if outcome.internal_error:
                print(f"{outcome.job.label}: {outcome.internal_error}", file=sys.stderr)
        if result is not None and result.stop_reason == "error" and result.error:
            lead = "\n" if tty else ""  # below the progress line
            print(f"{lead}{outcome.job.label}: {result.error}", file=sys.stderr)

    try:
        summary = run_batch(
            context.db_path,
            backend,
            jobs,
            suite=args.suite,
            parallel=parallel,
            server_parallel=server_parallel or 1,
            evaluate=None if args.no_evaluate else _evaluate(),
            on_outcome=on_outcome,
            on_text=on_text,
        )
    finally:
        if tty:
            print(file=sys.stderr)
        backend.close()
    verdicts: dict[str, int] = {}
    for outcome in summary.outcomes:
        if outcome.verdict:
            verdicts[outcome.verdict] = verdicts.get(outcome.verdict, 0) + 1
    shown = ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())) or "not evaluated"
    print(
        f"generated {len(summary.outcomes)} answers ({summary.count('done')} done, "
        f"{summary.count('max_tokens')} max_tokens, {summary.count('error')} error); tests: {shown}",
        file=sys.stderr,
    )
    if summary.reruns:
        print(
            f"{summary.reruns} test runs starved by the generations beside them (inconclusive)"
            " were run again once generation ended",
            file=sys.stderr,
        )
    internal = [o.internal_error for o in summary.outcomes if o.internal_error]
    if internal:
        print(
            f"{len(internal)} answers not tested (gradebench failed on them, verdict error);"
            f" first: {internal[0]}",
            file=sys.stderr,
        )
    return 1 if summary.count("error") or internal else 0


def _factories(server_parallel: int | None) -> dict:
    """The routing factories; with ``--parallel N`` every endpoint takes N requests at once."""
    from gradebench.engine.generation.openai_backend import OpenAIBackend
    from gradebench.engine.generation.routing import FACTORIES

    return {**FACTORIES, "openai": lambda budget: OpenAIBackend(concurrency=server_parallel)}


def _evaluate():
    from gradebench.engine.workflows.batch import default_evaluate

    return default_evaluate
