"""``gradebench diff A B``: two contenders on the same problems (``engine.reporting.diff``)."""

from __future__ import annotations

import argparse
import json
import sqlite3
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError

if TYPE_CHECKING:
    from gradebench.engine.reporting.diff import ContenderDiff
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="two contenders on the same problems: who passes where, score changes",
        description=(
            "Compare two contenders (names or ids) on the problems both answered: problems"
            " that pass in one and not the other, McNemar's exact test on those, and the"
            " problems whose mean human score differs."
        ),
    )
    parser.add_argument("first", metavar="A", help="contender name or id")
    parser.add_argument("second", metavar="B", help="contender name or id")
    parser.add_argument("--suite", help="only problems of this suite")
    parser.add_argument("--format", default="text", help="text (default) or json")
    parser.set_defaults(handler=run_diff)


def run_diff(context: Context) -> int:
    from gradebench.engine.reporting.diff import diff_contenders

    args = context.args
    if args.format not in ("text", "json"):
        raise UserError(f"--format: {args.format!r} is not text or json")
    db = context.open_db()  # migrated, and a bad --db is one line
    db.conn.close()
    conn = sqlite3.connect(context.db_path)
    try:
        diff = diff_contenders(conn, args.first, args.second, args.suite)
    finally:
        conn.close()
    print(_json(diff) if args.format == "json" else _text(diff))
    return 0


def _json(diff: ContenderDiff) -> str:
    return json.dumps(
        {
            "a": diff.a.label,
            "b": diff.b.label,
            "both_answered": len(diff.pairs),
            "both_tested": diff.tested,
            "only_a_passes": diff.only_a_passes,
            "only_b_passes": diff.only_b_passes,
            "both_pass": diff.both_pass,
            "neither_passes": diff.neither_passes,
            "mcnemar_exact_p": diff.mcnemar_p,
            "score_changes": [
                {"problem": p.problem_id, "a": p.score_a, "b": p.score_b}
                for p in diff.score_changes
            ],
        },
        indent=2,
    )


def _text(diff: ContenderDiff) -> str:
    a, b = diff.a.label, diff.b.label
    p = diff.mcnemar_p
    lines = [
        f"A = {a}, B = {b}: {len(diff.pairs)} problems answered by both, {diff.tested} tested",
        f"pass in A only ({len(diff.only_a_passes)}): {', '.join(diff.only_a_passes) or '-'}",
        f"pass in B only ({len(diff.only_b_passes)}): {', '.join(diff.only_b_passes) or '-'}",
        f"both pass: {diff.both_pass}, neither: {diff.neither_passes}",
        "McNemar's exact test on the discordant problems: "
        + ("no discordant problem" if p is None else f"p = {p:.4f}"),
    ]
    changes = diff.score_changes
    plural = "" if len(changes) == 1 else "s"
    lines.append(f"human score differs on {len(changes)} problem{plural} graded for both")
    for pair in changes:
        lines.append(f"  {pair.problem_id}  A {pair.score_a:g} -> B {pair.score_b:g}")
    return "\n".join(lines)
