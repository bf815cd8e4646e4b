"""The adjudication screen: one key adopts a reviewer's grade, ``g`` and a score key give
the adjudicator's own; the contender's name stays hidden until the answer is settled."""

from __future__ import annotations

from gradebench.engine.grading.adjudication import disagreements
from gradebench.engine.grading.grades import record_grade
from gradebench.engine.grading.rubric import Rubric
from gradebench.engine.store.database import open_db
from gradebench.tui.adjudicate_app import AdjudicationApp
from tests.seed import add_generation


def _header(app) -> str:
    return str(app.screen.query_one("#adjudication-header").render())


async def test_keys_settle_disputes_and_reveal_the_contender_only_after(tmp_path):
    db = open_db(tmp_path / "grades.db")
    first = add_generation(db, "demo/p1", "secret-contender", "fail")
    second = add_generation(db, "demo/p2", "secret-contender", "pass")
    for answer, scores in ((first, (1.0, 0.0)), (second, (0.5, 1.0))):
        for reviewer, score in zip(("ann", "bob"), scores, strict=True):
            record_grade(db, generation_id=answer, reviewer=reviewer, score=score)
    disputes = disagreements(db, ["demo/p1", "demo/p2"])
    names = {"secret-contender": "secret-contender"}
    app = AdjudicationApp(db, disputes, Rubric(), names, "cy")

    async with app.run_test(size=(140, 40)) as pilot:
        assert "disagreement 1 of 2" in _header(app)
        assert "secret-contender" not in _header(app) and "hidden" in _header(app)
        await pilot.press("2")  # adopt bob's 0
        assert "secret-contender" in _header(app) and "1 settled" in _header(app)
        await pilot.press("n", "g", "3")  # own grade: the third level, correct (1)
        assert "2 settled" in _header(app)
        await pilot.press("9")  # no ninth reviewer: nothing happens

    rows = db.execute(
        "SELECT generation_id, adjudicator, score, adopted_event_id IS NOT NULL"
        " FROM adjudications ORDER BY rowid"
    ).fetchall()
    assert rows == [(first, "cy", 0.0, 1), (second, "cy", 1.0, 0)]


async def test_with_nothing_to_settle_the_screen_says_so(tmp_path):
    db = open_db(tmp_path / "grades.db")
    app = AdjudicationApp(db, [], Rubric(), {}, "cy")
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "no disagreements to settle" in _header(app)
