"""The leaderboard screen, driven by Pilot on the hand-worked fixture database."""

from __future__ import annotations

from textual.widgets import Static

from gradebench.engine.reporting.model import Selection
from gradebench.engine.store.database import open_db
from gradebench.tui.screens.leaderboard import LeaderboardScreen, score_bars
from tests.grades_fixture import add_grade, build
from tests.tui.helpers import LeaderboardHost, table_rows, wait_until


async def test_leaderboard_shows_the_aggregate_table_agreement_and_votes(tmp_path):
    path = build(tmp_path / "graded.db")
    screen = LeaderboardScreen(db_path=path, selection=Selection(suite="demo"))
    async with LeaderboardHost(screen).run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: screen.loads >= 1)
        rows = table_rows(screen)
        assert [row[0] for row in rows] == ["gamma", "alpha", "beta"]
        assert rows[1][3].startswith("0.417 [")  # alpha: (1 + 0.25 + 0) / 3
        bars = str(screen.query_one("#lb-bars", Static).render())
        assert "gamma" in bars and "█" in bars and "├" in bars
        agreement = str(screen.query_one("#lb-agreement", Static).render())
        assert "Cohen's kappa ann/ben: 0.143" in agreement
        pairwise = table_rows(screen, "#lb-pairwise")
        assert [row[0] for row in pairwise] == ["gamma", "alpha", "beta"]
        assert pairwise[0][1:4] == ["2", "0", "0"]


async def test_leaderboard_updates_when_a_grade_is_added(tmp_path):
    path = build(tmp_path / "graded.db")
    screen = LeaderboardScreen(db_path=path, selection=Selection(suite="demo"), poll_seconds=0.1)
    async with LeaderboardHost(screen).run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: screen.loads >= 1)
        assert table_rows(screen)[2][0] == "beta"
        # ann changes her mind on beta/p3 (0 -> 1): beta's mean goes from 1/3 to 2/3
        add_grade(path, "b3", "ann", 1.0)
        await wait_until(pilot, lambda: screen.loads >= 2)
        rows = {row[0]: row for row in table_rows(screen)}
        assert rows["beta"][3].startswith("0.667 [")
        assert [row[0] for row in table_rows(screen)] == ["gamma", "beta", "alpha"]


async def test_leaderboard_keys_switch_to_majority_and_by_difficulty(tmp_path):
    path = build(tmp_path / "graded.db")
    screen = LeaderboardScreen(db_path=path, selection=Selection(suite="demo"))
    async with LeaderboardHost(screen).run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: screen.loads >= 1)
        await pilot.press("m")
        await wait_until(pilot, lambda: screen.loads >= 2)
        rows = {row[0]: row for row in table_rows(screen)}
        assert rows["beta"][3].startswith("0.167 [")  # majority, ties to the lower score
        await pilot.press("d")
        await wait_until(pilot, lambda: screen.loads >= 3)
        rows = table_rows(screen)
        assert rows[0][:2] == ["gamma", "easy"]
        assert len(rows) == 8


async def test_leaderboard_accepts_the_apps_database_object(tmp_path):
    path = build(tmp_path / "graded.db")
    db = open_db(path)
    screen = LeaderboardScreen(db=db)
    assert screen.db_path == path
    db.conn.close()


def test_score_bars_mark_the_interval_around_the_bar(tmp_path):
    import sqlite3

    from gradebench.engine.reporting.report import build_report

    conn = sqlite3.connect(str(build(tmp_path / "graded.db")))
    report = build_report(conn, Selection(suite="demo"))
    text = score_bars(list(report.contender_rows), width=20).plain
    alpha_line = next(line for line in text.splitlines() if line.startswith("alpha"))
    bar = alpha_line[29 : 29 + 21]
    assert bar.count("├") == 1 and bar.count("┤") == 1
    assert bar.index("├") < bar.index("┤")
    assert "0.417" in alpha_line


async def test_grading_app_opens_the_leaderboard_with_L_and_it_follows_new_grades(tmp_path):
    import sqlite3

    from tests.tui.helpers import make_app

    app = make_app(tmp_path)
    db_file = tmp_path / "grades.db"

    def first_answer() -> str | None:
        conn = sqlite3.connect(str(db_file))
        try:
            row = conn.execute(
                "SELECT id FROM generations WHERE status = 'done' LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    async with app.run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: first_answer() is not None)
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, LeaderboardScreen))
        board = app.screen
        await wait_until(pilot, lambda: board.loads >= 1)
        graded_before = sum(row.graded for row in board.report.rows)
        add_grade(db_file, first_answer(), "someone-else", 1.0)
        await wait_until(pilot, lambda: board.loads >= 2)  # the poll notices the new grade
        assert sum(row.graded for row in board.report.rows) == graded_before + 1
        assert "someone-else" in board.report.agreement.reviewers
