"""reporting.report and the modules it calls, on the hand-worked database of tests/grades_fixture.py."""

from __future__ import annotations

import sqlite3

import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.report import build_report
from gradebench.engine.reporting.selection import parse_by
from tests.grades_fixture import build

DEMO = Selection(suite="demo")


@pytest.fixture
def conn(tmp_path):
    connection = sqlite3.connect(str(build(tmp_path / "graded.db")))
    yield connection
    connection.close()


def by_name(rows):
    return {row.contender: row for row in rows}


def test_mean_combination_uses_each_reviewers_latest_grade(conn):
    rows = by_name(build_report(conn, DEMO).rows)
    assert rows["alpha"].mean_score == pytest.approx((1 + 0.25 + 0) / 3)
    assert rows["beta"].mean_score == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert rows["gamma"].mean_score == pytest.approx(1.0)
    assert rows["alpha"].graded == 3 and rows["gamma"].graded == 2


def test_majority_combination_breaks_ties_toward_the_lower_score(conn):
    rows = by_name(build_report(conn, Selection(suite="demo", combine="majority")).rows)
    assert rows["alpha"].mean_score == pytest.approx(1 / 3)
    assert rows["beta"].mean_score == pytest.approx(0.5 / 3)


def test_superseded_answers_and_their_grades_are_left_out(conn):
    alpha = by_name(build_report(conn, DEMO).rows)["alpha"]
    assert alpha.generations == 3
    assert alpha.mean_tokens == pytest.approx(200)  # the superseded answer had 9999 tokens


def test_shares_format_rate_and_leaderboard_order(conn):
    report = build_report(conn, DEMO)
    assert [row.contender for row in report.rows] == ["gamma", "alpha", "beta"]
    alpha = by_name(report.rows)["alpha"]
    assert (alpha.correct, alpha.partial, alpha.incorrect) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    # alpha/p1: ann 1, ben 1 -> 1; alpha/p2: ann 1 (edit), ben 1 -> 1; alpha/p3 unset
    assert alpha.format_rate == pytest.approx(1.0)
    # beta/p1: ann 1, ben 0 -> 0.5; beta/p2 1; beta/p3 0
    assert by_name(report.rows)["beta"].format_rate == pytest.approx(0.5)


def test_pass_at_1_uses_the_latest_execution_and_base_vs_plus(conn):
    rows = by_name(build_report(conn, DEMO).rows)
    assert rows["alpha"].pass_at_k(1) == pytest.approx(2 / 3)
    assert rows["beta"].pass_at_k(1) == pytest.approx(1 / 3)
    assert rows["gamma"].pass_at_k(1) == pytest.approx(1.0)
    assert rows["alpha"].pass_at_k(10) is None  # one sample per problem: k > n
    # base verdicts exist for alpha's three answers: pass, pass, fail
    assert rows["alpha"].base_pass_at_1 == pytest.approx(2 / 3)
    assert rows["alpha"].plus_pass_at_1 == pytest.approx(2 / 3)
    assert rows["gamma"].base_pass_at_1 is None


def test_resource_means(conn):
    alpha = by_name(build_report(conn, DEMO).rows)["alpha"]
    assert alpha.mean_ttft_seconds == pytest.approx(2.0)
    assert alpha.mean_tokens_per_second == pytest.approx(10.0)
    assert alpha.mean_seconds == pytest.approx(22.0)
    assert alpha.mean_tokens == pytest.approx(200.0)


def test_confidence_interval_is_reproducible_and_brackets_the_mean(conn):
    first = by_name(build_report(conn, DEMO).rows)["alpha"]
    second = by_name(build_report(conn, DEMO).rows)["alpha"]
    assert (first.ci_low, first.ci_high) == (second.ci_low, second.ci_high)
    assert first.ci_low <= first.mean_score <= first.ci_high


def test_group_by_difficulty_and_tag(conn):
    report = build_report(conn, DEMO, by=("contender", "difficulty"))
    keys = [(r.contender, r.difficulty) for r in report.rows]
    assert keys[:3] == [("gamma", "easy"), ("gamma", "medium"), ("alpha", "easy")]
    alpha_medium = next(
        r for r in report.rows if r.contender == "alpha" and r.difficulty == "medium"
    )
    assert alpha_medium.mean_score == pytest.approx(0.25)
    tags = build_report(conn, DEMO, by=("contender", "tag"))
    alpha_strings = next(r for r in tags.rows if r.contender == "alpha" and r.tag == "strings")
    assert alpha_strings.problems == 2  # p1 and p3
    assert alpha_strings.mean_score == pytest.approx(0.5)


