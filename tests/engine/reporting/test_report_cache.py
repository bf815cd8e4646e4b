"""When the leaderboard's remembered report is recomputed (``cached_report``).

The decision pinned here: a cached report is reused only while nothing it shows can have
changed. A new grade, vote, answer or test run, and an answer that *ends* (streaming ->
done, with its figures written in place) all invalidate it; the text a streaming answer
flushes every second does not (the leaderboard recomputes when the answer ends). The
oracle is ``build_report`` computed afresh on the same data, compared as JSON exports.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gradebench.engine.answers.recording import start_answer
from gradebench.engine.generation.backend import GenerationResult
from gradebench.engine.grading.grades import record_grade
from gradebench.engine.grading.votes import record_vote
from gradebench.engine.reporting.export import render_report
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from gradebench.engine.reporting.report_cache import (
    cached_report,
    forget_cached_reports,
    grade_change_marker,
)
from gradebench.engine.store.database import new_id, open_db, utc_now
from tests.grades_fixture import build

DEMO = Selection(suite="demo")


@pytest.fixture
def db(tmp_path: Path):
    forget_cached_reports()
    database = open_db(build(tmp_path / "graded.db"))
    yield database
    database.conn.close()
    forget_cached_reports()


def _cached(db) -> tuple[str, tuple[int, ...]]:
    report, marker = cached_report(db.conn, "graded.db", DEMO)
    return render_report(report, "json"), marker


def _fresh(db) -> str:
    return render_report(build_report(db.conn, DEMO), "json")


def _stream_gamma_p3(db):
    """gamma has no answer to p3 in the fixture: one starts streaming."""
    writer = start_answer(db, problem_id="demo/p3", contender_id="c3", prompt_text="p")
    writer.on_text("def f(x):\n")
    writer.flush()
    return writer


def test_an_answer_turning_from_streaming_to_done_invalidates_the_cached_report(db) -> None:
    writer = _stream_gamma_p3(db)
    before, marker_before = _cached(db)
    writer.finish(
        GenerationResult(
            text="def f(x):\n    return x\n",
            tokens=40,
            stop_reason="done",
            ttft_seconds=4.0,
            total_seconds=8.0,
        )
    )
    after, marker_after = _cached(db)
    assert marker_after != marker_before
    assert after == _fresh(db)
    assert after != before  # gamma's mean tokens and seconds now include the finished answer


def test_a_streaming_answers_flush_leaves_the_cached_report_in_place(db) -> None:
    writer = _stream_gamma_p3(db)
    before, marker_before = _cached(db)
    writer.on_text("    return x\n")
    writer.flush()
    again, marker_again = _cached(db)
    assert marker_again == marker_before
    assert again == before


@pytest.mark.parametrize("change", ["grade", "vote", "test run", "regenerated answer"])
def test_every_appended_event_invalidates_the_cached_report(db, change: str) -> None:
    before, marker_before = _cached(db)
    if change == "grade":
        record_grade(db, generation_id="b2", reviewer="ben", score=1.0)
    elif change == "vote":
        record_vote(
            db,
            problem_id="demo/p1",
            reviewer="ben",
            generation_a="b1",
            generation_b="g1",
            outcome="a",
        )
    elif change == "test run":
        db.conn.execute(
            "INSERT INTO executions (id, generation_id, problem_id, verdict, passed, total,"
            " seconds, created_at) VALUES (?, 'a3', 'demo/p3', 'pass', 1, 1, 0.1, ?)",
            (new_id(), utc_now()),
        )
        db.conn.commit()
    else:
        start_answer(db, problem_id="demo/p2", contender_id="c3", prompt_text="p", regenerate=True)
    after, marker_after = _cached(db)
    assert marker_after != marker_before
    assert after == _fresh(db)
    assert after != before


def test_nothing_changed_means_the_same_marker_and_report(db) -> None:
    first = _cached(db)
    assert _cached(db) == first
    assert grade_change_marker(db.conn) == first[1]
