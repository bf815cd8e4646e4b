"""``gradebench problems list|check``: what a suite holds, and whether its references pass."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.cli import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("problems", help="list or check a problem suite")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    listing = actions.add_parser("list", help="list a suite's problems")
    listing.add_argument(
        "--suite", required=True, help="suite name (see `gradebench problems suites`)"
    )
    listing.set_defaults(handler=list_problems)
    suites = actions.add_parser("suites", help="list the suites")
    suites.set_defaults(handler=list_suites)
    parser.set_defaults(handler=lambda context: parser.print_help() or 2)


def report_load_errors(load) -> None:  # SuiteLoad
    for error in load.errors:
        print(f"gradebench: {error}", file=sys.stderr)


def list_problems(context: Context) -> int:
    load = context.load_suite(context.args.suite)
    report_load_errors(load)
    for problem in load.problems:
        tags = ",".join(problem.tags)
        print(
            f"{problem.id}\t{problem.difficulty}\t{len(problem.tests)} tests\t{tags}\t{problem.title}"
        )
    counts = Counter(p.difficulty for p in load.problems)
    summary = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
    print(f"{len(load.problems)} problems ({summary}), {len(load.errors)} errors", file=sys.stderr)
    return 1 if load.errors else 0


def list_suites(context: Context) -> int:
    from engine.suites import available_suites

    for name in available_suites(context.config.problem_roots()):
        print(name)
    return 0
