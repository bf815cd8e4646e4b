"""``gradebench assign`` (split a suite among reviewers, or write one reviewer's handout)
and ``gradebench status`` (each reviewer's progress and agreement so far)."""

from __future__ import annotations

import argparse
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError
from gradebench.engine.problems.subsets import split_list

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    assign = subparsers.add_parser(
        "assign",
        help="split a suite's problems among reviewers, or write one reviewer's handout",
        description=(
            "With --reviewers: give every problem of the suite to --overlap reviewers,"
            " balanced and seeded, stored as a new batch (it replaces earlier batches for"
            " these problems). A reviewer then grades their queue with --problems assigned."
            " With --handout NAME -o FILE: write a small database holding NAME's queue and its"
            " answers, to grade on another machine and bring back with gradebench merge."
        ),
    )
    assign.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    assign.add_argument("--reviewers", metavar="NAMES", help="comma-separated, e.g. ann,bob,cy")
    assign.add_argument(
        "--overlap", type=int, default=2, metavar="K", help="reviewers per problem (default 2)"
    )
    assign.add_argument(
        "--seed", dest="assign_seed", type=int, default=0, help="seed of the split (default 0)"
    )
    assign.add_argument("--handout", metavar="NAME", help="write this reviewer's handout")
    assign.add_argument("-o", "--output", metavar="FILE", help="the handout file (new)")
    assign.set_defaults(handler=run_assign)
    status = subparsers.add_parser(
        "status",
        help="each assigned reviewer's progress and agreement so far",
        description=(
            "For the assignment in force on the suite's problems: per reviewer, problems done"
            " (every current answer graded) of those assigned, and agreement so far (answers"
            " they graded that another reviewer also graded, and how many got the same score)."
        ),
    )
    status.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    status.set_defaults(handler=run_status)


def _problem_ids(context: Context) -> list[str]:
    return [p.id for p in context.load_suite(context.args.suite).problems]


def run_assign(context: Context) -> int:
    args = context.args
    if args.handout is not None:
        if args.reviewers:
            raise UserError("assign: give either --reviewers (split) or --handout (write a file)")
        if not args.output:
            raise UserError("assign: --handout needs -o FILE")
        return _write_handout(context)
    if not args.reviewers:
        raise UserError("assign: --reviewers NAMES is needed (or --handout NAME -o FILE)")
    from gradebench.engine.grading.assignments import assign_problems

    problem_ids = _problem_ids(context)
    db = context.open_db()
    try:
        queues = assign_problems(
            db, args.suite, problem_ids, split_list(args.reviewers), args.overlap, args.assign_seed
        )
    finally:
        db.conn.close()
    print(
        f"assigned {len(problem_ids)} problems of {args.suite} to {len(queues)} reviewers,"
        f" {args.overlap} per problem (seed {args.assign_seed})"
    )
    width = max(len(name) for name in queues)
    for name, queue in queues.items():
        print(f"  {name:<{width}}  {len(queue)} problems")
    if args.overlap > 1:
        shared = {(a, b): len(set(queues[a]) & set(queues[b])) for a, b in combinations(queues, 2)}
        print("  shared: " + ", ".join(f"{a}+{b} {n}" for (a, b), n in shared.items()))
    return 0


def _write_handout(context: Context) -> int:
    from gradebench.engine.workflows.reviewer_handout import write_reviewer_handout

    args = context.args
    destination = Path(args.output).expanduser()
    handout = write_reviewer_handout(
        context.db_path, destination, args.handout.strip(), _problem_ids(context)
    )
    rows = handout.rows
    print(
        f"{destination}: {len(handout.queue)} problems for {args.handout},"
        f" {rows['generations']} answers, {rows['executions']} test runs,"
        f" {rows['grade_events']} of their own grade events"
    )
    if handout.without_answers:
        print(
            f"  {len(handout.without_answers)} of these problems have no answer yet: run"
            " gradebench generate first, or the reviewer's app generates its own (then no"
            " other reviewer grades the same answer)"
        )
    print(
        f"  grade it with: gradebench --db {destination.name} --suite {args.suite}"
        f" --reviewer {args.handout} --problems assigned; bring it back with: gradebench merge"
        f" {destination.name}"
    )
    return 0


def run_status(context: Context) -> int:
    from gradebench.engine.grading.assignments import team_status

    problem_ids = _problem_ids(context)
    db = context.open_db()
    try:
        statuses = team_status(db, problem_ids)
    finally:
        db.conn.close()
    if not statuses:
        raise UserError(f"status: nothing is assigned in suite {context.args.suite}")
    width = max(len("reviewer"), *(len(s.reviewer) for s in statuses))
    print(f"{'reviewer':<{width}}  done / assigned  agreement so far")
    for s in statuses:
        agreement = (
            "-"
            if s.agreement is None
            else f"{100 * s.agreement:.0f}% of {s.compared} answers also graded by others"
        )
        print(f"{s.reviewer:<{width}}  {s.done:>4} / {s.assigned:<8}  {agreement}")
    return 0
