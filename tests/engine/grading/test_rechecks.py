"""Which problems a recheck may show, the ``[grading] recheck_rate`` setting, and that a
recheck is stored against the grade it repeats (not as a grade)."""

from __future__ import annotations

import random

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.grading.grades import current_grade, record_grade
from gradebench.engine.grading.rechecks import (
    DEFAULT_RECHECK_RATE,
    choose_recheck,
    recheck_rate,
    record_recheck,
)
from gradebench.engine.store.rechecks import recheck_candidates, recheck_pairs
from tests.seed import add_generation

PROBLEMS = ["demo/p1", "demo/p2", "demo/p3", "demo/p4"]


@pytest.fixture
def graded(db) -> dict[str, list[str]]:
    """Two contenders' answers to four problems; tess graded p1-p3 fully, p4 half."""
    answers = {p: [add_generation(db, p, c) for c in ("c1", "c2")] for p in PROBLEMS}
    for problem, ids in answers.items():
        for gid in ids if problem != "demo/p4" else ids[:1]:
            record_grade(db, generation_id=gid, reviewer="tess", score=1.0)
    return answers


def test_candidates_are_fully_graded_problems_not_rechecked_yet(db, graded) -> None:
    assert recheck_candidates(db, "tess", PROBLEMS, ["c1", "c2"]) == PROBLEMS[:3]
    assert recheck_candidates(db, "ann", PROBLEMS, ["c1", "c2"]) == []
    record_recheck(
        db,
        generation_id=graded["demo/p2"][0],
        reviewer="tess",
        score=0.0,
        format_ok=None,
        run_id=None,
    )
    assert recheck_candidates(db, "tess", PROBLEMS, ["c1", "c2"]) == ["demo/p1", "demo/p3"]


def test_a_recheck_never_shows_the_problem_left_or_the_next_one(db, graded) -> None:
    rng = random.Random(3)
    chosen = {
        choose_recheck(
            db,
            rng,
            1.0,
            reviewer="tess",
            problem_ids=PROBLEMS,
            contender_ids=["c1", "c2"],
            leaving="demo/p1",
            going_to="demo/p2",
        )
        for _ in range(20)
    }
    assert chosen == {"demo/p3"}
    assert (
        choose_recheck(
            db,
            rng,
            0.0,
            reviewer="tess",
            problem_ids=PROBLEMS,
            contender_ids=["c1", "c2"],
            leaving="demo/p1",
        )
        is None
    )


def test_a_recheck_is_paired_with_the_grade_it_repeats_and_leaves_the_grade_alone(
    db, graded
) -> None:
    answer = graded["demo/p1"][0]
    first = current_grade(db, answer, "tess")
    record_recheck(
        db, generation_id=answer, reviewer="tess", score=0.5, format_ok=True, run_id=None
    )
    assert current_grade(db, answer, "tess") == first
    assert [(r, a, b) for _rowid, r, a, b in recheck_pairs(db.conn)] == [("tess", 1.0, 0.5)]
    with pytest.raises(UserError, match="has not graded"):
        record_recheck(
            db, generation_id=answer, reviewer="ann", score=1, format_ok=None, run_id=None
        )


@pytest.mark.parametrize("value", [-0.1, 1.5, "often", True])
def test_a_bad_recheck_rate_is_refused(value) -> None:
    with pytest.raises(UserError, match=r"\[grading\] recheck_rate"):
        recheck_rate(Config(data={"grading": {"recheck_rate": value}}))


def test_the_default_rate() -> None:
    assert recheck_rate(Config(data={})) == DEFAULT_RECHECK_RATE == 0.05
    assert recheck_rate(Config(data={"grading": {"recheck_rate": 0}})) == 0.0
