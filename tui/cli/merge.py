"""``gradebench merge OTHER.db... [--into PATH]``: bring other reviewers' databases into
this one (``engine.workflows.merge_files`` does the work)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="bring in every row of other gradebench databases that this one lacks",
        description=(
            "Bring in every row of the other databases that the target lacks (problems,"
            " contenders, models, runs, answers, test runs, grade events, votes,"
            " presentations, assignments), in one transaction. Running it again adds nothing. Files of"
            " an older schema are migrated in a temporary copy; no other file is written."
        ),
    )
    parser.add_argument("others", nargs="+", metavar="OTHER.db", help="databases to merge in")
    parser.add_argument(
        "--into", metavar="PATH", help="target database (default: --db, ./grades.db)"
    )
    parser.set_defaults(handler=merge)


def merge(context: Context) -> int:
    from gradebench.engine.workflows.merge_files import merge_files

    target = Path(context.args.into).expanduser() if context.args.into else context.db_path
    sources = [Path(name).expanduser() for name in context.args.others]
    outcome = merge_files(target, sources)
    print(f"merged {len(sources)} file{'s' if len(sources) != 1 else ''} into {target}")
    for line in outcome.lines():
        print(f"  {line}")
    return 0
