"""``gradebench adjudicate --suite S --adjudicator NAME``: settle the answers whose reviewers
disagree, one key each (``tui/screens/adjudication.py``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "adjudicate",
        help="settle the answers whose reviewers disagree (a screen, one key each)",
        description=(
            "Shows each current answer whose reviewers gave different scores (or format"
            " flags), its code and test result beside every reviewer's grade and note;"
            " 1-9 adopt a reviewer's grade, g then a score key gives your own. Each"
            " settlement is an append-only adjudication; gradebench export --combine"
            " adjudicated uses them. --list prints the disagreements instead."
        ),
    )
    parser.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    parser.add_argument("--adjudicator", help="your name (required unless --list)")
    parser.add_argument("--list", action="store_true", help="print the disagreements and exit")
    parser.add_argument(
        "--votes",
        action="store_true",
        help="settle the pairs of answers whose reviewers voted differently instead",
    )
    parser.set_defaults(handler=run_adjudicate)


def run_adjudicate(context: Context) -> int:
    from gradebench.engine.grading.adjudication import disagreements
    from gradebench.engine.grading.rubric import rubric_from_config
    from gradebench.engine.store.contenders import contender_names

    args = context.args
    if not args.list and not (args.adjudicator or "").strip():
        raise UserError("adjudicate: --adjudicator NAME is needed (or --list)")
    problem_ids = [p.id for p in context.load_suite(args.suite).problems]
    if args.votes:
        return _adjudicate_votes(context, problem_ids)
    db = context.open_db()
    disputes = disagreements(db, problem_ids)
    names = contender_names(db)
    if args.list:
        db.conn.close()
        print(f"{len(disputes)} answers whose reviewers disagree in {args.suite}")
        for d in disputes:
            grades = ", ".join(f"{g.reviewer} {g.score:g}" for g in d.grades)
            state = "" if d.settled is None else f"  -> settled {d.settled.score:g}"
            # blind like the screen: the answer, not its contender, until it is settled
            who = names.get(d.contender_id, "?") if d.settled else f"answer {d.generation_id[-6:]}"
            print(f"  {d.problem_id}  {who}: {grades}{state}")
        return 0
    from gradebench.tui.adjudicate_app import AdjudicationApp

    app = AdjudicationApp(db, disputes, rubric_from_config(context.config), names, args.adjudicator)
    try:
        app.run()
    finally:
        db.conn.close()
    return 0


def _adjudicate_votes(context: Context, problem_ids: list[str]) -> int:
    from gradebench.engine.grading.rubric import rubric_from_config
    from gradebench.engine.grading.vote_adjudication import vote_disputes
    from gradebench.engine.store.contenders import contender_names
    from gradebench.tui.screens.vote_adjudication import SIDE_WORDS

    args = context.args
    db = context.open_db()
    disputes = vote_disputes(db, problem_ids)
    names = contender_names(db)
    if args.list:
        db.conn.close()
        print(f"{len(disputes)} pairs of answers whose reviewers voted differently in {args.suite}")
        for d in disputes:
            votes = ", ".join(f"{v.reviewer} {SIDE_WORDS[v.side]}" for v in d.votes)
            state = "" if d.settled is None else f"  -> settled {SIDE_WORDS[d.settled.side]}"
            pair = (
                f"{names.get(d.contender_low, '?')} / {names.get(d.contender_high, '?')}"
                if d.settled
                else f"answers {d.low[-6:]} / {d.high[-6:]}"
            )
            print(f"  {d.problem_id}  {pair}: {votes}{state}")
        return 0
    from gradebench.tui.adjudicate_app import AdjudicationApp

    app = AdjudicationApp(
        db, disputes, rubric_from_config(context.config), names, args.adjudicator, votes=True
    )
    try:
        app.run()
    finally:
        db.conn.close()
    return 0