def test_suite_filter_and_all_suites(conn):
    everything = by_name(build_report(conn, Selection()).rows)
    assert everything["alpha"].generations == 4
    assert everything["alpha"].mean_score == pytest.approx((1 + 0.25 + 0 + 1) / 4)


def test_reviewer_filter_keeps_only_that_reviewers_grades(conn):
    ben = by_name(build_report(conn, Selection(suite="demo", reviewers=("ben",))).rows)
    assert ben["alpha"].graded == 2
    assert ben["alpha"].mean_score == pytest.approx(0.5)
    assert ben["gamma"].graded == 0 and ben["gamma"].mean_score is None


def _ordinal_alpha(items: list[list[float]]) -> float:
    """Krippendorff's alpha (ordinal), a second implementation straight from the
    definition: a coincidence matrix of pairable values (each ordered pair within an
    item weighs 1/(m-1)), ordinal distances from the value totals, 1 - D_o / D_e.

    On the fixture's items (1,1), (0.5,0), (1,0): totals n_0 = 2, n_.5 = 1, n_1 = 3 (n = 6);
    distances d(0,.5) = 1.5^2, d(0,1) = 3.5^2, d(.5,1) = 2^2; D_o = (2*2.25 + 2*12.25)/6
    = 29/6; D_e = 2*(2*1*2.25 + 2*3*12.25 + 1*3*4)/(6*5) = 6; alpha = 1 - 29/36 = 7/36.
    """
    pairable = [item for item in items if len(item) >= 2]
    values = sorted({v for item in pairable for v in item})
    coincidence = {(c, k): 0.0 for c in values for k in values}
    for item in pairable:
        for i, c in enumerate(item):
            for j, k in enumerate(item):
                if i != j:
                    coincidence[c, k] += 1 / (len(item) - 1)
    totals = {c: sum(coincidence[c, k] for k in values) for c in values}
    n = sum(totals.values())

    def distance(c: float, k: float) -> float:
        low, high = sorted((values.index(c), values.index(k)))
        between = sum(totals[values[g]] for g in range(low, high + 1))
        return (between - (totals[c] + totals[k]) / 2) ** 2

    observed = sum(coincidence[c, k] * distance(c, k) for c in values for k in values) / n
    expected = sum(totals[c] * totals[k] * distance(c, k) for c in values for k in values) / (
        n * (n - 1)
    )
    return 1 - observed / expected


def test_agreement_figures(conn):
    agreement = build_report(conn, DEMO).agreement
    assert agreement.reviewers == ("ann", "ben")
    assert agreement.items == 3
    (pair,) = agreement.cohen
    # ann/ben on alpha/p1 (1,1), alpha/p2 (0.5,0), beta/p1 (1,0): po 1/3, pe 2/9
    assert pair.kappa == pytest.approx(1 / 7)
    # Fleiss by hand: item agreement 1, 0, 0 (mean 1/3); shares of 0, 0.5, 1 over the six
    # ratings 2/6, 1/6, 3/6, chance 14/36 = 7/18; kappa (1/3 - 7/18) / (11/18) = -1/11
    assert agreement.fleiss_kappa == pytest.approx(-1 / 11)
    # Krippendorff ordinal by hand: D_o = 29/6, D_e = 6 (worked in _ordinal_alpha), 7/36
    assert agreement.krippendorff_alpha == pytest.approx(7 / 36)
    assert _ordinal_alpha([[1, 1], [0.5, 0], [1, 0]]) == pytest.approx(7 / 36)
    assert agreement.auto_compared == 11
    assert agreement.auto_agree == 7
    assert agreement.human_raised == 1  # beta/p2 failed, ann gave 0.5
    assert agreement.human_lowered == 3  # alpha/p2 (ann 0.5, ben 0), beta/p1 (ben 0)


