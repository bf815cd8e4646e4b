"""Contesting a test from the app (Pilot, scripted answer, real sandbox runs): ``d`` lists
the problem's tests with the answer's outcome on each, a reason key disputes the
highlighted test, the pane then shows the verdict without it beside the published one,
and ``w`` withdraws the dispute."""

from __future__ import annotations

from gradebench.tui.screens.problem_tests import ProblemTestsScreen
from tests.fakes import FakeBackend
from tests.tui.helpers import make_app, wait_until

OFF_ON_FIRST = "```python\ndef add(a, b):\n    return 0 if (a, b) == (2, 3) else a + b\n```\n"


def _result_text(pane) -> str:
    return str(pane.query_one(".answer-result").render())


async def test_d_disputes_the_highlighted_test_and_w_withdraws_it(tmp_path) -> None:
    app = make_app(tmp_path, FakeBackend(answers={"sum of the integers": OFF_ON_FIRST}))
    async with app.run_test(size=(140, 40)) as pilot:
        pane = app.screen.panes[0]
        await wait_until(pilot, lambda: pane.state.result is not None)
        assert (pane.state.result.verdict, pane.state.result.passed) == ("fail", 2)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemTestsScreen))
        options = app.screen.query_one("#test-options")
        assert "[fail]" in str(options.get_option_at_index(0).prompt)
        assert "[pass]" in str(options.get_option_at_index(1).prompt)
        await pilot.press("1")  # wrong expected output
        assert "DISPUTED by you" in str(options.get_option_at_index(0).prompt)
        rows = app.db.execute(
            "SELECT test_index, reviewer, reason, withdraws_id FROM test_disputes"
        ).fetchall()
        assert rows == [(0, "tess", "wrong_expected", None)]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ProblemTestsScreen))
        assert pane.state.contested == "PASS 2/2"
        assert "without disputed tests: PASS 2/2" in _result_text(pane)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ProblemTestsScreen))
        await pilot.press("w", "escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ProblemTestsScreen))
        assert pane.state.contested is None
        assert app.db.execute("SELECT count(*) FROM test_disputes").fetchone()[0] == 2
        await pilot.press("q")
