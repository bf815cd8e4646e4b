"""Rechecks in the grading app (Pilot, scripted backend, real sandbox runs): an already
graded problem is shown again before the next one, blind and without its grades; the new
scores are kept as rechecks, never as grades; a recheck never follows a recheck nor shows
the problem just left; and every export format reports each reviewer's self-consistency.
"""

from __future__ import annotations

import csv
import io
import json

from gradebench.engine.reporting.export import render_report
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.tui.helpers import make_app, wait_until


def panes(app) -> list[AnswerPane]:
    return list(app.screen.query(AnswerPane))


def settled(app) -> bool:
    return all(p.state.result is not None for p in panes(app))


def grades(app) -> list[tuple[str, str, float]]:
    return app.db.execute(
        "SELECT generation_id, reviewer, score FROM grade_current ORDER BY generation_id"
    ).fetchall()


async def _grade_and_next(app, pilot, keys: tuple[str, str]) -> None:
    await wait_until(pilot, lambda: settled(app))
    await pilot.press(keys[0], "tab", keys[1])
    await pilot.press("n")


async def test_a_recheck_shows_a_graded_problem_blind_and_keeps_its_scores_apart(tmp_path):
    app = make_app(tmp_path, recheck_rate=1.0)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.screen
        ids = [p.id for p in app.session.problems]
        await _grade_and_next(app, pilot, ("3", "2"))  # problem 1: nothing to recheck yet
        assert screen.index == 1 and not screen.rechecking  # never the problem just left
        await _grade_and_next(app, pilot, ("3", "1"))  # problem 2 -> recheck of problem 1
        assert screen.rechecking and screen.problem.id == ids[0]
        await wait_until(pilot, lambda: settled(app))
        assert all(p.state.grade is None for p in panes(app))  # the first grades are not shown
        assert sorted(p.state.label for p in panes(app)) == ["A", "B"]  # names hidden
        before = grades(app)
        shown = {p.state.answer.generation_id for p in panes(app)}
        await pilot.press("1", "tab", "1")
        rechecks = app.db.execute(
            "SELECT r.generation_id, r.score, e.score FROM rechecks r"
            " JOIN grade_events e ON e.id = r.first_event_id"
        ).fetchall()
        assert {gid for gid, _s, _f in rechecks} == shown
        assert sorted((again, first) for _g, again, first in rechecks) == [(0.0, 0.5), (0.0, 1.0)]
        assert grades(app) == before  # the grades (and so the tables) are untouched
        assert all("·" in p.state.label for p in panes(app))  # names revealed once graded
        await pilot.press("n")  # back to where the reviewer was, not another recheck
        assert screen.index == 2 and not screen.rechecking
        await wait_until(pilot, lambda: settled(app))
        assert all(p.state.grade is None for p in panes(app))
        await pilot.press("2", "tab", "2", "n")
        assert screen.index == 2  # the last problem: nowhere to go, no recheck either
        await pilot.press("q")

    report = build_report(app.db.conn, Selection())
    (tess,) = report.reviewers
    assert (tess.graded, tess.rechecks, tess.recheck_same) == (6, 2, 0.0)
    for fmt in ("md", "html", "latex"):
        text = render_report(report, fmt)
        assert "Intra-rater kappa" in text and "Rechecks" in text, fmt
        assert "adjudicated" in text, fmt
    assert json.loads(render_report(report, "json"))["reviewers"][0]["rechecks"] == 2
    (row,) = csv.DictReader(io.StringIO(render_report(report, "csv", "reviewers")))
    assert (row["reviewer"], row["rechecks"], row["recheck_same"]) == ("tess", "2", "0.0")
    figures = dict(csv.reader(io.StringIO(render_report(report, "csv", "agreement"))))
    assert figures["adjudicated"] == "0" and figures["disputed"] == "0"
    results = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert sum(int(r["graded"]) for r in results) == 6  # the rechecks are not grades


async def test_rechecks_are_off_at_rate_zero(tmp_path):
    app = make_app(tmp_path, recheck_rate=0.0)
    async with app.run_test(size=(140, 40)) as pilot:
        await _grade_and_next(app, pilot, ("3", "2"))
        await _grade_and_next(app, pilot, ("3", "1"))
        assert app.screen.index == 2 and not app.screen.rechecking
        await pilot.press("q")
    assert app.db.execute("SELECT count(*) FROM rechecks").fetchone()[0] == 0


async def test_a_vote_or_the_history_key_during_a_recheck_records_and_shows_nothing(tmp_path):
    app = make_app(tmp_path, recheck_rate=1.0)
    async with app.run_test(size=(140, 40)) as pilot:
        await _grade_and_next(app, pilot, ("3", "2"))
        await _grade_and_next(app, pilot, ("3", "1"))
        assert app.screen.rechecking
        votes = app.db.execute("SELECT count(*) FROM votes").fetchone()[0]
        await pilot.press("left_square_bracket", "h")
        assert app.db.execute("SELECT count(*) FROM votes").fetchone()[0] == votes
        assert app.screen is not None and app.screen.rechecking  # no history screen pushed
        await pilot.press("q")


def test_a_bad_recheck_rate_is_one_line_naming_the_key(tmp_path, cli) -> None:
    config = tmp_path / "gradebench.toml"
    config.write_text("[grading]\nrecheck_rate = 2\n")
    result = cli("--config", config, "--start", "--reviewer", "tess")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        "gradebench: [grading] recheck_rate: a number from 0 to 1 is needed (got 2)"
    ]


def test_export_table_choices_are_checked_before_anything_is_read(cli) -> None:
    unknown = cli("export", "--format", "csv", "--table", "votes")
    assert unknown.code == 2
    assert unknown.err.strip().splitlines() == [
        "gradebench: --table: unknown table 'votes' (choose from results, agreement, reviewers,"
        " extraction, disputes)"
    ]
    not_csv = cli("export", "--format", "md", "--table", "reviewers")
    assert not_csv.code == 2
    assert "only a CSV report holds one table per file" in not_csv.err
