"""``gradebench merge``: reviewers grade copies of one database on their own machines and
the copies merge back exactly, idempotently and in either order; what cannot merge stops
the merge with one line and writes nothing."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradebench.engine.errors import UserError
from gradebench.engine.grading.grades import record_grade
from gradebench.engine.grading.votes import record_vote
from gradebench.engine.store.database import new_id, open_db, utc_now
from gradebench.engine.store.database_files import copy_database
from gradebench.engine.store.generations import begin_generation, update_generation
from gradebench.engine.store.merge import DERIVED_TABLES, TABLE_RULES
from gradebench.engine.workflows.merge_files import merge_files
from tests.seed import add_generation

PROBLEMS = ("demo/p1", "demo/p2", "demo/p3")
CONTENDERS = ("c-left", "c-right")


def build_base(path: Path) -> dict[tuple[str, str], str]:
    """A database with a finished, tested answer for every (problem, contender)."""
    db = open_db(path)
    answers = {}
    for problem in PROBLEMS:
        for contender in CONTENDERS:
            answers[problem, contender] = add_generation(
                db, problem, contender, "pass" if contender == "c-left" else "fail"
            )
    db.conn.close()
    return answers


def copy_of(path: Path, name: str) -> Path:
    destination = path.parent / name
    copy_database(path, destination)
    return destination


def current_answer(db, problem: str, contender: str) -> str:
    return db.execute(
        "SELECT id FROM generations WHERE problem_id = ? AND contender_id = ?"
        " AND superseded_at IS NULL",
        (problem, contender),
    ).fetchone()[0]


def regenerate(db, problem: str, contender: str, text: str) -> str:
    """What ``r`` does: a new answer supersedes the current one, then finishes."""
    generation_id = new_id()
    begin_generation(
        db,
        generation_id=generation_id,
        problem_id=problem,
        contender_id=contender,
        sample_index=0,
        prompt_text="p",
        run_id=None,
        threads=1,
        started_at=utc_now(),
        replaceable=lambda _row: True,
    )
    update_generation(
        db, generation_id, {"raw_answer": text, "status": "done", "finished_at": utc_now()}
    )
    return generation_id


def grade(path: Path, reviewer: str, scores: dict[str, float]) -> None:
    """``reviewer`` grades the current answer of each problem's left contender."""
    db = open_db(path)
    for problem, score in scores.items():
        record_grade(
            db,
            generation_id=current_answer(db, problem, "c-left"),
            reviewer=reviewer,
            score=score,
        )
    db.conn.close()


def current_grades(path: Path) -> set[tuple]:
    """Each reviewer's current grade of each current answer, by content."""
    conn = sqlite3.connect(path)
    try:
        return set(
            conn.execute(
                "SELECT c.generation_id, c.reviewer, c.event_id, c.score, c.format_ok"
                " FROM grade_current AS c JOIN generations AS g ON g.id = c.generation_id"
                " WHERE g.superseded_at IS NULL"
            ).fetchall()
        )
    finally:
        conn.close()


def current_votes(path: Path) -> set[tuple]:
    conn = sqlite3.connect(path)
    try:
        return set(conn.execute("SELECT * FROM vote_current").fetchall())
    finally:
        conn.close()


def current_answers(path: Path) -> set[tuple]:
    conn = sqlite3.connect(path)
    try:
        return set(
            conn.execute(
                "SELECT problem_id, contender_id, sample_index, id FROM generations"
                " WHERE superseded_at IS NULL"
            ).fetchall()
        )
    finally:
        conn.close()


