"""``gradebench diff A B``: two contenders on the same problems, or two runs of one
contender answer by answer (``engine.reporting.diff``, ``engine.reporting.run_diff``);
``gradebench diff --runs`` lists the runs to choose from."""

from __future__ import annotations

import argparse
import json
import sqlite3
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError

if TYPE_CHECKING:
    from gradebench.engine.reporting.diff import ContenderDiff, ProblemPair
    from gradebench.engine.reporting.run_diff import RunDiff, RunInfo
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="two contenders, or two runs of one: who passes where, verdict and score changes",
        description=(
            "Compare two contenders (names or ids) on the problems both answered, or two"
            " runs (ids, or unique starts of ids: see --runs) of one contender on the answers"
            " both made: problems that pass in one and not the other, McNemar's exact test on"
            " those, the answers whose verdict changed, and the human score changes."
            " `gradebench --diff A B` grades only the problems that differ."
        ),
    )
    parser.add_argument("first", metavar="A", nargs="?", help="contender name or id, or run id")
    parser.add_argument("second", metavar="B", nargs="?", help="contender name or id, or run id")
    parser.add_argument(
        "--contender",
        metavar="NAME",
        help="for two runs that both answered for several contenders: the one to compare",
    )
    parser.add_argument("--suite", help="only problems of this suite")
    parser.add_argument(
        "--runs", action="store_true", help="list the runs (id, kind, suite, started, answers)"
    )
    parser.add_argument("--format", default="text", help="text (default) or json")
    parser.set_defaults(handler=run_diff)


def run_diff(context: Context) -> int:
    from gradebench.engine.reporting.run_diff import RunDiff, compare, list_runs

    args = context.args
    if args.format not in ("text", "json"):
        raise UserError(f"--format: {args.format!r} is not text or json")
    if not args.runs and (args.first is None or args.second is None):
        raise UserError("diff: give A and B (two contenders or two run ids), or --runs")
    if args.runs and args.first is not None:
        raise UserError("diff: --runs lists the runs; give it without A and B")
    db = context.open_db()  # migrated, and a bad --db is one line
    db.conn.close()
    conn = sqlite3.connect(context.db_path)
    try:
        if args.runs:
            runs = list_runs(conn)
            print(_runs_json(runs) if args.format == "json" else _runs_text(runs))
            return 0
        diff = compare(conn, args.first, args.second, contender=args.contender, suite=args.suite)
    finally:
        conn.close()
    if args.format == "json":
        print(json.dumps(_json(diff), indent=2))
    elif isinstance(diff, RunDiff):
        print(_run_text(diff))
    else:
        print(_text(diff))
    return 0


def _json(diff: ContenderDiff | RunDiff) -> dict:
    from gradebench.engine.reporting.run_diff import RunDiff

    found: dict = {"a": diff.label_a, "b": diff.label_b}
    if isinstance(diff, RunDiff):
        found["contender"] = diff.contender.label
        found["both_answered"] = len(diff.answers)
        found["first_samples_both_answered"] = len(diff.pairs)
    else:
        found["both_answered"] = len(diff.pairs)
    found |= {
        "both_tested": diff.tested,
        "only_a_passes": diff.only_a_passes,
        "only_b_passes": diff.only_b_passes,
        "both_pass": diff.both_pass,
        "neither_passes": diff.neither_passes,
        "mcnemar_exact_p": diff.mcnemar_p,
        "verdict_changes": [
            {"problem": p.problem_id, "sample": p.sample_index, "a": p.verdict_a, "b": p.verdict_b}
            for p in diff.verdict_changes
        ],
        "score_changes": [
            {"problem": p.problem_id, "a": p.score_a, "b": p.score_b}
            | ({"sample": p.sample_index} if isinstance(diff, RunDiff) else {})
            for p in diff.score_changes
        ],
        "differing_problems": diff.differing_problems,
    }
    return found


