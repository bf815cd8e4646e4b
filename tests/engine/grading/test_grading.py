"""engine/grading/events.py: append-only grades, votes, blind presentations, navigation queries."""

from __future__ import annotations

import random

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.grading.grades import current_grade, grade_history, record_grade
from gradebench.engine.grading.presentations import latest_presentation, present, reveal
from gradebench.engine.grading.progress import (
    next_matching,
    problem_statuses,
    resume_index,
    reviewer_summary,
)
from gradebench.engine.grading.reviewer_settings import (
    last_reviewer,
    remember_reviewer,
    save_position,
)
from gradebench.engine.grading.rubric import rubric_from_config
from gradebench.engine.grading.votes import current_vote, record_vote
from tests.seed import add_contender, add_generation, add_problem


def test_editing_a_grade_appends_an_event_that_replaces_the_first(db):
    gen = add_generation(db, "demo/a", "c1")
    first = record_grade(db, generation_id=gen, reviewer="ann", score=0.5)
    second = record_grade(
        db, generation_id=gen, reviewer="ann", score=1.0, format_ok=True, note="fixed"
    )
    assert first.replaces_id is None
    assert second.replaces_id == first.id
    assert db["grade_events"].count == 2
    current = current_grade(db, gen, "ann")
    assert current is not None and current.id == second.id and current.score == 1.0
    assert [e.score for e in grade_history(db, gen)] == [0.5, 1.0]


def test_each_reviewer_has_their_own_current_grade(db):
    gen = add_generation(db, "demo/a", "c1")
    record_grade(db, generation_id=gen, reviewer="ann", score=1.0)
    record_grade(db, generation_id=gen, reviewer="bob", score=0.0)
    assert current_grade(db, gen, "ann").score == 1.0
    assert current_grade(db, gen, "bob").score == 0.0
    assert current_grade(db, gen, "cyd") is None


def test_grade_is_committed_and_visible_to_a_second_connection(db, db_path):
    from gradebench.engine.store.database import open_db

    gen = add_generation(db, "demo/a", "c1")
    event = record_grade(db, generation_id=gen, reviewer="ann", score=0.0)
    other = open_db(db_path)
    assert other.execute("SELECT id FROM grade_events").fetchall() == [(event.id,)]


def test_empty_reviewer_name_is_a_user_error(db):
    gen = add_generation(db, "demo/a", "c1")
    with pytest.raises(UserError, match="reviewer"):
        record_grade(db, generation_id=gen, reviewer="  ", score=0.0)


def test_votes_are_append_only_and_reject_unknown_outcomes(db):
    a = add_generation(db, "demo/a", "c1")
    b = add_generation(db, "demo/a", "c2")
    record_vote(
        db, problem_id="demo/a", reviewer="ann", generation_a=a, generation_b=b, outcome="a"
    )
    record_vote(
        db, problem_id="demo/a", reviewer="ann", generation_a=a, generation_b=b, outcome="tie"
    )
    assert db["votes"].count == 2
    assert current_vote(db, "demo/a", "ann").outcome == "tie"
    with pytest.raises(UserError, match="outcome"):
        record_vote(
            db, problem_id="demo/a", reviewer="ann", generation_a=a, generation_b=b, outcome="x"
        )


def test_blind_presentation_is_shuffled_recorded_and_reused(db):
    add_problem(db, "demo/a")
    ids = [f"c{i}" for i in range(4)]
    for c in ids:
        add_contender(db, c)
    shown = present(
        db, problem_id="demo/a", reviewer="ann", contender_ids=ids, blind=True, rng=random.Random(3)
    )
    assert sorted(shown.contender_order) == ids
    assert shown.contender_order != tuple(ids)  # Random(3) gives a real shuffle
    assert not shown.revealed
    again = present(db, problem_id="demo/a", reviewer="ann", contender_ids=ids, blind=True)
    assert again.id == shown.id and again.contender_order == shown.contender_order
    revealed = reveal(db, shown)
    assert revealed.revealed
    assert latest_presentation(db, "demo/a", "ann").revealed_at is not None


