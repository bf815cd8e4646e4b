"""Contesting a test: one disputed test flips a known number of answers from fail to pass
in the contested figures only (real sandbox runs on the demo problem ``add``), a withdrawal
restores the published figures, and the disputes are listed with the answers each test
alone fails."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.evaluation.evaluator import Evaluator
from gradebench.engine.evaluation.execution import save_execution
from gradebench.engine.grading.test_disputes import (
    contested_verdict,
    dispute_test,
    withdraw_dispute,
)
from gradebench.engine.problems.suites.files import load_directory
from gradebench.engine.reporting.export import render_report
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from tests.seed import add_generation
from tests.tui.helpers import DEMO_SUITE

ADD = next(p for p in load_directory(DEMO_SUITE).problems if p.entry_point == "add")
ANSWERS = {
    "right": "def add(a, b):\n    return a + b\n",
    # wrong only on test 0, add(2, 3): the test a reviewer will dispute
    "off-on-first": "def add(a, b):\n    return 0 if (a, b) == (2, 3) else a + b\n",
    "wrong": "def add(a, b):\n    return a - b\n",
}


@pytest.fixture
def graded(db):
    evaluator = Evaluator(db)
    for contender, code in ANSWERS.items():
        gid = add_generation(db, ADD.id, contender)
        save_execution(db, evaluator.evaluate(ADD, code), problem_id=ADD.id, generation_id=gid)
    return db


def _pass_at_1(db, tests: str) -> dict[str, float]:
    report = build_report(db.conn, Selection(tests=tests))
    return {row.contender_id: row.pass_at[0].value for row in report.rows}


def test_one_disputed_test_flips_exactly_the_answers_it_alone_fails(graded) -> None:
    db = graded
    published = {"right": 1.0, "off-on-first": 0.0, "wrong": 0.0}
    assert _pass_at_1(db, "published") == published
    assert _pass_at_1(db, "contested") == published  # nothing disputed yet
    dispute_test(
        db,
        problem_id=ADD.id,
        test_index=0,
        reviewer="ann",
        reason="wrong_expected",
        note="the statement says 5 but means something else",
    )
    assert _pass_at_1(db, "published") == published
    assert _pass_at_1(db, "contested") == {**published, "off-on-first": 1.0}
    report = build_report(db.conn, Selection(tests="contested"))
    (row,) = report.disputed_tests
    assert (row.problem_id, row.test_index, row.answers_changed) == (ADD.id, 0, 1)
    assert "ann: wrong expected output" in row.reasons
    assert report.contested_changed == 1
    for fmt in ("md", "html", "latex"):
        assert "Disputed tests" in render_report(report, fmt), fmt
    assert json.loads(render_report(report, "json"))["contested_changed"] == 1
    (line,) = csv.DictReader(io.StringIO(render_report(report, "csv", "disputes")))
    assert (line["test_index"], line["answers_changed"]) == ("0", "1")

    withdraw_dispute(db, problem_id=ADD.id, test_index=0, reviewer="ann")
    assert _pass_at_1(db, "contested") == published
    assert build_report(db.conn, Selection()).disputed_tests == ()
    with pytest.raises(UserError, match="does not dispute"):
        withdraw_dispute(db, problem_id=ADD.id, test_index=0, reviewer="ann")


def test_contested_verdicts_from_per_test_outcomes() -> None:
    assert contested_verdict("pfp", ()) == ("fail", 2, 3)
    assert contested_verdict("pfp", (1,)) == ("pass", 2, 2)
    assert contested_verdict("ptf", (2,)) == ("timeout", 1, 2)
    assert contested_verdict("", (0,)) is None  # no per-test outcomes kept: unchanged
    assert contested_verdict("p-e", (2,)) == ("pass", 1, 1)


def test_a_bad_dispute_is_one_line(graded, cli) -> None:
    bad = cli("dispute", "--problem", ADD.id, "--test", "0", "--reviewer", "ann", "--reason", "meh")
    assert bad.code == 2
    assert bad.err.strip().splitlines() == [
        "gradebench: dispute: reason must be one of wrong_expected, invalid_input, ambiguous,"
        " other, not 'meh'"
    ]
    unknown = cli("dispute", "--problem", "nope/x", "--test", "0", "--reviewer", "ann")
    assert unknown.code == 2 and "not in the database" in unknown.err
    tests = cli("export", "--format", "md", "--tests", "maybe")
    assert tests.code == 2 and "--tests: published or contested" in tests.err


def test_the_cli_disputes_and_lists_for_upstream(graded, cli) -> None:
    done = cli(
        "dispute",
        "--problem",
        ADD.id,
        "--test",
        "0",
        "--reviewer",
        "bob",
        "--reason",
        "ambiguous",
        "--note",
        "sum or difference?",
    )
    assert done.code == 0, done.err
    listed = cli("disputes", "--suite", DEMO_SUITE)
    assert listed.code == 0, listed.err
    assert f"{ADD.id}  test 0: input (2, 3), expected 5" in listed.out
    assert "bob: ambiguous statement: sum or difference?" in listed.out
    assert "answers it alone fails: 1" in listed.out
    contested = cli("export", "--format", "csv", "--tests", "contested")
    assert contested.code == 0, contested.err
