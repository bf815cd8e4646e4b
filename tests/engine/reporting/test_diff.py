"""``gradebench diff A B``: paired on the problems both contenders answered."""

from __future__ import annotations

import json

import pytest

from gradebench.engine.grading.grades import record_grade
from gradebench.engine.reporting.stats import mcnemar_exact
from gradebench.engine.store.database import open_db
from tests.seed import add_generation


def test_mcnemar_exact_matches_hand_worked_binomial_tails():
    assert mcnemar_exact(0, 0) is None
    assert mcnemar_exact(3, 0) == pytest.approx(0.25)  # 2 * 1/8
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125)  # 2 * 1/64
    assert mcnemar_exact(5, 1) == pytest.approx(2 * 7 / 64)  # 2 * (1 + 6) / 64
    assert mcnemar_exact(4, 4) == 1.0


def test_diff_pairs_the_problems_both_answered(tmp_path, cli):
    path = tmp_path / "grades.db"
    db = open_db(path)
    verdicts = {  # problem: (a, b); p5 has no answer from b, p6 is untested for b
        "demo/p1": ("pass", "fail"),
        "demo/p2": ("pass", "fail"),
        "demo/p3": ("fail", "pass"),
        "demo/p4": ("pass", "pass"),
        "demo/p5": ("pass", None),
        "demo/p6": ("fail", "untested"),
    }
    answers = {}
    for problem, (first, second) in verdicts.items():
        answers[problem, "a"] = add_generation(db, problem, "model-a", first)
        if second is not None:
            tested = None if second == "untested" else second
            answers[problem, "b"] = add_generation(db, problem, "model-b", tested)
    record_grade(db, generation_id=answers["demo/p1", "a"], reviewer="ann", score=1.0)
    record_grade(db, generation_id=answers["demo/p1", "b"], reviewer="ann", score=0.5)
    record_grade(db, generation_id=answers["demo/p4", "a"], reviewer="ann", score=1.0)
    record_grade(db, generation_id=answers["demo/p4", "b"], reviewer="ann", score=1.0)
    db.conn.close()

    text = cli("diff", "model-a", "model-b", "--db", path)
    data = cli("diff", "model-a", "model-b", "--db", path, "--format", "json")

    assert text.code == 0, text.err
    assert "5 problems answered by both, 4 tested" in text.out
    assert "pass in A only (2): demo/p1, demo/p2" in text.out
    assert "pass in B only (1): demo/p3" in text.out
    assert "p = 1.0000" in text.out  # 2 vs 1 discordant: no evidence either way
    assert "demo/p1  A 1 -> B 0.5" in text.out
    report = json.loads(data.out)
    assert report["both_pass"] == 1 and report["neither_passes"] == 0
    assert report["score_changes"] == [{"problem": "demo/p1", "a": 1.0, "b": 0.5}]


def test_diff_errors_are_one_line(tmp_path, cli):
    path = tmp_path / "grades.db"
    db = open_db(path)
    add_generation(db, "demo/p1", "model-a", "pass")
    db.conn.close()
    for args, expected in (
        (("model-a", "nobody"), "unknown contender 'nobody'"),
        (("model-a", "model-a"), "two different contenders"),
        (("model-a", "model-a", "--format", "xml"), "--format"),
    ):
        result = cli("diff", *args, "--db", path)
        assert result.code != 0 and expected in result.err, result.err
        assert result.err.count("\n") == 1
