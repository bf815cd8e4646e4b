"""``gradebench study plan|run|report FILE``: a study declared in a file
(``engine.workflows.study_file``), planned, run and reported."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError
from gradebench.tui.cli.generate import positive_int

if TYPE_CHECKING:
    from gradebench.engine.workflows.study_file import Study
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "study",
        help="a study from a file: plan it, run it, report it",
        description="A study: contenders x suites x samples, declared in a TOML file"
        " (see README 'Studies').",
    )
    actions = parser.add_subparsers(dest="study_action", metavar="ACTION", required=True)
    plan = actions.add_parser("plan", help="what a run will make, what is there, time and disk")
    plan.add_argument("file", help="the study file (TOML)")
    plan.set_defaults(handler=run_plan)
    run = actions.add_parser("run", help="generate and test every missing answer (resumable)")
    run.add_argument("file", help="the study file (TOML)")
    run.add_argument(
        "--reviewer",
        metavar="NAME",
        help="work in the order this reviewer meets the problems (default: the last reviewer)",
    )
    run.add_argument("--no-evaluate", action="store_true", help="only generate; no tests")
    run.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="threads for the one model running at a time (default: cores)",
    )
    run.set_defaults(handler=run_run)
    report = actions.add_parser("report", help="the study's tables, comparisons and footer")
    report.add_argument("file", help="the study file (TOML)")
    report.add_argument("--format", default="md", help="md (default), latex, html, csv, json")
    report.add_argument(
        "--table",
        default="results",
        help="csv: results (default), comparisons or temperatures",
    )
    report.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    report.set_defaults(handler=run_report)


def _load(context: Context) -> tuple[Study, object]:
    from gradebench.engine.generation.prompts import load_prompt_templates
    from gradebench.engine.generation.registry import load_registry
    from gradebench.engine.workflows.study_file import read_study

    templates = load_prompt_templates(context.config)
    registry = load_registry(context.config, styles=templates.styles)
    study = read_study(Path(context.args.file).expanduser(), registry, templates.styles)
    return study, templates


def _size(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def run_plan(context: Context) -> int:
    from gradebench.engine.workflows.batch import format_duration
    from gradebench.engine.workflows.study import plan_study

    study, templates = _load(context)
    db = context.open_db()
    try:
        plan = plan_study(db, study, context.suite_sources(), templates)
    finally:
        db.conn.close()
    for warning in plan.warnings:
        print(f"gradebench: {warning}", file=sys.stderr)
    print(f"study {study.name} ({study.path}, sha256 {study.sha256[:12]})")
    print(
        f"{len(study.contenders)} contenders x {len(study.suites)} suites x"
        f" {study.samples} sample{'s' if study.samples != 1 else ''} per pair;"
        f" pass@{', '.join(str(k) for k in study.ks)}; seed {study.seed}"
    )
    width = max(len(r.contender) for r in plan.rows)
    for piece in plan.slices:
        print(f"\n{piece.suite}: {len(piece.problems)} problems")
        for row in (r for r in plan.rows if r.suite == piece.suite):
            estimate = (
                "-"
                if not row.missing
                else "?"
                if row.seconds_per_answer is None
                else format_duration(row.missing * row.seconds_per_answer)
            )
            speed = (
                f"{row.seconds_per_answer:.1f} s/answer ({row.measured_from})"
                if row.seconds_per_answer is not None
                else row.measured_from
            )
            print(
                f"  {row.contender:<{width}}  planned {row.planned:>4}  present {row.present:>4}"
                f"  to make {row.missing:>4}  est. {estimate:>6}  {speed}"
            )
    seconds = plan.estimated_seconds
    print(
        f"\ntotal: {plan.planned} answers planned, {plan.present} present, {plan.missing} to make;"
        f" estimated time {'unknown (a contender has no measured speed yet)' if seconds is None else format_duration(seconds)}"
        f" one answer at a time; disk about {_size(plan.estimated_bytes or 0)}"
    )
    grading = study.grading
    print(
        f"grading by hand: {', '.join(grading.by_hand)}, {grading.reviewers} reviewer"
        f"{'s' if grading.reviewers != 1 else ''} per answer: {plan.graded} of {plan.to_grade}"
        " first-sample answers done"
    )
    return 0


def run_run(context: Context) -> int:
    from gradebench.engine.generation.routing import RoutingBackend
    from gradebench.engine.generation.thread_budget import ThreadBudget
    from gradebench.engine.workflows.batch import default_evaluate
    from gradebench.engine.workflows.study import plan_study, run_study
    from gradebench.engine.workflows.study_progress import StudyProgress

    args = context.args
    study, templates = _load(context)
    db = context.open_db()
    try:
        plan = plan_study(db, study, context.suite_sources(), templates, reviewer=args.reviewer)
    finally:
        db.conn.close()
    print(
        f"study {study.name}: {plan.missing} answers to make"
        f" ({plan.present} of {plan.planned} already present)",
        file=sys.stderr,
    )
    if not plan.missing:
        return 0
    progress = StudyProgress()
    for row in plan.rows:
        progress.expect(row.contender, row.missing, row.seconds_per_answer)
    tty = sys.stderr.isatty()
    lock = threading.Lock()
    last = [0.0]

    def draw(force: bool = False) -> None:
        now = time.monotonic()
        with lock:
            if force or now - last[0] >= 0.5:
                last[0] = now
                line = progress.render()
                # on a terminal: redraw in place, clearing what a longer line left behind
                text = f"\r{line}\x1b[K" if tty else f"{line}\n"
                print(text, end="", file=sys.stderr, flush=True)

    def on_outcome(outcome) -> None:
        progress.add(outcome)
        result = outcome.result
        if result is not None and result.stop_reason == "error" and result.error:
            print(f"\n{outcome.job.label}: {result.error}", file=sys.stderr)
        draw(force=True)

    def make_backend(contenders):
        backend = RoutingBackend(ThreadBudget.for_machine(args.threads))
        for model in {(c.model.backend, c.model.location): c.model for c in contenders}.values():
            backend.preload(model)
        return backend

    try:
        summaries = run_study(
            context.db_path,
            plan,
            templates,
            make_backend,
            evaluate=None if args.no_evaluate else default_evaluate,
            reviewer=args.reviewer,
            on_outcome=on_outcome,
            on_text=(lambda job, chunk: draw()) if tty else None,
        )
    finally:
        if tty:
            print(file=sys.stderr)
    made = sum(len(s.outcomes) for s in summaries)
    errors = sum(s.count("error") for s in summaries)
    reruns = sum(s.reruns for s in summaries)
    print(
        f"study {study.name}: made {made} answers ({errors} error)"
        + (f"; {reruns} starved test runs run again" if reruns else ""),
        file=sys.stderr,
    )
    return 1 if errors else 0


def run_report(context: Context) -> int:
    from gradebench.engine.reporting.formats.study_document import STUDY_FORMATS, render_study
    from gradebench.engine.workflows.study import report_study

    args = context.args
    if args.format not in STUDY_FORMATS:
        raise UserError(f"--format: {args.format!r} is not one of {', '.join(STUDY_FORMATS)}")
    output = Path(args.output).expanduser() if args.output else None
    if output is not None and not output.parent.is_dir():
        raise UserError(f"-o: folder {output.parent} does not exist")
    study, templates = _load(context)
    db = context.open_db()
    try:
        report = report_study(db, study, context.suite_sources(), templates)
    finally:
        db.conn.close()
    text = render_study(report, args.format, args.table)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0
