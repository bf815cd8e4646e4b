"""Auditing the extraction from the keyboard (Pilot, scripted answer, real sandbox runs):
``c`` cycles the code the tests run among the answer's candidates, each choice is tested
at once and recorded, the verdict the tables use follows it, and every export reports how
often reviewers changed the extractor's choice, per contender and extraction method."""

from __future__ import annotations

import csv
import io
import json

from gradebench.engine.answers.candidates import code_candidates
from gradebench.engine.problems.suites.files import load_directory
from gradebench.engine.reporting.export import render_report
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.fakes import FakeBackend
from tests.tui.helpers import DEMO_SUITE, make_app, wait_until

# the right function first, then a "revised" wrong one: the extractor takes the last block
REVISED_WRONG = (
    "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\n"
    "A shorter version:\n```python\ndef add(a, b):\n    return a - b\n```\n"
)


def test_the_candidates_of_an_answer_come_extractor_first_without_duplicates() -> None:
    problem = next(p for p in load_directory(DEMO_SUITE).problems if p.entry_point == "add")
    labels = [c.label for c in code_candidates(REVISED_WRONG, problem)]
    assert labels == ["extractor", "block 1 (python)", "blocks joined", "raw answer"]


def _left(app) -> AnswerPane:
    return app.screen.panes[0]


def _latest_verdict(app, generation_id: str) -> str:
    return app.db.execute(
        "SELECT verdict FROM execution_latest WHERE generation_id = ?", [generation_id]
    ).fetchone()[0]


async def test_c_cycles_the_code_tested_and_records_each_choice(tmp_path) -> None:
    backend = FakeBackend(answers={"sum of the integers": REVISED_WRONG})
    app = make_app(tmp_path, backend)
    async with app.run_test(size=(140, 40)) as pilot:
        pane = _left(app)
        await wait_until(pilot, lambda: pane.state.result is not None)
        answer = pane.state.answer
        assert pane.state.result.verdict == "fail"  # the extractor took the wrong block
        await pilot.press("c")  # block 1: the right function
        await wait_until(pilot, lambda: pane.state.result is not None)
        assert pane.state.result.verdict == "pass"
        assert "block 1 (python), your choice" in pane.state.answer.extract_method
        assert _latest_verdict(app, answer.generation_id) == "pass"
        await pilot.press("3")  # grade it correct
        await pilot.press("c", "c", "c")  # blocks joined, raw answer, back to the extractor
        await wait_until(
            pilot,
            lambda: app.db.execute("SELECT count(*) FROM extraction_choices").fetchone()[0] == 4,
        )
        await wait_until(pilot, lambda: pane.state.result is not None)
        assert pane.state.answer.extract_method == answer.extract_method
        choices = app.db.execute(
            "SELECT label, verdict, reviewer, extract_method FROM extraction_choices ORDER BY rowid"
        ).fetchall()
        assert [(label, verdict) for label, verdict, _r, _m in choices] == [
            ("block 1 (python)", "pass"),
            ("blocks joined", "fail"),
            ("raw answer", "syntax"),
            ("extractor", "fail"),
        ]
        assert {(r, m) for _l, _v, r, m in choices} == {("tess", answer.extract_method)}
        await pilot.press("c")  # block 1 again: the reviewer's final choice
        await wait_until(
            pilot,
            lambda: app.db.execute("SELECT count(*) FROM extraction_choices").fetchone()[0] == 5,
        )
        await pilot.press("q")

    report = build_report(app.db.conn, Selection())
    audits = {(e.contender, e.method): (e.audited, e.changed) for e in report.extraction}
    assert audits == {("model-x", answer.extract_method): (1, 1)}
    for fmt in ("md", "html", "latex"):
        assert "Extraction" in render_report(report, fmt), fmt
    assert json.loads(render_report(report, "json"))["extraction"][0]["changed"] == 1
    (row,) = csv.DictReader(io.StringIO(render_report(report, "csv", "extraction")))
    assert (row["contender"], row["audited"], row["changed"]) == ("model-x", "1", "1")
