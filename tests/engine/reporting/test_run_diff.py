"""``gradebench diff RUN RUN``: two runs of one contender, paired by (problem, sample)."""

from __future__ import annotations

import json
import sqlite3

from gradebench.engine.grading.grades import record_grade
from gradebench.engine.reporting.run_diff import compare
from gradebench.engine.store.database import new_id, open_db, utc_now
from tests.seed import add_contender, add_problem, add_run
from tests.two_runs import CHANGED, CONTENDER, build_two_runs


def test_two_real_runs_list_exactly_the_answers_whose_verdict_changed(
    tmp_path, demo_suite_dir, cli
):
    path = tmp_path / "grades.db"
    first, second = build_two_runs(path, demo_suite_dir, tmp_path)

    runs = cli("diff", "--runs", "--db", path)
    # a unique start of an id, in any case, names the run
    text = cli("diff", first[:-4].lower(), second, "--db", path)
    data = cli("diff", first, second, "--db", path, "--format", "json")

    assert runs.code == 0, runs.err
    listed = [line.split() for line in runs.out.splitlines()[1:]]
    assert [row[:3] for row in listed] == [
        [first, "generate", "demo"],
        [second, "generate", "demo"],
    ]
    assert [row[-2:] for row in listed] == [["3", CONTENDER]] * 2
    assert text.code == 0, text.err
    assert f"A = run {first} (generate, demo" in text.out
    assert f"contender {CONTENDER}: 3 answers made in both runs" in text.out
    assert "verdict differs on 2 of 3 answers tested in both runs" in text.out
    rows = [line.split() for line in text.out.splitlines() if line.startswith("  demo/")]
    assert rows == [[p, "0", a, b] for p, (a, b) in sorted(CHANGED.items())]
    assert "pass in A only (1): demo/add-two" in text.out
    assert "pass in B only (1): demo/counter-class" in text.out
    assert "p = 1.0000" in text.out
    report = json.loads(data.out)
    assert report["contender"] == CONTENDER and report["both_tested"] == 3
    assert report["verdict_changes"] == [
        {"problem": p, "sample": 0, "a": a, "b": b} for p, (a, b) in sorted(CHANGED.items())
    ]
    assert report["differing_problems"] == sorted(CHANGED)
    # the first run's answers are superseded, yet still what the first run made
    conn = sqlite3.connect(path)
    superseded = conn.execute(
        "SELECT count(*) FROM generations WHERE run_id = ? AND superseded_at IS NOT NULL", [first]
    ).fetchone()[0]
    conn.close()
    assert superseded == 3


def _answer(db, run_id, problem, contender, verdict, *, sample=0, later=0) -> str:
    """An answer ``run_id`` made (superseding the current one) with one test verdict."""
    add_problem(db, problem)
    add_contender(db, contender)
    when = f"2026-01-01T00:00:{later:02d}.000000+00:00"
    db.conn.execute(
        "UPDATE generations SET superseded_at = ? WHERE problem_id = ? AND contender_id = ?"
        " AND sample_index = ? AND superseded_at IS NULL",
        (when, problem, contender, sample),
    )
    generation_id = new_id()
    db["generations"].insert(
        {
            "id": generation_id,
            "run_id": run_id,
            "problem_id": problem,
            "contender_id": contender,
            "sample_index": sample,
            "prompt_text": "p",
            "status": "done",
            "started_at": when,
        }
    )
    db["executions"].insert(
        {
            "id": new_id(),
            "generation_id": generation_id,
            "problem_id": problem,
            "verdict": verdict,
            "passed": int(verdict == "pass"),
            "total": 1,
            "seconds": 0.1,
            "created_at": utc_now(),
        }
    )
    return generation_id


def _seeded(path):
    """Runs r1 and r2 of contenders a and b (several samples, grades), r3 of c only,
    r4 a grading session that made no answer."""
    db = open_db(path)
    r1, r2, r3, r4 = (add_run(db, host={}) for _ in range(4))
    ids = {}
    for problem, sample, a_first, a_second in (
        ("demo/p1", 0, "pass", "pass"),
        ("demo/p1", 1, "pass", "timeout"),  # only a further sample changes
        ("demo/p2", 0, "fail", "error"),  # no pass on either side, still a change
        ("demo/p3", 0, "fail", "fail"),
    ):
        ids[problem, sample, 1] = _answer(db, r1, problem, "a", a_first, sample=sample, later=1)
        _answer(db, r1, problem, "b", "pass", sample=sample, later=1)
        ids[problem, sample, 2] = _answer(db, r2, problem, "a", a_second, sample=sample, later=2)
        _answer(db, r2, problem, "b", "pass", sample=sample, later=2)
    _answer(db, r1, "demo/p4", "a", "pass", later=1)  # r2 never answered p4: not paired
    _answer(db, r3, "demo/p1", "c", "pass", later=3)
    record_grade(db, generation_id=ids["demo/p3", 0, 1], reviewer="ann", score=0.5)
    record_grade(db, generation_id=ids["demo/p3", 0, 2], reviewer="ann", score=0.0)
    db.conn.close()
    return r1, r2, r3, r4


def test_every_sample_is_paired_and_scores_compare_answer_by_answer(tmp_path, cli):
    path = tmp_path / "grades.db"
    r1, r2, _, _ = _seeded(path)
    conn = sqlite3.connect(path)
    diff = compare(conn, r1, r2, contender="a")
    conn.close()

    assert len(diff.answers) == 4 and len(diff.pairs) == 3  # p4 has no pair
    assert [(p.problem_id, p.sample_index) for p in diff.verdict_changes] == [
        ("demo/p1", 1),
        ("demo/p2", 0),
    ]
    assert diff.only_a_passes == [] and diff.only_b_passes == []  # first samples only
    assert [(p.problem_id, p.score_a, p.score_b) for p in diff.score_changes] == [
        ("demo/p3", 0.5, 0.0)
    ]
    assert diff.differing_problems == ["demo/p1", "demo/p2", "demo/p3"]
    text = cli("diff", r1, r2, "--contender", "a", "--db", path)
    assert text.code == 0, text.err
    assert "  demo/p1  1       pass  timeout" in text.out
    assert "  demo/p3#0  A 0.5 -> B 0" in text.out
    assert "problems that differ (3): demo/p1, demo/p2, demo/p3" in text.out


def test_run_arguments_that_name_nothing_or_too_much_are_one_line(tmp_path, cli):
    path = tmp_path / "grades.db"
    r1, r2, r3, r4 = _seeded(path)
    ids = [r1, r2, r3, r4]
    shared = next(r1[:n] for n in range(len(r1), 0, -1) if all(i.startswith(r1[:n]) for i in ids))
    cases = [
        ((shared, r2), f"{shared!r} starts 4 run ids"),
        (("nobody", r2), "unknown contender 'nobody', and no run id starts with it"),
        (("a", r2), "two contenders or two runs, not one of each"),
        ((r1, r1), "two different runs"),
        ((r1, r3), "share no contender"),
        ((r1, r4), f"run {r4} (generate) made no answers"),
        ((r1, r2), "both answered for 2 contenders (a, b); choose one with --contender"),
        ((r1, r2, "--contender", "c"), "'c' is not a contender both runs answered for"),
        (("a", "b", "--contender", "a"), "--contender: only for a diff of two runs"),
        ((r1,), "give A and B"),
        (("--runs", r1), "--runs lists the runs"),
    ]
    for args, expected in cases:
        result = cli("diff", *args, "--db", path)
        assert result.code != 0 and expected in result.err, (args, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert cli("diff", r1, r2, "--contender", "b", "--db", path).code == 0