def _figures(diff: ContenderDiff | RunDiff) -> list[str]:
    """The lines both kinds of diff share, after their first line."""
    p = diff.mcnemar_p
    return [
        f"pass in A only ({len(diff.only_a_passes)}): {', '.join(diff.only_a_passes) or '-'}",
        f"pass in B only ({len(diff.only_b_passes)}): {', '.join(diff.only_b_passes) or '-'}",
        f"both pass: {diff.both_pass}, neither: {diff.neither_passes}",
        "McNemar's exact test on the discordant problems: "
        + ("no discordant problem" if p is None else f"p = {p:.4f}"),
    ]


def _answer(pair: ProblemPair, samples: bool) -> str:
    return f"{pair.problem_id}#{pair.sample_index}" if samples else pair.problem_id


def _changes(diff: ContenderDiff | RunDiff, samples: bool, both: str) -> list[str]:
    """The answers whose verdict changed (a table), the score changes, and the problems
    that differ (what ``gradebench --diff A B`` grades)."""
    changed = diff.verdict_changes
    unit = "answer" if samples else "problem"
    lines = [f"verdict differs on {len(changed)} of {diff.answers_tested} {unit}s tested {both}"]
    if changed:
        rows = [("problem", "sample", "A", "B")] if samples else [("problem", "A", "B")]
        for pair in changed:
            verdicts = (pair.verdict_a or "", pair.verdict_b or "")
            rows.append(
                (pair.problem_id, str(pair.sample_index), *verdicts)
                if samples
                else (pair.problem_id, *verdicts)
            )
        lines += _table(rows, indent="  ")
    scores = diff.score_changes
    plural = "" if len(scores) == 1 else "s"
    lines.append(f"human score differs on {len(scores)} {unit}{plural} graded {both}")
    for pair in scores:
        lines.append(f"  {_answer(pair, samples)}  A {pair.score_a:g} -> B {pair.score_b:g}")
    differing = diff.differing_problems
    lines.append(f"problems that differ ({len(differing)}): {', '.join(differing) or '-'}")
    return lines


def _text(diff: ContenderDiff) -> str:
    a, b = diff.a.label, diff.b.label
    lines = [
        f"A = {a}, B = {b}: {len(diff.pairs)} problems answered by both, {diff.tested} tested",
        *_figures(diff),
        *_changes(diff, samples=False, both="for both"),
    ]
    return "\n".join(lines)


def _run_text(diff: RunDiff) -> str:
    lines = [
        f"A = run {_run_line(diff.a)}",
        f"B = run {_run_line(diff.b)}",
        f"contender {diff.contender.label}: {len(diff.answers)} answers made in both runs"
        f" ({len(diff.pairs)} first samples, {diff.tested} tested in both)",
        *_figures(diff),
        *_changes(diff, samples=True, both="in both runs"),
    ]
    return "\n".join(lines)


def _run_line(run: RunInfo) -> str:
    return f"{run.id} ({run.kind}, {run.suite or '-'}, started {run.started_at[:19]})"


def _runs_json(runs: list[RunInfo]) -> str:
    return json.dumps(
        [
            {
                "id": r.id,
                "kind": r.kind,
                "suite": r.suite,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "answers": r.answers,
                "contenders": list(r.contenders),
            }
            for r in runs
        ],
        indent=2,
    )


def _runs_text(runs: list[RunInfo]) -> str:
    if not runs:
        return "no runs yet"
    rows = [("id", "kind", "suite", "started", "answers", "contenders")]
    rows += [
        (
            r.id,
            r.kind,
            r.suite or "-",
            r.started_at[:19].replace("T", " "),
            str(r.answers),
            ", ".join(r.contenders) or "-",
        )
        for r in runs
    ]
    return "\n".join(_table(rows))


def _table(rows: list[tuple[str, ...]], indent: str = "") -> list[str]:
    """Rows as left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
