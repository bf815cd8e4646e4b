"""The leaderboard shows its aggregate table before agreement and votes are computed."""

from __future__ import annotations

from gradebench.engine.reporting.model import Selection
from gradebench.tui.screens.leaderboard import LeaderboardScreen
from tests.grades_fixture import build
from tests.tui.helpers import LeaderboardHost, table_rows, wait_until


async def test_table_is_counted_shown_once_per_request_and_matches_the_whole_report(tmp_path):
    path = build(tmp_path / "graded.db")
    screen = LeaderboardScreen(db_path=path, selection=Selection(suite="demo", seed=7))
    async with LeaderboardHost(screen).run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: screen.tables_shown >= 1)
        first = table_rows(screen)
        assert [row[0] for row in first] == ["gamma", "alpha", "beta"]
        await wait_until(pilot, lambda: screen.loads >= 1)
        assert screen.tables_shown == 1
        assert table_rows(screen) == first
        assert screen.table_seconds <= screen.load_seconds
        await pilot.press("r")  # same data: the remembered report comes whole
        await wait_until(pilot, lambda: screen.loads >= 2)
        assert screen.tables_shown == 2
        assert table_rows(screen) == first
