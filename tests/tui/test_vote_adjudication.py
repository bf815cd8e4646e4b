"""Vote adjudication: pairs whose reviewers voted for different answers are found by the
answers they named (not the panes), one key settles a pair, names stay hidden until then,
and ``--combine adjudicated`` counts the settlement instead of the votes."""

from __future__ import annotations

from gradebench.engine.grading.rubric import Rubric
from gradebench.engine.grading.vote_adjudication import vote_disputes
from gradebench.engine.grading.votes import record_vote
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from gradebench.engine.store.database import open_db
from gradebench.tui.adjudicate_app import AdjudicationApp
from tests.seed import add_generation


def _header(app) -> str:
    return str(app.screen.query_one("#vote-header").render())


def _seed(tmp_path):
    """Problem p1: ann prefers x (left pane), bob prefers x too but from the right pane
    (the same vote), cy prefers y: disputed. Problem p2: ann and bob both say tie."""
    db = open_db(tmp_path / "grades.db")
    x1, y1 = add_generation(db, "demo/p1", "model-x"), add_generation(db, "demo/p1", "model-y")
    x2, y2 = add_generation(db, "demo/p2", "model-x"), add_generation(db, "demo/p2", "model-y")
    for reviewer, a, b, outcome in (
        ("ann", x1, y1, "a"),
        ("bob", y1, x1, "b"),
        ("cy", x1, y1, "b"),
    ):
        record_vote(
            db,
            problem_id="demo/p1",
            reviewer=reviewer,
            generation_a=a,
            generation_b=b,
            outcome=outcome,
        )
    for reviewer in ("ann", "bob"):
        record_vote(
            db,
            problem_id="demo/p2",
            reviewer=reviewer,
            generation_a=x2,
            generation_b=y2,
            outcome="tie",
        )
    return db, (x1, y1)


def test_votes_are_compared_by_the_answers_they_name(tmp_path) -> None:
    db, (x1, y1) = _seed(tmp_path)
    (dispute,) = vote_disputes(db, ["demo/p1", "demo/p2"])
    assert (dispute.problem_id, {dispute.low, dispute.high}) == ("demo/p1", {x1, y1})
    x_side = "low" if dispute.low == x1 else "high"
    y_side = "high" if x_side == "low" else "low"
    assert [(v.reviewer, v.side) for v in dispute.votes] == [
        ("ann", x_side),
        ("bob", x_side),
        ("cy", y_side),
    ]


async def test_one_key_settles_a_pair_and_the_export_counts_the_settlement(tmp_path) -> None:
    db, (x1, _y1) = _seed(tmp_path)
    disputes = vote_disputes(db, ["demo/p1", "demo/p2"])
    names = {"model-x": "model-x", "model-y": "model-y"}
    app = AdjudicationApp(db, disputes, Rubric(), names, "dee", votes=True)
    async with app.run_test(size=(150, 40)) as pilot:
        assert "vote disagreement 1 of 1" in _header(app)
        titles = [app.screen.query_one(f"#vote-{w}").border_title for w in ("first", "second")]
        assert titles == ["first", "second"]  # names hidden
        await pilot.press("3")  # adopt cy's vote: y better
        assert "1 settled" in _header(app)
        titles = [app.screen.query_one(f"#vote-{w}").border_title for w in ("first", "second")]
        assert all("model-" in t for t in titles)  # revealed once settled
    (row,) = db.execute(
        "SELECT adjudicator, side, adopted_vote_id IS NOT NULL FROM vote_adjudications"
    ).fetchall()
    y_side = "high" if disputes[0].low == x1 else "low"
    assert row == ("dee", y_side, 1)

    def record(combine: str) -> dict[str, tuple[int, int, int]]:
        report = build_report(db.conn, Selection(combine=combine))
        assert report.agreement.votes_disputed == 1
        assert report.agreement.votes_adjudicated == 1
        return {s.contender: (s.wins, s.ties, s.losses) for s in report.pairwise.standings}

    # the reviewers' votes: x wins twice, y once, and p2's two ties
    assert record("mean") == {"model-x": (2, 2, 1), "model-y": (1, 2, 2)}
    # adjudicated: p1 counts once, as settled (y better); p2 keeps its two ties
    assert record("adjudicated") == {"model-x": (0, 2, 1), "model-y": (1, 2, 0)}


async def test_own_vote_keys_and_nothing_to_settle(tmp_path) -> None:
    db, _pair = _seed(tmp_path)
    app = AdjudicationApp(db, vote_disputes(db, ["demo/p1"]), Rubric(), {}, "dee", votes=True)
    async with app.run_test(size=(150, 40)) as pilot:
        await pilot.press("equals_sign")
    assert db.execute("SELECT side, adopted_vote_id FROM vote_adjudications").fetchall() == [
        ("tie", None)
    ]
    empty = AdjudicationApp(db, [], Rubric(), {}, "dee", votes=True)
    async with empty.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "no vote disagreements" in _header(empty)
