"""Two machines, walked through the app: answers made once, the file copied to two
reviewers, each grades and votes in the real app (Pilot) on their own copy, the copies are
merged back with `gradebench merge`, and the export holds both reviewers' grades on the
same answers, so agreement is computed over them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from contextlib import closing

from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.tui.helpers import make_app, wait_until


def _settled(app) -> bool:
    return all(p.state.result is not None for p in app.screen.query(AnswerPane))


async def _grade_everything(app, keys: list[tuple[str, str]]) -> list[str]:
    """Grade every problem's two panes with ``keys`` and vote; the answers shown."""
    shown = []
    async with app.run_test(size=(140, 40)) as pilot:
        for index, (left, right) in enumerate(keys):
            await wait_until(pilot, lambda i=index: app.screen.index == i and _settled(app))
            shown += [p.state.answer.generation_id for p in app.screen.query(AnswerPane)]
            await pilot.press(left, "tab", right, "left_square_bracket", "n")
        await pilot.press("q")
    return shown


async def test_copy_grade_on_two_machines_merge_and_export(tmp_path, cli) -> None:
    home = tmp_path / "home"
    home.mkdir()
    made = make_app(home, reviewer="lead")
    async with made.run_test(size=(140, 40)) as pilot:  # the answers, made once
        for index in range(3):
            await wait_until(pilot, lambda i=index: made.screen.index == i and _settled(made))
            await pilot.press("n")
        await pilot.press("q")
    made.db.conn.close()
    with closing(sqlite3.connect(home / "grades.db")) as last:  # as when every app has quit
        last.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    machines = {}
    for name in ("ann", "bob"):
        machine = tmp_path / name
        machine.mkdir()
        shutil.copy(home / "grades.db", machine / "grades.db")
        machines[name] = machine
    ann = await _grade_everything(
        make_app(machines["ann"], reviewer="ann"), [("3", "1"), ("3", "3"), ("2", "1")]
    )
    bob = await _grade_everything(
        make_app(machines["bob"], reviewer="bob"), [("3", "1"), ("1", "3"), ("2", "2")]
    )
    assert ann == bob  # the same answers on both machines: none was made again

    merged = cli(
        "--db",
        home / "grades.db",
        "merge",
        machines["ann"] / "grades.db",
        machines["bob"] / "grades.db",
    )
    assert merged.code == 0, merged.err
    report = cli("--db", home / "grades.db", "export", "--format", "json")
    assert report.code == 0, report.err
    figures = json.loads(report.out)
    agreement = figures["agreement"]
    assert agreement["items"] == 6  # every answer graded by both
    assert agreement["disputed"] == 2  # the second problem's left pane and the third's right
    assert sorted(r["reviewer"] for r in figures["reviewers"]) == ["ann", "bob"]
    assert all(r["graded"] == 6 and r["votes"] == 3 for r in figures["reviewers"])
    again = cli(
        "--db",
        home / "grades.db",
        "merge",
        machines["ann"] / "grades.db",
        machines["bob"] / "grades.db",
    )
    assert again.code == 0 and "nothing new" in again.out + again.err
    assert cli("--db", home / "grades.db", "export", "--format", "json").out == report.out
