"""Adjudication: which answers are disputed, how a settlement is recorded, and what the
exports make of it (``--combine adjudicated``, the counts in the agreement section)."""

from __future__ import annotations

import json

import pytest

from gradebench.engine.grading.adjudication import adjudicate, disagreements
from gradebench.engine.grading.grades import record_grade
from gradebench.engine.store.database import open_db
from tests.seed import add_generation

IDS = ["demo/p1", "demo/p2", "demo/p3"]


@pytest.fixture
def graded(tmp_path):
    """p1: ann 1 / bob 0 (disputed); p2: both 1, formats differ (disputed); p3: agree."""
    path = tmp_path / "grades.db"
    db = open_db(path)
    answers = {p: add_generation(db, p, "c1", "fail") for p in IDS}
    record_grade(db, generation_id=answers["demo/p1"], reviewer="ann", score=1.0, note="fine")
    record_grade(db, generation_id=answers["demo/p1"], reviewer="bob", score=0.0, note="bug")
    record_grade(db, generation_id=answers["demo/p2"], reviewer="ann", score=1.0, format_ok=True)
    record_grade(db, generation_id=answers["demo/p2"], reviewer="bob", score=1.0, format_ok=False)
    record_grade(db, generation_id=answers["demo/p3"], reviewer="ann", score=0.5)
    record_grade(db, generation_id=answers["demo/p3"], reviewer="bob", score=0.5)
    return path, db, answers


def test_disputed_answers_are_those_whose_reviewers_differ_in_score_or_format(graded):
    _, db, answers = graded

    found = disagreements(db, IDS)

    assert [d.generation_id for d in found] == [answers["demo/p1"], answers["demo/p2"]]
    first = found[0]
    assert [(g.reviewer, g.score, g.note) for g in first.grades] == [
        ("ann", 1.0, "fine"),
        ("bob", 0.0, "bug"),
    ]
    assert first.verdict == "fail" and first.settled is None


def test_adopting_a_grade_and_replacing_it_with_an_own_grade_are_both_recorded(graded):
    _, db, _ = graded
    dispute = disagreements(db, IDS)[0]

    adopted = adjudicate(db, dispute, "cy", adopt=dispute.grades[1])
    own = adjudicate(db, dispute, "cy", score=0.5, format_ok=True)

    rows = db.execute(
        "SELECT score, adopted_event_id, replaces_id FROM adjudications ORDER BY rowid"
    ).fetchall()
    assert rows == [(0.0, dispute.grades[1].event_id, None), (0.5, None, adopted.id)]
    assert disagreements(db, IDS)[0].settled == own
    with pytest.raises(Exception, match="adjudicator"):
        adjudicate(db, dispute, " ", score=1.0)


def test_export_uses_the_final_grade_with_combine_adjudicated_and_counts_it(graded, cli):
    path, db, _ = graded
    dispute = disagreements(db, IDS)[0]
    adjudicate(db, dispute, "cy", adopt=dispute.grades[0])  # ann's 1.0 over the mean 0.5

    def mean_score(rule: str) -> float:
        out = cli("export", "--format", "json", "--combine", rule, "--db", path)
        assert out.code == 0, out.err
        report = json.loads(out.out)
        assert report["agreement"]["disputed"] == 1  # scores differ on p1 only
        assert report["agreement"]["adjudicated"] == 1
        return report["rows"][0]["mean_score"]

    assert mean_score("mean") == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert mean_score("adjudicated") == pytest.approx((1.0 + 1.0 + 0.5) / 3)
    markdown = cli("export", "--format", "md", "--db", path).out
    assert "| Answers with an adjudicated final grade | 1 |" in markdown
