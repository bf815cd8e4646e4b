"""Starting the grading app (``gradebench`` with no subcommand)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gradebench.engine.workflows.grading_session import (
    CONTENDER_BOUNDS,
    DEFAULT_CONTENDERS,
    PROBLEM_FILTERS,
    check_contender_names,
)

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def add_app_arguments(parser: argparse.ArgumentParser) -> None:
    """Top-level options that preset the session-start screen."""
    parser.add_argument("--suite", help="problem suite to grade (default: lowcost60)")
    parser.add_argument(
        "--contenders",
        metavar="NAMES",
        help=f"comma-separated contenders, {CONTENDER_BOUNDS[0]} to {CONTENDER_BOUNDS[1]}"
        f" (default: {','.join(DEFAULT_CONTENDERS)})",
    )
    parser.add_argument("--reviewer", help="your name (default: the last one used)")
    parser.add_argument("--blind", action="store_true", help="hide contender names, shuffle panes")
    parser.add_argument(
        "--problems",
        default="all",
        metavar="WHICH",
        help="which problems to go through: all (default), ungraded, failing, disagreeing"
        " (your grade vs the tests), assigned (your queue from gradebench assign), easy,"
        " medium, hard, unrated, or a subset: ids, globs, tag:T, difficulty:D, sample:N,"
        " seed:S, file:PATH",
    )
    parser.add_argument(
        "--diff",
        nargs=2,
        metavar=("A", "B"),
        help="only the problems that differ between two contenders or two runs, as"
        " `gradebench diff A B` lists them (default contenders: A and B)",
    )
    parser.add_argument(
        "--diff-contender",
        metavar="NAME",
        help="with --diff of two runs that answered for several contenders: the one compared",
    )
    parser.add_argument(
        "--study",
        metavar="FILE",
        help="grade a study's answers: its contenders (the first four) on the problems of its"
        " first hand-graded suite (--suite picks another of its suites)",
    )
    parser.add_argument("--sample", type=int, metavar="N", help="N problems drawn at random")
    parser.add_argument("--seed", type=int, metavar="S", help="seed of --sample (default 0)")
    parser.add_argument(
        "--start",
        action="store_true",
        help="skip the session-start screen when a reviewer is known",
    )


def start_app(context: Context) -> int:
    """Run the grading app on the real gpt4all backend."""
    from gradebench.engine.errors import UserError
    from gradebench.tui.app import GradebenchApp

    args = context.args
    contenders = None
    if getattr(args, "contenders", None):
        contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
        try:
            check_contender_names(contenders)
        except UserError:
            low, high = CONTENDER_BOUNDS
            raise UserError(
                f"--contenders: give {low} to {high} names separated by commas"
            ) from None
    which, subset = app_problems(args)
    suite = getattr(args, "suite", None)
    if getattr(args, "study", None):
        if contenders or getattr(args, "diff", None):
            raise UserError("--study: give it without --contenders and --diff")
        suite, contenders, subset = study_session(context, suite, subset)
    diff = getattr(args, "diff", None)
    if diff is not None:
        preset = diff_contenders(context, tuple(diff))
        contenders = contenders or preset
    elif getattr(args, "diff_contender", None):
        raise UserError("--diff-contender: only with --diff A B")
    from gradebench.engine.grading.rechecks import recheck_rate
    from gradebench.engine.workflows.look_ahead import look_ahead_depth

    look_ahead_depth(context.config)  # a bad [grading] value fails here, as one line
    recheck_rate(context.config)
    context.open_db().conn.close()  # a bad --db fails here, as one line
    import gpt4all  # noqa: F401  load the native library now: its dlopen notes go to the shell

    app = GradebenchApp(
        db_path=context.db_path,
        config=context.config,
        suite=suite,
        contenders=contenders,
        reviewer=getattr(args, "reviewer", None),
        blind=bool(getattr(args, "blind", False)),
        which=which,
        subset=subset,
        diff=None if diff is None else tuple(diff),
        diff_contender=getattr(args, "diff_contender", None),
        ask=not getattr(args, "start", False),
        suite_loader=context.suite_sources().load,
    )
    app.run()
    return int(app.return_code or 0)


def study_session(context: Context, suite: str | None, subset: str) -> tuple[str, list, str]:
    """(suite, contenders, subset) of ``--study FILE``: the study's contenders as objects
    (inline ones are in no config), the chosen suite (default: the first graded by hand)
    and its problems as ids, after any ``--problems`` subset."""
    from pathlib import Path

    from gradebench.engine.errors import UserError
    from gradebench.engine.generation.prompts import load_prompt_templates
    from gradebench.engine.generation.registry import load_registry
    from gradebench.engine.workflows.study import resolve_slices
    from gradebench.engine.workflows.study_file import read_study

    templates = load_prompt_templates(context.config)
    registry = load_registry(context.config, styles=templates.styles)
    study = read_study(Path(context.args.study).expanduser(), registry, templates.styles)
    slices, _ = resolve_slices(study, context.suite_sources())
    names = [s.suite for s in slices]
    chosen = suite or next((n for n in names if n in study.grading.by_hand), names[0])
    if chosen not in names:
        raise UserError(
            f"--suite: {chosen!r} is not one of the study's suites ({', '.join(names)})"
        )
    problems = next(s.problems for s in slices if s.suite == chosen)
    low, high = CONTENDER_BOUNDS
    contenders = [c.contender for c in study.contenders][:high]
    if len(contenders) < low:
        raise UserError(
            f"--study: the app compares {low} to {high} contenders; the study has {len(contenders)}"
        )
    ids = " ".join(p.id for p in problems)
    return chosen, contenders, f"{ids} {subset}".strip()


def diff_contenders(context: Context, diff: tuple[str, str]) -> list[str]:
    """Check ``--diff A B`` before the app starts (a mistake is one line, like in
    ``gradebench diff``) and the contenders to grade unless ``--contenders`` says: A and
    B, or the contender two runs are compared on beside the defaults."""
    import sqlite3

    from gradebench.engine.errors import UserError
    from gradebench.engine.reporting.diff import ContenderDiff
    from gradebench.engine.reporting.run_diff import compare

    context.open_db().conn.close()  # migrated, and a bad --db is one line
    conn = sqlite3.connect(context.db_path)
    try:
        found = compare(conn, *diff, contender=getattr(context.args, "diff_contender", None))
    finally:
        conn.close()
    if not found.differing_problems:
        raise UserError(f"--diff: no problem differs between {diff[0]} and {diff[1]}")
    if isinstance(found, ContenderDiff):
        return [found.a.name, found.b.name]
    names = [found.contender.name, *DEFAULT_CONTENDERS]
    return list(dict.fromkeys(names))[: CONTENDER_BOUNDS[1]]


def app_problems(args: argparse.Namespace) -> tuple[str, str]:
    """(which, subset text) from ``--problems``, ``--sample`` and ``--seed``."""
    from gradebench.engine.problems.subsets import parse_subset

    value = (getattr(args, "problems", None) or "all").strip()
    which, subset = (value, "") if value in PROBLEM_FILTERS else ("all", value)
    if getattr(args, "sample", None) is not None:
        subset += f" sample:{args.sample}"
    if getattr(args, "seed", None) is not None:
        subset += f" seed:{args.seed}"
    parse_subset(subset)  # a bad token fails here, as one line
    return which, subset.strip()
