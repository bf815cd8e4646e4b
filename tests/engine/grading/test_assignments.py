"""Assignments: a suite split among reviewers with a controlled overlap, each reviewer's
queue, the team's progress and agreement, and a reviewer's handout that merges back."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradebench.engine.errors import UserError
from gradebench.engine.grading.assignments import (
    assign_problems,
    reviewer_queue,
    split_problems,
    team_status,
)
from gradebench.engine.grading.grades import record_grade
from gradebench.engine.grading.progress import select_problems
from gradebench.engine.store.database import open_db
from gradebench.engine.workflows.merge_files import merge_files
from gradebench.engine.workflows.reviewer_handout import write_reviewer_handout
from tests.seed import add_generation, make_problem

NAMES = ("ann", "bob", "cy", "dee", "eve", "fay")


@given(
    problems=st.integers(0, 45),
    reviewers=st.integers(1, 6),
    data=st.data(),
)
def test_every_problem_gets_overlap_reviewers_and_loads_differ_by_at_most_one(
    problems, reviewers, data
):
    overlap = data.draw(st.integers(1, reviewers))
    seed = data.draw(st.integers(0, 2**32))
    ids = [f"s/p{i}" for i in range(problems)]
    names = list(NAMES[:reviewers])

    queues = split_problems(ids, names, overlap, seed)

    per_problem = Counter(p for queue in queues.values() for p in queue)
    assert all(per_problem[p] == overlap for p in ids) and len(per_problem) == problems
    assert all(len(set(queue)) == len(queue) for queue in queues.values())
    loads = [len(queues[name]) for name in names]
    assert max(loads) - min(loads) <= 1
    for queue in queues.values():  # each queue in suite order
        assert queue == sorted(queue, key=ids.index)
    assert split_problems(ids, names, overlap, seed) == queues


def test_pairs_of_reviewers_share_about_as_many_problems():
    ids = [f"s/p{i}" for i in range(60)]

    queues = split_problems(ids, ["ann", "bob", "cy"], 2, seed=3)
    shared = [len(set(queues[a]) & set(queues[b])) for a, b in combinations(queues, 2)]

    assert shared == [20, 20, 20]
    five = split_problems(ids, list(NAMES[:5]), 2, seed=3)
    spread = [len(set(five[a]) & set(five[b])) for a, b in combinations(five, 2)]
    assert max(spread) - min(spread) <= 1 and sum(spread) == 60


def test_the_seed_changes_the_split_and_only_the_seed():
    ids = [f"s/p{i}" for i in range(30)]
    names = ["ann", "bob", "cy"]
    assert split_problems(ids, names, 2, 1) == split_problems(ids, names, 2, 1)
    assert split_problems(ids, names, 2, 1) != split_problems(ids, names, 2, 2)


@pytest.mark.parametrize(
    ("reviewers", "overlap", "message"),
    [
        ([], 1, "--reviewers"),
        (["ann", " "], 1, "--reviewers"),
        (["ann", "ann"], 1, "each reviewer once"),
        (["ann", "bob"], 3, "--overlap"),
        (["ann", "bob"], 0, "--overlap"),
    ],
)
def test_bad_splits_are_refused_with_the_option_named(reviewers, overlap, message):
    with pytest.raises(UserError, match=message):
        split_problems(["s/p"], reviewers, overlap, 0)


def test_a_later_batch_replaces_the_earlier_one_and_sessions_follow_the_queue(db):
    ids = [f"demo/p{i}" for i in range(6)]
    assign_problems(db, "demo", ids, ["ann", "bob", "cy"], 1, seed=0)
    queues = assign_problems(db, "demo", ids, ["ann", "bob"], 2, seed=0)

    assert reviewer_queue(db, "ann", ids) == queues["ann"] == ids
    assert reviewer_queue(db, "cy", ids) == []  # cy's earlier queue is no longer in force
    problems = [make_problem(id=i) for i in reversed(ids)]
    chosen = select_problems(problems, "assigned", db=db, reviewer="bob", contender_ids=[])
    assert [p.id for p in chosen] == ids  # queue order, whatever order the suite gave
    with pytest.raises(UserError, match="nothing here is assigned to cy"):
        select_problems(problems, "assigned", db=db, reviewer="cy", contender_ids=[])


def test_status_counts_done_problems_and_agreement_on_answers_graded_by_two(db):
    ids = ["demo/p1", "demo/p2", "demo/p3"]
    answers = {(p, c): add_generation(db, p, c, "pass") for p in ids for c in ("c1", "c2")}
    assign_problems(db, "demo", ids, ["ann", "bob"], 2, seed=0)
    for contender in ("c1", "c2"):
        record_grade(db, generation_id=answers["demo/p1", contender], reviewer="ann", score=1.0)
    record_grade(db, generation_id=answers["demo/p1", "c1"], reviewer="bob", score=1.0)
    record_grade(db, generation_id=answers["demo/p1", "c2"], reviewer="bob", score=0.5)
    record_grade(db, generation_id=answers["demo/p2", "c1"], reviewer="bob", score=0.0)

    status = {s.reviewer: s for s in team_status(db, ids)}

    assert (status["ann"].done, status["ann"].assigned) == (1, 3)
    assert (status["bob"].done, status["bob"].assigned) == (1, 3)
    assert (status["ann"].compared, status["ann"].agreed) == (2, 1)
    assert status["bob"].agreement == 0.5


def test_a_handout_holds_one_queue_without_other_reviewers_grades_and_merges_back(tmp_path):
    team = tmp_path / "grades.db"
    db = open_db(team)
    ids = ["demo/p1", "demo/p2", "demo/p3", "demo/p4"]
    answers = {(p, c): add_generation(db, p, c, "fail") for p in ids for c in ("c1", "c2")}
    queues = assign_problems(db, "demo", ids, ["ann", "bob"], 1, seed=0)
    ann_queue = queues["ann"]
    first = answers[ann_queue[0], "c1"]
    record_grade(db, generation_id=first, reviewer="bob", score=0.0)  # bob's: stays home
    record_grade(db, generation_id=first, reviewer="ann", score=0.5)
    db.conn.close()

    handout = write_reviewer_handout(team, tmp_path / "ann.db", "ann", ids)

    assert handout.queue == tuple(ann_queue) and handout.without_answers == ()
    away = open_db(tmp_path / "ann.db")
    assert {r[0] for r in away.execute("SELECT DISTINCT problem_id FROM generations")} == set(
        ann_queue
    )
    assert {r[0] for r in away.execute("SELECT reviewer FROM grade_events")} == {"ann"}
    assert reviewer_queue(away, "ann", ids) == ann_queue
    for problem in ann_queue:  # ann grades her queue on the other machine
        for contender in ("c1", "c2"):
            record_grade(away, generation_id=answers[problem, contender], reviewer="ann", score=1)
    away.conn.close()

    outcome = merge_files(team, [tmp_path / "ann.db"])

    assert outcome.counts.added["grade_events"] == 2 * len(ann_queue)
    assert outcome.counts.added["generations"] == 0  # the same answers, not copies
    db = open_db(team)
    status = {s.reviewer: s for s in team_status(db, ids)}
    assert (status["ann"].done, status["ann"].assigned) == (len(ann_queue), len(ann_queue))
    assert sum(merge_files(team, [tmp_path / "ann.db"]).counts.added.values()) == 0


def test_a_handout_never_overwrites_a_file_and_needs_an_assignment(tmp_path):
    team = tmp_path / "grades.db"
    db = open_db(team)
    add_generation(db, "demo/p1", "c1")
    db.conn.close()
    existing = tmp_path / "ann.db"
    existing.write_text("keep me")

    with pytest.raises(UserError, match="exists"):
        write_reviewer_handout(team, existing, "ann", ["demo/p1"])
    with pytest.raises(UserError, match="nothing is assigned to ann"):
        write_reviewer_handout(team, tmp_path / "new.db", "ann", ["demo/p1"])

    assert existing.read_text() == "keep me"
    assert not (tmp_path / "new.db").exists()
