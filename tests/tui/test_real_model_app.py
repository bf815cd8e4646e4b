"""Smoke test of the whole app on the real default model: the grading screen driven by
Pilot, gpt4all streaming both contenders' answers for two lowcost60 problems, grading,
voting, next, quit, and a reopened app finding the grades and the vote where they were
(read through the screen and back from SQLite), with one current answer per pair and
nothing generated again on reopening."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gradebench.engine.config import Config
from gradebench.engine.generation.default_model import installed_path
from gradebench.engine.generation.registry import load_registry
from gradebench.engine.grading.votes import current_vote
from gradebench.engine.problems.model import SuiteLoad
from gradebench.engine.problems.suites import load_suite
from gradebench.tui.app import GradebenchApp
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.tui.helpers import wait_until

pytestmark = [pytest.mark.model, pytest.mark.slow]

PATIENCE = 900.0
"""Seconds a real answer pair may take on a busy 2-core machine before the test fails."""
TESTED = ("done", "max_tokens")


def _two_lowcost60_problems(_name: str) -> SuiteLoad:
    load = load_suite("lowcost60")
    return SuiteLoad("lowcost60", load.problems[:2])


def _app(db_path) -> GradebenchApp:
    config = Config(data={"generation": {"max_threads": 1}})
    registry = load_registry(config)
    short = [
        replace(c, params=replace(c.params, max_tokens=24))
        for c in (registry.contender("smollm2-plain"), registry.contender("smollm2-cot"))
    ]
    # backend=None: the app builds its own gpt4all backend, as `gradebench` does
    return GradebenchApp(
        db_path=db_path,
        config=config,
        suite="lowcost60",
        contenders=short,
        reviewer="tess",
        ask=False,
        suite_loader=_two_lowcost60_problems,
        stable_display=True,
        seed=7,
    )


def _panes(app) -> list[AnswerPane]:
    return list(app.screen.query(AnswerPane))


def _settled(app) -> bool:
    panes = _panes(app)
    return len(panes) == 2 and all(
        p.state.answer is not None
        and (p.state.result is not None or p.state.answer.status not in TESTED)
        for p in panes
    )


async def test_grade_vote_next_quit_and_reopen_with_the_real_default_model(tmp_path) -> None:
    if not installed_path().is_file():
        pytest.fail("default model missing: run `gradebench models install-default`")
    db_path = tmp_path / "grades.db"
    first, second = (p.id for p in _two_lowcost60_problems("lowcost60").problems)

    app = _app(db_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: _settled(app), timeout=PATIENCE)
        assert app.screen.problem.id == first
        answers_1 = [p.state.answer for p in _panes(app)]
        assert all(a.status in TESTED and a.raw_answer.strip() for a in answers_1)
        await pilot.press("3", "tab", "1", "left_square_bracket")  # correct, incorrect, A better
        await pilot.press("n")
        await wait_until(
            pilot,
            lambda: app.screen.problem.id == second and _settled(app),
            timeout=PATIENCE,
        )
        answers_2 = [p.state.answer for p in _panes(app)]
        await pilot.press("2", "tab", "2")  # partially correct, both
        await pilot.press("q")

    # one current answer per (problem, contender); look-ahead (on by default) may have
    # started the second problem's answers before the reviewer opened it: those it had to
    # restart are kept, superseded
    current = app.db.execute(
        "SELECT count(*) FROM generations WHERE superseded_at IS NULL"
    ).fetchone()[0]
    assert current == 4
    generated = app.db.execute("SELECT count(*) FROM generations").fetchone()[0]
    scores = dict(
        app.db.execute("SELECT generation_id, score FROM grade_current WHERE reviewer = 'tess'")
    )
    assert scores == {
        answers_1[0].generation_id: 1.0,
        answers_1[1].generation_id: 0.0,
        answers_2[0].generation_id: 0.5,
        answers_2[1].generation_id: 0.5,
    }

    again = _app(db_path)
    async with again.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: _settled(again), timeout=PATIENCE)
        assert again.screen.problem.id == second  # all graded: back where the reviewer stopped
        assert [p.state.grade.score for p in _panes(again)] == [0.5, 0.5]
        await pilot.press("p")
        await wait_until(
            pilot, lambda: again.screen.problem.id == first and _settled(again), timeout=PATIENCE
        )
        assert [p.state.answer.generation_id for p in _panes(again)] == [
            a.generation_id for a in answers_1
        ]
        assert [p.state.grade.score for p in _panes(again)] == [1.0, 0.0]
        vote = current_vote(again.db, first, "tess")
        assert vote is not None and vote.outcome == "a"
        assert (vote.generation_a, vote.generation_b) == tuple(a.generation_id for a in answers_1)
        await pilot.press("q")
    assert again.db.execute("SELECT count(*) FROM generations").fetchone()[0] == generated