def table_rows(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        return {
            rule.table: sorted(conn.execute(f"SELECT * FROM {rule.table}").fetchall(), key=repr)
            for rule in TABLE_RULES
        }
    finally:
        conn.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(cli, path: Path, fmt: str = "json") -> str:
    result = cli("export", "--format", fmt, "--db", path, "--seed", "1")
    assert result.code == 0, result.err
    return result.out


def without_pace(text: str, fmt: str) -> str:
    """An export without the reviewers' pace (seconds between their grades: the same grades
    made at other moments)."""
    import json

    if fmt == "json":
        report = json.loads(text)
        for reviewer in report["reviewers"]:
            reviewer.pop("seconds_per_answer")
            reviewer.pop("pace_drift")
        return json.dumps(report)
    if fmt == "md":
        return text.split("## Reviewers")[0]
    return text


def test_three_reviewers_merged_export_the_same_as_grading_on_one_database(tmp_path, cli):
    base = tmp_path / "base.db"
    build_base(base)
    shared = copy_of(base, "shared.db")
    laptops = {name: copy_of(base, f"{name}.db") for name in ("ann", "bob", "cy")}
    plans = {
        "ann": {"demo/p1": 1.0, "demo/p2": 0.5},
        "bob": {"demo/p1": 0.0, "demo/p3": 1.0},
        "cy": {"demo/p2": 1.0, "demo/p3": 0.5},
    }
    for reviewer, scores in plans.items():
        grade(laptops[reviewer], reviewer, scores)
        grade(shared, reviewer, scores)

    outcome = merge_files(base, list(laptops.values()))

    assert outcome.counts.added["grade_events"] == 6
    assert outcome.counts.added["generations"] == 0
    for fmt in ("json", "csv", "md"):
        assert without_pace(export(cli, base, fmt), fmt) == without_pace(
            export(cli, shared, fmt), fmt
        )
    assert {(r, s) for _, r, _, s, _ in current_grades(base)} == {
        (r, s) for _, r, _, s, _ in current_grades(shared)
    }


def test_merging_again_adds_nothing(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    other = copy_of(base, "other.db")
    grade(other, "bob", {"demo/p1": 1.0})
    merge_files(base, [other])
    before = table_rows(base)

    again = merge_files(base, [other])

    assert sum(again.counts.added.values()) == 0
    assert sum(again.counts.updated.values()) == 0
    assert table_rows(base) == before
    assert again.lines()[0] == "added: nothing new"


def test_the_other_files_are_never_written(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    other = copy_of(base, "other.db")
    grade(other, "bob", {"demo/p1": 1.0})
    digest = file_digest(other)

    merge_files(base, [other])

    assert file_digest(other) == digest
    assert not Path(str(other) + "-wal").exists()


def test_answers_made_for_one_pair_on_two_machines_both_survive_in_either_order(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    ann, bob = copy_of(base, "ann.db"), copy_of(base, "bob.db")
    db = open_db(ann)
    from_ann = regenerate(db, "demo/p1", "c-left", "ann's answer")
    db.conn.close()
    db = open_db(bob)
    from_bob = regenerate(db, "demo/p1", "c-left", "bob's answer")
    db.conn.close()
    grade(ann, "ann", {"demo/p1": 1.0})
    grade(bob, "bob", {"demo/p1": 0.0})
    grade(bob, "cy", {"demo/p1": 0.5})
    ann_into_bob, bob_into_ann = copy_of(bob, "m1.db"), copy_of(ann, "m2.db")

    first = merge_files(ann_into_bob, [ann])
    merge_files(bob_into_ann, [bob])

    assert first.counts.doubled_pairs == 1
    for merged in (ann_into_bob, bob_into_ann):
        db = open_db(merged)
        rows = db.execute(
            "SELECT id, superseded_at IS NULL FROM generations"
            " WHERE problem_id = 'demo/p1' AND contender_id = 'c-left'"
        ).fetchall()
        grades = dict(db.execute("SELECT reviewer, generation_id FROM grade_current").fetchall())
        db.conn.close()
        # both answers and the original kept; bob's (graded by two reviewers) is current
        assert dict(rows)[from_bob] == 1 and dict(rows)[from_ann] == 0 and len(rows) == 3
        assert grades == {"ann": from_ann, "bob": from_bob, "cy": from_bob}
    assert current_grades(ann_into_bob) == current_grades(bob_into_ann)
    assert current_answers(ann_into_bob) == current_answers(bob_into_ann)


def test_a_regenerated_answer_stays_superseded_whichever_file_is_the_target(tmp_path):
    base = tmp_path / "base.db"
    answers = build_base(base)
    ann = copy_of(base, "ann.db")
    db = open_db(ann)
    newer = regenerate(db, "demo/p2", "c-right", "again")
    db.conn.close()
    target = copy_of(base, "target.db")

    merge_files(target, [ann])
    merge_files(base, [ann])  # base still holds the old answer as current: it is advanced

    for merged in (target, base):
        current = {(p, c): g for p, c, _, g in current_answers(merged)}
        assert current["demo/p2", "c-right"] == newer
        assert answers["demo/p2", "c-right"] not in current.values()


def test_an_answer_copied_mid_stream_takes_the_finished_text(tmp_path):
    base = tmp_path / "base.db"
    db = open_db(base)
    generation_id = add_generation(db, "demo/p1", "c-left", status="streaming")
    db.conn.close()
    later = copy_of(base, "later.db")
    db = open_db(later)
    update_generation(
        db,
        generation_id,
        {
            "raw_answer": "def f(x): ...",
            "status": "done",
            "tokens": 7,
            "cpu_seconds": 1.5,
            "peak_rss_bytes": 250_000_000,
        },
    )
    db.conn.close()

    merge_files(base, [later])

    db = open_db(base)
    assert db.execute(
        "SELECT raw_answer, status, tokens, cpu_seconds, peak_rss_bytes FROM generations"
        " WHERE id = ?",
        (generation_id,),
    ).fetchone() == ("def f(x): ...", "done", 7, 1.5, 250_000_000)


def test_the_same_id_with_different_content_stops_the_merge_and_writes_nothing(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    other = copy_of(base, "other.db")
    grade(other, "bob", {"demo/p3": 1.0})
    grade(base, "ann", {"demo/p2": 1.0})
    db = open_db(other)
    tampered = db.execute("SELECT id FROM grade_events").fetchone()[0]
    db.conn.close()
    copy_database(other, tmp_path / "sneaky.db")
    db = open_db(tmp_path / "sneaky.db")
    with db.conn:
        db.execute("UPDATE grade_events SET score = 0.25 WHERE id = ?", (tampered,))
    db.conn.close()
    merge_files(base, [other])  # bob's grade is in the target now
    before = table_rows(base)

    with pytest.raises(UserError) as stopped:
        merge_files(base, [tmp_path / "sneaky.db"])

    message = str(stopped.value)
    assert "table grade_events" in message and tampered in message and "score" in message
    assert "\n" not in message
    assert table_rows(base) == before


def test_a_file_of_an_older_schema_merges_through_a_migrated_copy(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    old = copy_of(base, "old.db")
    grade(old, "bob", {"demo/p1": 1.0})
    db = open_db(old)
    with db.conn:
        db.conn.executescript(
            "DROP INDEX IF EXISTS generations_figures;"
            " ALTER TABLE generations DROP COLUMN extract_notes;"
            " ALTER TABLE generations DROP COLUMN followed_format;"
            " DELETE FROM _sqlite_migrations WHERE name IN"
            " ('m007_extraction_details', 'm006_generation_figures_index');"
            " PRAGMA user_version = 5;"
        )
    db.conn.close()
    digest = file_digest(old)

    outcome = merge_files(base, [old])

    assert outcome.migrated == (old,)
    assert outcome.counts.added["grade_events"] == 1
    assert file_digest(old) == digest  # the original was only read
    names = {row[1] for row in sqlite3.connect(old).execute("PRAGMA table_info(generations)")}
    assert "extract_notes" not in names


def test_a_file_from_a_newer_gradebench_is_refused(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    newer = copy_of(base, "newer.db")
    conn = sqlite3.connect(newer)
    with conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('gradebench', 'm099_from_the_future', '2030-01-01')"
        )
    conn.close()

    with pytest.raises(UserError, match="newer gradebench"):
        merge_files(base, [newer])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: tmp / "missing.db", "no such file"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: (tmp / "plain.txt").write_text("hello") and tmp / "plain.txt", "plain.txt"),
        (lambda tmp: tmp / "grades.db", "is the target database itself"),
    ],
)
def test_bad_files_get_one_line_and_a_non_zero_exit(tmp_path, cli, make, expected):
    target = tmp_path / "grades.db"
    build_base(target)
    before = table_rows(target)

    result = cli("merge", make(tmp_path), "--into", target)

    assert result.code != 0
    assert expected in result.err and result.err.count("\n") == 1
    assert "Traceback" not in result.err
    assert table_rows(target) == before


def test_the_command_reports_what_it_added(tmp_path, cli):
    base = tmp_path / "grades.db"
    build_base(base)
    other = copy_of(base, "bob.db")
    grade(other, "bob", {"demo/p1": 1.0, "demo/p2": 0.0})

    first = cli("merge", other, "--db", base)
    second = cli("merge", other, "--db", base)

    assert first.code == 0 and "2 grade events" in first.out
    assert second.code == 0 and "nothing new" in second.out


def test_every_table_is_merged_or_derived(tmp_path):
    db = open_db(tmp_path / "fresh.db")
    tables = set(db.table_names())
    merged = {rule.table for rule in TABLE_RULES}
    assert tables == merged | (tables & DERIVED_TABLES)
    assert not merged & DERIVED_TABLES


# --- random interleavings of grading on two copies ---

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(("a", "b")),  # which copy
        st.sampled_from(("grade", "grade", "vote", "regenerate")),
        st.sampled_from(("ann", "bob")),
        st.sampled_from(PROBLEMS),
        st.sampled_from((0.0, 0.5, 1.0)),
    ),
    max_size=12,
)


def apply(path: Path, operations) -> None:
    db = open_db(path)
    for _copy, kind, reviewer, problem, score in operations:
        if kind == "grade":
            record_grade(
                db,
                generation_id=current_answer(db, problem, CONTENDERS[int(score) % 2]),
                reviewer=reviewer,
                score=score,
            )
        elif kind == "vote":
            record_vote(
                db,
                problem_id=problem,
                reviewer=reviewer,
                generation_a=current_answer(db, problem, "c-left"),
                generation_b=current_answer(db, problem, "c-right"),
                outcome={0.0: "a", 0.5: "tie", 1.0: "b"}[score],
            )
        else:
            regenerate(db, problem, "c-left", f"{reviewer} {score}")
    db.conn.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
def test_merging_in_either_order_and_again_gives_the_same_grades_votes_and_exports(
    tmp_path_factory, cli, operations
):
    folder = tmp_path_factory.mktemp("interleaving")
    base = folder / "base.db"
    build_base(base)
    a, b = copy_of(base, "a.db"), copy_of(base, "b.db")
    apply(a, [op for op in operations if op[0] == "a"])
    apply(b, [op for op in operations if op[0] == "b"])
    b_into_a, a_into_b = copy_of(a, "ba.db"), copy_of(b, "ab.db")

    merge_files(b_into_a, [b])
    merge_files(a_into_b, [a])
    once = table_rows(b_into_a)
    repeat = merge_files(b_into_a, [b, a_into_b])

    assert sum(repeat.counts.added.values()) == 0
    assert table_rows(b_into_a) == once
    assert current_answers(b_into_a) == current_answers(a_into_b)
    assert current_grades(b_into_a) == current_grades(a_into_b)
    assert current_votes(b_into_a) == current_votes(a_into_b)
    assert export(cli, b_into_a) == export(cli, a_into_b)
    for merged in (b_into_a, a_into_b):
        pairs = [(p, c, s) for p, c, s, _ in current_answers(merged)]
        assert len(pairs) == len(set(pairs)) == len(PROBLEMS) * len(CONTENDERS)


def test_derived_tables_after_a_merge_equal_their_triggers_and_the_triggers_are_back(tmp_path):
    base = tmp_path / "base.db"
    build_base(base)
    a, b = copy_of(base, "a.db"), copy_of(base, "b.db")
    apply(
        a, [("a", "grade", r, p, s) for r in ("ann", "bob") for p in PROBLEMS for s in (0.5, 1.0)]
    )
    apply(a, [("a", "vote", "ann", p, 0.5) for p in PROBLEMS])
    apply(
        b, [("b", "grade", "cy", p, 0.0) for p in PROBLEMS] + [("b", "vote", "cy", "demo/p1", 1.0)]
    )
    db = open_db(b)
    for problem in PROBLEMS:  # a second test run of each left answer
        db["executions"].insert(
            {
                "id": new_id(),
                "generation_id": current_answer(db, problem, "c-left"),
                "problem_id": problem,
                "verdict": "error",
                "passed": 0,
                "total": 1,
                "seconds": 0.1,
                "created_at": utc_now(),
            }
        )
    db.conn.close()
    row_by_row = copy_of(a, "row_by_row.db")

    merge_files(a, [b])  # in bulk

    conn = sqlite3.connect(row_by_row)  # the same rows through the triggers, one by one
    conn.execute("ATTACH ? AS b", (str(b),))
    with conn:
        for table in (
            "problems",
            "contenders",
            "generations",
            "executions",
            "grade_events",
            "votes",
        ):
            conn.execute(
                f"INSERT OR IGNORE INTO main.{table} SELECT * FROM b.{table} ORDER BY rowid"
            )
    conn.close()
    for derived in ("grade_current", "execution_latest", "vote_current"):
        assert table_of(a, derived) == table_of(row_by_row, derived), derived
    conn = sqlite3.connect(a)
    # rank 1: the full-text index is checked against the grade events themselves
    conn.execute(
        "INSERT INTO grade_events_fts (grade_events_fts, rank) VALUES ('integrity-check', 1)"
    )
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    conn.close()
    assert {"grade_events_ai", "grade_events_keep_current", "executions_keep_latest"} <= triggers
    assert "votes_keep_current" in triggers


def table_of(path: Path, table: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
    finally:
        conn.close()
