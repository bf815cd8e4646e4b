"""Screenshots of the grading screen (wide and narrow) and the help screen.

Deterministic: scripted answers, the demo suite, a seeded shuffle, and rates and run
times hidden (``stable_display``). Refresh with ``make snapshots`` after a deliberate
change of the layout.
"""

from __future__ import annotations

from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.fakes import FakeBackend
from tests.tui.helpers import make_app, wait_until

ANSWERS = {
    "sum of the integers": "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n",
}


def settled_app(tmp_path, **options):
    return make_app(tmp_path, FakeBackend(answers=dict(ANSWERS)), **options)


async def wait_settled(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: all(p.result is not None for p in app.screen.query(AnswerPane)))
    await pilot.pause()


def test_grading_screen_wide(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(settled_app(tmp_path), terminal_size=(120, 40), run_before=before)


def test_grading_screen_narrow_blind(snap_compare, tmp_path):
    assert snap_compare(
        settled_app(tmp_path, blind=True), terminal_size=(80, 24), run_before=wait_settled
    )


def test_help_screen(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("question_mark")
        app = pilot.app
        await wait_until(
            pilot,
            lambda: (
                app.screen.__class__.__name__ == "HelpScreen"
                and len(app.screen.query_one("Markdown").children) > 0
            ),
        )
        await pilot.pause()

    assert snap_compare(settled_app(tmp_path), terminal_size=(120, 40), run_before=before)