def test_open_presentation_keeps_the_given_order(db):
    add_problem(db, "demo/a")
    shown = present(db, problem_id="demo/a", reviewer="ann", contender_ids=["x", "y"], blind=False)
    assert shown.contender_order == ("x", "y") and shown.revealed


def test_next_ungraded_and_next_failing_skip_what_does_not_match(db):
    problems = ["demo/a", "demo/b", "demo/c", "demo/d"]
    gens = {}
    verdicts = {"demo/a": "pass", "demo/b": "pass", "demo/c": "fail", "demo/d": "pass"}
    for p in problems:
        for c in ("c1", "c2"):
            gens[(p, c)] = add_generation(db, p, c, verdicts[p])
    for c in ("c1", "c2"):
        record_grade(db, generation_id=gens[("demo/b", c)], reviewer="ann", score=1)
    record_grade(db, generation_id=gens[("demo/c", "c1")], reviewer="ann", score=0)
    statuses = problem_statuses(db, "ann", problems, ["c1", "c2"])
    ungraded = lambda p: not statuses[p].graded(["c1", "c2"])  # noqa: E731
    assert next_matching(problems, 0, ungraded) == 2  # b is graded, c only half
    failing = lambda p: statuses[p].failing(["c1", "c2"])  # noqa: E731
    assert next_matching(problems, 2, failing) == 2  # wraps round to itself
    assert next_matching(problems, 3, failing) == 2
    assert next_matching(problems, 3, ungraded, wrap=False) is None


def test_resume_lands_on_first_ungraded_problem_then_saved_position(db):
    problems = ["demo/a", "demo/b"]
    gens = {p: add_generation(db, p, "c1", "pass") for p in problems}
    assert resume_index(db, "ann", "demo", problems, ["c1"]) == 0
    record_grade(db, generation_id=gens["demo/a"], reviewer="ann", score=1)
    assert resume_index(db, "ann", "demo", problems, ["c1"]) == 1
    record_grade(db, generation_id=gens["demo/b"], reviewer="ann", score=1)
    save_position(db, "ann", "demo", "demo/b")
    assert resume_index(db, "ann", "demo", problems, ["c1"]) == 1
    assert resume_index(db, "bob", "demo", problems, ["c1"]) == 0


def test_reviewer_name_is_remembered(db):
    assert last_reviewer(db) is None
    remember_reviewer(db, "ann")
    remember_reviewer(db, "bob")
    assert last_reviewer(db) == "bob"


def test_summary_counts_this_reviewers_current_scores_per_contender(db):
    g1 = add_generation(db, "demo/a", "c1")
    g2 = add_generation(db, "demo/b", "c1")
    add_generation(db, "demo/a", "c2")
    record_grade(db, generation_id=g1, reviewer="ann", score=0)
    record_grade(db, generation_id=g1, reviewer="ann", score=1)
    record_grade(db, generation_id=g2, reviewer="ann", score=0.5)
    summary = reviewer_summary(db, "ann", ["demo/a", "demo/b"], ["c1", "c2"])
    assert summary["c1"].graded == 2 and summary["c1"].mean_score == 0.75
    assert summary["c1"].correct == 1
    assert summary["c2"].graded == 0 and summary["c2"].mean_score is None


def test_rubric_defaults_and_config(tmp_path):
    default = rubric_from_config(Config())
    assert default.values == (0.0, 0.5, 1.0) and default.label(0.5) == "partially correct"
    assert default.nearest(0.8) == 1.0 and default.nearest(0.3) == 0.5
    custom = rubric_from_config(
        Config({"rubric": {"scores": [1, 0], "labels": ["ok", "bad"], "format_flag": False}})
    )
    assert custom.values == (0.0, 1.0) and custom.label(1) == "ok" and not custom.format_flag
    with pytest.raises(UserError, match=r"rubric\.scores"):
        rubric_from_config(Config({"rubric": {"scores": [0, 2]}}))
    with pytest.raises(UserError, match=r"rubric\.colour"):
        rubric_from_config(Config({"rubric": {"colour": 1}}))
