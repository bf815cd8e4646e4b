"""Per-reviewer figures in the reports: answers graded, left-pane share of side votes,
median seconds per graded answer within a session (breaks left out) and its drift."""

from __future__ import annotations

import json
import sqlite3

from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from gradebench.engine.store.database import new_id, open_db
from tests.seed import add_generation, add_run


def _event(db, generation_id: str, reviewer: str, minute_second: str, run_id: str, replaces=None):
    event_id = new_id()
    db["grade_events"].insert(
        {
            "id": event_id,
            "generation_id": generation_id,
            "reviewer": reviewer,
            "created_at": f"2026-12-01T10:{minute_second}.000000+00:00",
            "score": 1.0,
            "replaces_id": replaces,
            "run_id": run_id,
        }
    )
    return event_id


def _vote(db, problem: str, reviewer: str, left: str, right: str, outcome: str, second: int):
    db["votes"].insert(
        {
            "id": new_id(),
            "problem_id": problem,
            "reviewer": reviewer,
            "created_at": f"2026-12-01T11:00:{second:02d}.000000+00:00",
            "generation_a": left,
            "generation_b": right,
            "outcome": outcome,
        }
    )


def test_pace_position_bias_and_counts_per_reviewer(tmp_path, cli):
    path = tmp_path / "grades.db"
    db = open_db(path)
    answers = [add_generation(db, f"demo/p{i}", c) for i in range(6) for c in ("c1", "c2")]
    session = add_run(db, host={}, kind="grade")
    later_session = add_run(db, host={}, kind="grade")
    # ann: gaps 10, 20, 30 s, then a 15-minute break, then 40 s: median 25, drift
    # (30, 40) vs (10, 20): +20
    first = _event(db, answers[0], "ann", "00:00", session)
    _event(db, answers[0], "ann", "00:05", session, replaces=first)  # an edit: not a first grade
    for answer, when in zip(answers[1:4], ("00:10", "00:30", "01:00"), strict=True):
        _event(db, answer, "ann", when, session)
    _event(db, answers[4], "ann", "16:00", session)
    _event(db, answers[5], "ann", "16:40", session)
    # bob: one grade per session: no gap inside a session
    _event(db, answers[0], "bob", "00:00", session)
    _event(db, answers[1], "bob", "00:20", later_session)
    for i, outcome in enumerate(("a", "a", "b", "tie")):
        left, right = answers[2 * i], answers[2 * i + 1]
        _vote(db, f"demo/p{i}", "ann", left, right, outcome, i)
    db.conn.close()

    conn = sqlite3.connect(path)
    report = build_report(conn, Selection())
    stats = {r.reviewer: r for r in report.reviewers}

    assert (stats["ann"].graded, stats["ann"].votes) == (6, 4)
    assert stats["ann"].left_share == 2 / 3  # the tie is no side
    assert stats["ann"].seconds_per_answer == 25.0
    assert stats["ann"].pace_drift == 20.0
    assert (stats["bob"].graded, stats["bob"].seconds_per_answer, stats["bob"].left_share) == (
        2,
        None,
        None,
    )
    exported = json.loads(cli("export", "--format", "json", "--db", path).out)
    assert exported["reviewers"][0]["seconds_per_answer"] == 25.0
    markdown = cli("export", "--format", "md", "--db", path).out
    assert "## Reviewers" in markdown and "| ann | 6 | 4 | 0.67 | 25.0 | +20.0 |" in markdown


def test_reasons_for_grades_that_differ_from_the_tests_are_counted_per_contender(tmp_path, cli):
    from gradebench.engine.grading.grades import record_grade

    path = tmp_path / "grades.db"
    db = open_db(path)
    failing = add_generation(db, "demo/p1", "model-a", "fail")
    passing = add_generation(db, "demo/p2", "model-b", "pass")
    other = add_generation(db, "demo/p3", "model-a", "fail")
    record_grade(db, generation_id=failing, reviewer="ann", score=1.0)
    record_grade(
        db, generation_id=failing, reviewer="ann", score=1.0, rubric={"reason": "weak_tests"}
    )
    record_grade(
        db, generation_id=passing, reviewer="ann", score=0.0, rubric={"reason": "format_only"}
    )
    record_grade(
        db, generation_id=other, reviewer="bob", score=0.5, rubric={"reason": "weak_tests"}
    )
    db.conn.close()

    report = json.loads(cli("export", "--format", "json", "--db", path).out)
    markdown = cli("export", "--format", "md", "--db", path).out

    assert report["agreement"]["reasons"] == [["format_only", 1], ["weak_tests", 2]]
    assert report["agreement"]["reasons_by_contender"] == [
        ["model-a", "weak_tests", 2],
        ["model-b", "format_only", 1],
    ]
    assert "| Why a grade differs from the tests: weak tests | 2 |" in markdown
