"""``gradebench --diff A B``: the app grades only the problems ``gradebench diff`` finds
differing (here between two real runs of one contender), and nothing else."""

from __future__ import annotations

import json

from textual.widgets import Static

from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.tui.helpers import DEMO_SUITE, make_app, wait_until
from tests.two_runs import CHANGED, build_two_runs

DEMO_ORDER = ["demo/add-two", "demo/counter-class", "demo/unique-sorted"]
DIFFERING = [p for p in DEMO_ORDER if p in CHANGED]


def shown(app) -> str | None:
    panes = list(app.screen.query(AnswerPane))
    answer = panes[0].state.answer if panes else None
    return None if answer is None else answer.problem_id


async def test_the_app_opens_on_only_the_problems_that_differ_between_two_runs(tmp_path, cli):
    first, second = build_two_runs(tmp_path / "grades.db", DEMO_SUITE, tmp_path)
    listed = json.loads(cli("diff", first, second, "--format", "json").out)
    assert listed["differing_problems"] == sorted(CHANGED)

    app = make_app(tmp_path, diff=(first, second))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: app.session is not None and shown(app) is not None)
        assert [p.id for p in app.session.problems] == DIFFERING
        header = str(app.screen.query_one("#progress").render())
        assert f"problem 1 of {len(DIFFERING)}" in header
        assert shown(app) == DIFFERING[0]
        await pilot.press("n")
        await wait_until(pilot, lambda: shown(app) == DIFFERING[1])
        run_id = app.session.run_id
    settings = app.db.execute("SELECT settings FROM runs WHERE id = ?", [run_id]).fetchone()[0]
    assert json.loads(settings)["diff"] == [first, second, None]


async def test_the_start_form_says_the_diff_and_keeps_it(tmp_path):
    first, second = build_two_runs(tmp_path / "grades.db", DEMO_SUITE, tmp_path)
    app = make_app(tmp_path, diff=(first, second), ask=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#diff")))
        note = str(app.screen.query_one("#diff", Static).render())
        assert note == f"Only the problems that differ: {first} vs {second}"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.session is not None)
        assert [p.id for p in app.session.problems] == DIFFERING


async def test_a_diff_the_session_cannot_use_is_said_on_the_form(tmp_path):
    first, _ = build_two_runs(tmp_path / "grades.db", DEMO_SUITE, tmp_path)
    app = make_app(tmp_path, diff=(first, first[:-1]))  # a run against itself
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: bool(app.screen.query("#diff")))
        assert app.session is None
        messages = [n.message for n in app._notifications]
        assert any("give two different runs" in m for m in messages), messages


def test_a_bad_diff_for_the_app_is_one_line_before_it_starts(tmp_path, cli):
    first, second = build_two_runs(tmp_path / "grades.db", DEMO_SUITE, tmp_path)
    cases = [
        (("--diff", "nobody", second), "unknown contender 'nobody'"),
        (("--diff", first, "fake-plain"), "not one of each"),
        (("--diff-contender", "fake-plain"), "--diff-contender: only with --diff A B"),
        (("--diff", first, second, "--diff-contender", "zed"), "unknown contender 'zed'"),
    ]
    for args, expected in cases:
        result = cli(*args, "--suite", DEMO_SUITE, "--reviewer", "tess", "--start")
        assert result.code != 0 and expected in result.err, (args, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
