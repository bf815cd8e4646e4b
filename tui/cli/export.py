"""``gradebench export``: the results table (or every raw grade) as CSV, JSON, MD, LaTeX, HTML."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gradebench.tui.cli.subsets import add_subset_arguments

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context

FORMATS = ("csv", "json", "md", "latex", "html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export results or raw grades (csv, json, md, latex, html)",
        description="Export the aggregate results table, or with --raw every grade event.",
    )
    parser.add_argument("--format", required=True, help=f"one of {', '.join(FORMATS)}")
    parser.add_argument(
        "--by",
        default="contender",
        help="group by these keys, comma-separated: contender, difficulty, tag (default contender)",
    )
    parser.add_argument("--suite", help="only problems of this suite")
    parser.add_argument(
        "--reviewer", action="append", default=[], help="only this reviewer's grades (repeatable)"
    )
    parser.add_argument(
        "--contender",
        action="append",
        default=[],
        help="only this contender (name or id; repeatable)",
    )
    parser.add_argument(
        "--combine",
        default="mean",
        help="how several reviewers' grades of one answer combine: mean (default), majority,"
        " or adjudicated (the adjudicator's final grade where there is one, else the mean)",
    )
    parser.add_argument(
        "--raw", action="store_true", help="every grade event, one row each (csv or json)"
    )
    parser.add_argument(
        "--tests",
        default="published",
        help="published (default): verdicts over every test; contested: without the tests"
        " reviewers dispute (gradebench disputes lists them)",
    )
    parser.add_argument(
        "--table",
        default="results",
        help="with --format csv, which table: results (default), agreement (kappas,"
        " disputed and adjudicated answers), reviewers (pace, position bias, rechecks), or"
        " extraction (how often reviewers changed the code tested, per contender and method),"
        " or disputes (the disputed tests)",
    )
    parser.add_argument("--seed", type=int, default=None, help="bootstrap seed (default fixed)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_subset_arguments(parser, seed_flag="--sample-seed")
    parser.set_defaults(handler=export)


def export(context: Context) -> int:
    from gradebench.engine.errors import UserError
    from gradebench.engine.reporting import stats
    from gradebench.engine.reporting.export import render_report
    from gradebench.engine.reporting.formats.csv_table import CSV_TABLES
    from gradebench.engine.reporting.model import Selection
    from gradebench.engine.reporting.raw_grades import RAW_FORMATS, write_raw_grades
    from gradebench.engine.reporting.report import build_report
    from gradebench.engine.reporting.selection import parse_by

    args = context.args
    fmt = args.format.lower()
    if fmt not in FORMATS:
        raise UserError(
            f"--format: unknown format {args.format!r} (choose from {', '.join(FORMATS)})"
        )
    tests = args.tests.lower()
    if tests not in ("published", "contested"):
        raise UserError(f"--tests: published or contested, not {args.tests!r}")
    table = args.table.lower()
    if table not in CSV_TABLES:
        raise UserError(
            f"--table: unknown table {args.table!r} (choose from {', '.join(CSV_TABLES)})"
        )
    if table != "results" and (fmt != "csv" or args.raw):
        raise UserError(f"--table: only a CSV report holds one table per file ({fmt} has all)")
    if args.raw and fmt not in RAW_FORMATS:
        raise UserError(f"--format: --raw exports csv or json, not {fmt}")
    by = parse_by(args.by)
    output = Path(args.output).expanduser() if args.output else None
    if output is not None and not output.parent.is_dir():
        raise UserError(f"-o: folder {output.parent} does not exist")
    if not context.db_path.exists():
        raise UserError(f"database {context.db_path}: does not exist (nothing graded yet)")
    problem_ids = None
    subset = context.subset()
    if not subset.is_everything():
        if args.suite is None:
            raise UserError("--suite: needed to choose a subset of its problems")
        problem_ids = tuple(p.id for p in context.load_suite(args.suite, subset=True).problems)
    selection = Selection(
        suite=args.suite,
        problem_ids=problem_ids,
        reviewers=tuple(args.reviewer),
        contenders=tuple(args.contender),
        combine=args.combine,
        tests=tests,
        seed=stats.DEFAULT_SEED if args.seed is None else args.seed,
    )
    db = context.open_db()
    if args.raw:
        if output is None:
            count = write_raw_grades(db.conn, selection, fmt, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as stream:
                count = write_raw_grades(db.conn, selection, fmt, stream)
        print(f"{count} grade events", file=sys.stderr)
        return 0
    text = render_report(build_report(db.conn, selection, by=by), fmt, table)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    return 0
