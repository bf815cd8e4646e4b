"""Which problems a grading session covers, and the run row a session starts with.

Public functions only (``select_problems``, ``start_run``). The expected sets are
worked out by hand from the rows each case writes; the run row is read back with SQL.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from gradebench.engine.answers.recording import mark_stale_streaming
from gradebench.engine.errors import UserError
from gradebench.engine.grading.grades import record_grade
from gradebench.engine.grading.progress import select_problems
from gradebench.engine.store.runs import start_run
from tests.seed import add_generation, make_problem

PROBLEMS = [
    make_problem(id="s/one", difficulty="easy"),
    make_problem(id="s/two", difficulty="medium"),
    make_problem(id="s/three", difficulty="hard"),
    make_problem(id="s/four", difficulty="easy"),
    make_problem(id="s/five", difficulty="unrated"),
]
SEATS = ["c1", "c2"]


def _ids(problems) -> list[str]:
    return [p.id for p in problems]


def _select(db, which: str, reviewer: str = "ann") -> list[str]:
    return _ids(select_problems(PROBLEMS, which, db=db, reviewer=reviewer, contender_ids=SEATS))


@pytest.fixture
def graded(db):
    """one: both answers graded by ann, both pass.
    two: both answers, only c1's graded by ann; c2 fails.
    three: both graded by ann; c1 failed first, then passed on a recheck; c2 errors.
    four: both graded by ben only; both pass.
    five: no answers at all."""
    answers = {}
    for problem, verdicts in (
        ("s/one", ("pass", "pass")),
        ("s/two", ("pass", "fail")),
        ("s/three", ("fail", "error")),
        ("s/four", ("pass", "pass")),
    ):
        for seat, verdict in zip(SEATS, verdicts, strict=True):
            answers[problem, seat] = add_generation(db, problem, seat, verdict)
    db["executions"].insert(  # the recheck: the latest verdict is what counts
        {
            "id": "recheck",
            "generation_id": answers["s/three", "c1"],
            "problem_id": "s/three",
            "verdict": "pass",
            "passed": 1,
            "total": 1,
            "seconds": 0.1,
            "created_at": "2999-01-01T00:00:00+00:00",
        }
    )
    for key in (
        ("s/one", "c1"),
        ("s/one", "c2"),
        ("s/two", "c1"),
        ("s/three", "c1"),
        ("s/three", "c2"),
    ):
        record_grade(db, generation_id=answers[key], reviewer="ann", score=1.0)
    for key in (("s/four", "c1"), ("s/four", "c2")):
        record_grade(db, generation_id=answers[key], reviewer="ben", score=0.0)
    return db


def test_all_keeps_every_problem_in_suite_order(graded) -> None:
    assert _select(graded, "all") == ["s/one", "s/two", "s/three", "s/four", "s/five"]


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        ("easy", ["s/one", "s/four"]),
        ("medium", ["s/two"]),
        ("hard", ["s/three"]),
        ("unrated", ["s/five"]),
    ],
)
def test_a_difficulty_keeps_the_problems_of_that_difficulty(graded, which, expected) -> None:
    assert _select(graded, which) == expected


def test_ungraded_means_some_seat_lacks_this_reviewers_grade(graded) -> None:
    # two: c2 ungraded; four: graded by ben, not ann; five: nothing to grade yet
    assert _select(graded, "ungraded") == ["s/two", "s/four", "s/five"]
    assert _select(graded, "ungraded", reviewer="ben") == ["s/one", "s/two", "s/three", "s/five"]


def test_failing_means_some_seats_latest_verdict_is_not_pass(graded) -> None:
    # two: c2 fails; three: c1's recheck passes but c2 errors; five has no verdict at all
    assert _select(graded, "failing") == ["s/two", "s/three"]


def test_failing_follows_the_latest_verdict_of_each_answer(db) -> None:
    first = add_generation(db, "s/one", "c1", "fail")
    add_generation(db, "s/one", "c2", "pass")
    assert _select(db, "failing") == ["s/one"]
    db["executions"].insert(
        {
            "id": "later",
            "generation_id": first,
            "problem_id": "s/one",
            "verdict": "pass",
            "passed": 1,
            "total": 1,
            "seconds": 0.1,
            "created_at": "2999-01-01T00:00:00+00:00",
        }
    )
    assert _select(db, "failing") == []


def test_an_unknown_selection_is_one_line_naming_the_value(db) -> None:
    with pytest.raises(UserError) as error:
        _select(db, "broken")
    assert str(error.value) == (
        "problems: 'broken' is not one of all, ungraded, failing, disagreeing, assigned, easy,"
        " medium, hard, unrated"
    )


def test_a_grading_run_records_who_what_and_this_process(db) -> None:
    settings = {"contenders": ["a", "b"], "blind": True, "which": "failing"}
    run_id = start_run(db, "grade", "lowcost60", settings, reviewer="ann")
    kind, suite, reviewer, stored, host, finished = db.execute(
        "SELECT kind, suite, reviewer, settings, host, finished_at FROM runs WHERE id = ?",
        [run_id],
    ).fetchone()
    assert (kind, suite, reviewer, finished) == ("grade", "lowcost60", "ann", None)
    assert json.loads(stored) == settings
    host = json.loads(host)
    assert (host["pid"], host["hostname"]) == (os.getpid(), socket.gethostname())
    # an answer streaming under this live run is not taken for a crashed one
    add_generation(db, "s/one", "c1", status="streaming", run_id=run_id)
    assert mark_stale_streaming(db) == 0