def test_pairwise_uses_current_votes_and_ranks_by_bradley_terry(conn):
    pairwise = build_report(conn, DEMO).pairwise
    assert pairwise.votes == 3
    standings = {s.contender: s for s in pairwise.standings}
    assert (standings["gamma"].wins, standings["gamma"].losses) == (2, 0)
    assert (standings["alpha"].wins, standings["alpha"].losses) == (1, 1)
    assert (standings["beta"].wins, standings["beta"].ties, standings["beta"].losses) == (0, 0, 2)
    assert [s.contender for s in pairwise.standings] == ["gamma", "alpha", "beta"]
    assert all(s.low <= s.strength <= s.high for s in pairwise.standings)
    pairs = {(p.first, p.second): p for p in pairwise.pairs}
    assert pairs[("alpha", "beta")].first_wins == 1
    assert pairs[("beta", "gamma")].second_wins == 1 and pairs[("beta", "gamma")].ties == 0


def test_contender_filter_and_unknown_contender(conn):
    only = build_report(conn, Selection(suite="demo", contenders=("beta",)))
    assert [r.contender for r in only.rows] == ["beta"]
    with pytest.raises(UserError, match="--contender: unknown contender 'delta'"):
        build_report(conn, Selection(contenders=("delta",)))


def test_unknown_suite_reviewer_combine_and_group_key_are_user_errors(conn):
    with pytest.raises(UserError, match="--suite"):
        build_report(conn, Selection(suite="nope"))
    with pytest.raises(UserError, match="--reviewer"):
        build_report(conn, Selection(reviewers=("zed",)))
    with pytest.raises(UserError, match="--combine"):
        build_report(conn, Selection(combine="median"))
    with pytest.raises(UserError, match="--by"):
        parse_by("contender,model")
    assert parse_by("difficulty,contender") == ("contender", "difficulty")


def test_matches_an_independent_sql_computation(conn):
    expected = dict(
        conn.execute(
            """
            WITH latest AS (
                SELECT generation_id, reviewer, max(created_at) AS at FROM grade_events
                GROUP BY generation_id, reviewer
            ), current AS (
                SELECT e.generation_id, e.score FROM grade_events e JOIN latest l
                  ON l.generation_id = e.generation_id AND l.reviewer = e.reviewer
                 AND l.at = e.created_at
            ), per AS (SELECT generation_id, avg(score) AS s FROM current GROUP BY generation_id)
            SELECT c.name, avg(per.s) FROM per
            JOIN generations g ON g.id = per.generation_id AND g.superseded_at IS NULL
            JOIN contenders c ON c.id = g.contender_id GROUP BY c.name
            """
        ).fetchall()
    )
    rows = by_name(build_report(conn, Selection()).rows)
    assert {name: rows[name].mean_score for name in expected} == pytest.approx(expected)


def test_empty_database_gives_an_empty_report(tmp_path):
    from gradebench.engine.store.database import open_db

    db = open_db(tmp_path / "empty.db")
    report = build_report(db.conn, Selection())
    assert report.rows == ()
    assert report.agreement.items == 0
    assert report.pairwise.votes == 0


@pytest.mark.parametrize("reviewers", [(), ("ann",), ("ann", "ben"), ("ben",)])
def test_the_mean_read_from_sql_equals_combining_each_reviewers_grade(conn, reviewers):
    """The mean rule's scores and format rates come from one SQL row per answer; they
    must equal what combining the per-reviewer grades in numpy gives (the majority
    rule's path), answer by answer."""
    import numpy as np

    from gradebench.engine.reporting.loading import (
        _combine,
        tune_for_reading,
    )
    from gradebench.engine.reporting.loading import load_table as _load
    from gradebench.engine.reporting.loading import read_reviewer_grades as _reviewer_grades

    selection = Selection(reviewers=reviewers)
    tune_for_reading(conn)
    table = _load(conn, selection)
    assert table.reviewer_grades is None  # not read yet for the mean rule
    grades = _reviewer_grades(conn, selection, table.locate)
    n = len(table.rowid)
    assert len(grades.pos) > 0
    expected_score = _combine(grades.pos, grades.score, n, "mean")
    known_fmt = ~np.isnan(grades.fmt)
    fmt_sum = np.bincount(grades.pos[known_fmt], weights=grades.fmt[known_fmt], minlength=n)
    fmt_count = np.bincount(grades.pos[known_fmt], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected_fmt = np.where(fmt_count > 0, fmt_sum / np.maximum(fmt_count, 1), np.nan)
    np.testing.assert_array_equal(table.score, expected_score)
    np.testing.assert_array_equal(table.fmt, expected_fmt)
