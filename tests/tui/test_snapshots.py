"""Screenshots of every screen and pane state a reviewer sees.

The start form; the grading screen wide and narrow; a pane streaming, settled,
failed and cancelled; blind before and after the reveal; the grade history; the note
editor; the leaderboard; the help screen.

Deterministic: scripted answers (``FakeBackend``, streams frozen at a known token with
``hold_after``), the demo suite by a relative name, a seeded shuffle, rates and run
times hidden (``stable_display``) and a fixed clock for the stored events. Refresh with
``make snapshots`` after a deliberate change of the layout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.conftest import TEST_DATA
from tests.fakes import FakeBackend
from tests.tui.helpers import make_app, wait_until

ANSWERS = {
    "sum of the integers": "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\n",
}
LONG_ANSWER = "Let me think about this step by step. " * 8 + "\n```python\ndef add(a, b):\n"


@pytest.fixture(autouse=True)
def fixed_clock_and_relative_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Stored events carry one fixed time; the demo suite (a copy) and the error log are
    named relative to the working directory, the test's own folder."""
    monkeypatch.setattr(
        "gradebench.engine.grading.utc_now", lambda: "2026-01-02T03:04:05.000000+00:00"
    )
    shutil.copytree(TEST_DATA / "problems" / "demo", tmp_path / "demo")
    monkeypatch.chdir(tmp_path)


def snapshot_app(tmp_path, backend: FakeBackend | None = None, **options):
    backend = backend or FakeBackend(answers=dict(ANSWERS))
    return make_app(tmp_path, backend, suite="demo", **options)


def panes(pilot) -> list[AnswerPane]:
    return list(pilot.app.screen.query(AnswerPane))


async def wait_settled(pilot) -> None:
    await wait_until(pilot, lambda: all(p.state.result is not None for p in panes(pilot)))
    await pilot.pause()


async def wait_screen(pilot, name: str) -> None:
    await wait_until(pilot, lambda: pilot.app.screen.__class__.__name__ == name)
    await pilot.pause()


def held(**options) -> FakeBackend:
    """Both panes stream the long answer and stop after 12 tokens until released."""
    return FakeBackend(answers={"sum of the integers": LONG_ANSWER}, hold_after=12, **options)


def test_start_form(snap_compare, tmp_path):
    async def before(pilot):
        await wait_screen(pilot, "SessionScreen")

    app = snapshot_app(tmp_path, ask=True, reviewer=None)
    assert snap_compare(app, terminal_size=(120, 40), run_before=before)


def test_grading_screen_wide(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("3")
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 40), run_before=before)


def test_grading_screen_narrow_blind(snap_compare, tmp_path):
    assert snap_compare(
        snapshot_app(tmp_path, blind=True), terminal_size=(80, 24), run_before=wait_settled
    )


def test_panes_streaming(snap_compare, tmp_path):
    backend = held()

    async def before(pilot):
        await wait_until(pilot, lambda: all(p.state.tokens == 12 for p in panes(pilot)))
        await pilot.pause(0.3)  # one flush tick of the streaming view

    try:
        assert snap_compare(
            snapshot_app(tmp_path, backend), terminal_size=(120, 40), run_before=before
        )
    finally:
        backend.release.set()


def test_pane_cancelled_beside_a_settled_one(snap_compare, tmp_path):
    backend = held()

    async def before(pilot):
        left, right = panes(pilot)
        await wait_until(pilot, lambda: left.state.tokens == 12 and right.state.tokens == 12)
        await pilot.press("escape")  # the focused (left) pane only
        await wait_until(pilot, lambda: left.state.answer is not None)
        backend.release.set()
        await wait_until(pilot, lambda: right.state.answer is not None)
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path, backend), terminal_size=(120, 40), run_before=before)


def test_pane_failed_names_the_log(snap_compare, tmp_path):
    backend = FakeBackend(answers=dict(ANSWERS), raise_when="sum of the integers")

    async def before(pilot):
        await wait_until(pilot, lambda: all(p.state.phase == "failed" for p in panes(pilot)))
        await pilot.pause()

    app = snapshot_app(tmp_path, backend)
    assert snap_compare(app, terminal_size=(120, 40), run_before=before)
    assert "RuntimeError: scripted backend crash" in (tmp_path / "gradebench.log").read_text()


def test_blind_after_the_reveal(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("3", "tab", "1")
        await wait_until(pilot, lambda: pilot.app.screen.presentation.revealed)
        await pilot.pause()

    app = snapshot_app(tmp_path, blind=True)
    assert snap_compare(app, terminal_size=(120, 40), run_before=before)


def test_grade_history(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("3", "2", "h")
        await wait_screen(pilot, "HistoryScreen")

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 40), run_before=before)


def test_note_editor(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("e")
        await wait_screen(pilot, "NoteScreen")
        await pilot.press(*"adds, but no docstring")
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 40), run_before=before)


def test_leaderboard(snap_compare, tmp_path):
    async def before(pilot):
        await wait_settled(pilot)
        await pilot.press("3", "tab", "1", "L")
        await wait_screen(pilot, "LeaderboardScreen")
        await wait_until(pilot, lambda: pilot.app.screen.loads >= 1)
        await pilot.pause()

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 40), run_before=before)


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

    assert snap_compare(snapshot_app(tmp_path), terminal_size=(120, 40), run_before=before)
