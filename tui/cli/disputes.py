"""``gradebench dispute`` (contest a test, or withdraw) and ``gradebench disputes`` (list the
disputed tests of a suite, for sending upstream)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    dispute = subparsers.add_parser(
        "dispute",
        help="contest a test of a problem (or --withdraw)",
        description=(
            "Mark a test as wrong: its expected output, its input, or the statement. While"
            " disputed, export --tests contested recomputes every verdict without it."
        ),
    )
    dispute.add_argument("--problem", required=True, help="problem id")
    dispute.add_argument("--test", required=True, type=int, help="test number (from 0)")
    dispute.add_argument("--reviewer", required=True, help="your name")
    dispute.add_argument(
        "--reason",
        default="wrong_expected",
        help="wrong_expected (default), invalid_input, ambiguous or other",
    )
    dispute.add_argument("--note", default="", help="why, in your words")
    dispute.add_argument("--withdraw", action="store_true", help="withdraw your dispute")
    dispute.set_defaults(handler=run_dispute)
    listing = subparsers.add_parser(
        "disputes",
        help="list the disputed tests of a suite (to send upstream)",
        description="The tests reviewers dispute: input, expected output, who and why, and"
        " how many current answers each one alone fails.",
    )
    listing.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    listing.set_defaults(handler=run_disputes)


def run_dispute(context: Context) -> int:
    from gradebench.engine.grading.test_disputes import dispute_test, withdraw_dispute

    args = context.args
    db = context.open_db()
    try:
        if args.withdraw:
            withdraw_dispute(
                db, problem_id=args.problem, test_index=args.test, reviewer=args.reviewer
            )
            print(f"withdrawn: test {args.test} of {args.problem}")
        else:
            dispute_test(
                db,
                problem_id=args.problem,
                test_index=args.test,
                reviewer=args.reviewer,
                reason=args.reason,
                note=args.note,
            )
            print(f"disputed: test {args.test} of {args.problem} ({args.reason})")
    finally:
        db.conn.close()
    return 0


def run_disputes(context: Context) -> int:
    from gradebench.engine.evaluation.execution import short_repr
    from gradebench.engine.grading.test_disputes import (
        REASON_LABELS,
        answers_changed_by,
        disputed_tests,
    )

    args = context.args
    problems = {p.id: p for p in context.load_suite(args.suite).problems}
    db = context.open_db()
    try:
        disputes = disputed_tests(db.conn, list(problems))
        changed = answers_changed_by(db.conn, disputes)
    finally:
        db.conn.close()
    print(f"{len(disputes)} disputed tests in {args.suite}")
    for d in disputes:
        problem = problems[d.problem_id]
        if d.test_index >= len(problem.tests):  # disputed through the command line
            print(f"  {d.problem_id}  test {d.test_index}: no such test in this suite's file")
            continue
        test = problem.tests[d.test_index]
        expected = (
            "(the reference's output)" if test.expected is None else short_repr(test.expected)
        )
        print(
            f"  {d.problem_id}  test {d.test_index}: input {short_repr(test.args)}, expected {expected}"
        )
        for who, reason, note in d.reasons:
            print(f"    {who}: {REASON_LABELS.get(reason, reason)}{': ' + note if note else ''}")
        print(f"    answers it alone fails: {changed[d.problem_id, d.test_index]}")
    return 0
