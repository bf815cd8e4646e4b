"""The database opens, migrates once, and upgrades old files."""

from __future__ import annotations

import sqlite3

import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.store.database import new_id, open_db
from gradebench.engine.store.migrations import SCHEMA_VERSION
from tests.seed import add_contender, add_problem, reopened_from_before

TABLES = {
    "problems",
    "expected_outputs",
    "models",
    "contenders",
    "runs",
    "generations",
    "executions",
    "grade_events",
    "votes",
    "presentations",
    "settings",
}


def test_open_creates_every_table_in_wal_mode(db, db_path):
    assert set(db.table_names()) >= TABLES
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_reopening_applies_no_migration_twice(db_path):
    open_db(db_path).conn.close()
    db = open_db(db_path)
    names = [r[0] for r in db.execute("SELECT name FROM _sqlite_migrations")]
    assert len(names) == len(set(names)) == SCHEMA_VERSION


def test_an_empty_file_from_before_is_upgraded(db_path):
    sqlite3.connect(db_path).close()
    db = open_db(db_path)
    assert set(db.table_names()) >= TABLES


def test_a_file_that_is_not_sqlite_is_a_one_line_error(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("this is not a database" * 100)
    with pytest.raises(UserError, match=r"notes\.txt"):
        open_db(bad)


def test_only_one_current_generation_per_problem_contender_sample(db):
    add_problem(db, "p")
    add_contender(db, "c")
    row = {
        "problem_id": "p",
        "contender_id": "c",
        "sample_index": 0,
        "prompt_text": "x",
        "status": "done",
        "started_at": "now",
    }
    db["generations"].insert({"id": new_id(), **row})
    with pytest.raises(sqlite3.IntegrityError):
        db["generations"].insert({"id": new_id(), **row})
    db.execute("UPDATE generations SET superseded_at = 'later'")
    db["generations"].insert({"id": new_id(), **row})
    assert db["generations"].count == 2


def _open_and_count_tables(path: str) -> int:
    db = open_db(path)
    count = len(db.table_names())
    db.conn.close()
    return count


def test_processes_opening_a_new_file_at_once_all_get_the_full_schema(tmp_path):
    import multiprocessing

    paths = [str(tmp_path / f"race{i}.db") for i in range(4) for _ in range(4)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        counts = pool.map(_open_and_count_tables, paths)
    assert len(set(counts)) == 1 and counts[0] >= len(TABLES)


def _grade_current_by_grouping(conn) -> set[tuple]:
    """Latest event per (generation, reviewer); equal times: the one inserted last."""
    return set(
        conn.execute(
            "SELECT generation_id, reviewer, id, created_at, score, format_ok FROM ("
            " SELECT *, ROW_NUMBER() OVER (PARTITION BY generation_id, reviewer"
            " ORDER BY created_at DESC, rowid DESC) AS rank FROM grade_events) WHERE rank = 1"
        )
    )


def _execution_latest_by_grouping(conn) -> set[tuple]:
    return set(
        conn.execute(
            "SELECT generation_id, id, created_at, verdict, base_verdict FROM ("
            " SELECT *, ROW_NUMBER() OVER (PARTITION BY generation_id"
            " ORDER BY created_at DESC, rowid DESC) AS rank FROM executions"
            " WHERE generation_id IS NOT NULL) WHERE rank = 1"
        )
    )


def _random_events(db, seed: int, count: int) -> None:
    """Grades and executions for six generations, times in random order (an edit may
    arrive with an older time than the grade it follows: it must not become current) and
    often equal to the latest time already in its group (a tie: the one inserted last is
    current)."""
    import random

    rng = random.Random(seed)
    generations = [f"g{i}" for i in range(6)]
    latest: dict[object, str] = {}

    def time_for(group: object, n: int) -> str:
        at = f"2026-01-01T00:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{n:06d}Z"
        if group in latest and rng.random() < 0.3:
            at = latest[group]
        latest[group] = max(at, latest.get(group, at))
        return at

    with db.conn:
        for n in range(count):
            generation, reviewer = rng.choice(generations), rng.choice("ab")
            db.conn.execute(
                "INSERT INTO grade_events (id, generation_id, reviewer, created_at, score,"
                " format_ok) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    new_id(),
                    generation,
                    reviewer,
                    time_for((generation, reviewer), n),
                    rng.choice((0, 0.5, 1)),
                    rng.choice((0, 1, None)),
                ),
            )
            executed = rng.choice([*generations, None])
            db.conn.execute(
                "INSERT INTO executions (id, generation_id, problem_id, verdict, passed, total,"
                " base_verdict, seconds, created_at) VALUES (?, ?, 'p', ?, 0, 1, ?, 0.1, ?)",
                (
                    new_id(),
                    executed,
                    rng.choice(("pass", "fail")),
                    rng.choice(("pass", None)),
                    time_for(executed, n),
                ),
            )


def test_current_grade_and_latest_execution_tables_follow_every_insert(db_path):
    """The trigger-kept tables equal grouping the events by their latest time."""
    db = open_db(db_path)
    db.conn.execute("PRAGMA foreign_keys = OFF")  # events only; no generations needed here
    _random_events(db, seed=7, count=400)
    assert set(db.conn.execute("SELECT * FROM grade_current")) == _grade_current_by_grouping(
        db.conn
    )
    assert set(db.conn.execute("SELECT * FROM execution_latest")) == _execution_latest_by_grouping(
        db.conn
    )


def test_the_current_tables_are_filled_from_the_events_of_an_older_file(db_path):
    """A file from before migration m004: its events are grouped into the new tables."""
    db = open_db(db_path)
    db.conn.execute("PRAGMA foreign_keys = OFF")
    _random_events(db, seed=11, count=300)
    db = reopened_from_before(
        db,
        db_path,
        "m004_current_tables",
        "DROP TRIGGER grade_events_keep_current; DROP TRIGGER executions_keep_latest;"
        " DROP TABLE grade_current; DROP TABLE execution_latest;",
    )
    assert set(db.conn.execute("SELECT * FROM grade_current")) == _grade_current_by_grouping(
        db.conn
    )
    assert set(db.conn.execute("SELECT * FROM execution_latest")) == _execution_latest_by_grouping(
        db.conn
    )
    assert db.conn.execute("SELECT count(*) FROM grade_current").fetchone()[0] == 12


VOTE_COLUMNS = (
    "problem_id, reviewer, generation_low, generation_high, vote_id, created_at,"
    " generation_a, generation_b, outcome"
)


def _vote_current_by_window(conn) -> set[tuple]:
    """The current votes as the leaderboard ranked them before m005: latest
    ``created_at`` per (problem, reviewer, unordered pair), ties to the later rowid."""
    return set(
        conn.execute(
            f"SELECT {VOTE_COLUMNS} FROM ("
            " SELECT problem_id, reviewer, id AS vote_id, created_at, generation_a,"
            " generation_b, outcome,"
            " min(generation_a, generation_b) AS generation_low,"
            " max(generation_a, generation_b) AS generation_high,"
            " ROW_NUMBER() OVER (PARTITION BY problem_id, reviewer,"
            " min(generation_a, generation_b), max(generation_a, generation_b)"
            " ORDER BY created_at DESC, rowid DESC) AS rank FROM votes)"
            " WHERE rank = 1"
        )
    )


def _insert_vote(conn, problem: str, reviewer: str, at: str, a: str, b: str, outcome: str) -> str:
    vote_id = new_id()
    conn.execute(
        "INSERT INTO votes (id, problem_id, reviewer, created_at, generation_a, generation_b,"
        " outcome) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (vote_id, problem, reviewer, at, a, b, outcome),
    )
    return vote_id


def _random_votes(db, seed: int, count: int) -> list[tuple[str, str, str, str, str]]:
    """Votes on two problems with three answers each, by two reviewers, panes in either
    order, times drawn from a few minutes in random order (so a vote may arrive with an
    older time than the one it follows, or with the very same time). Returns what was
    inserted, in order: (problem, reviewer, time, generation_a, generation_b)."""
    import random

    rng = random.Random(seed)
    inserted = []
    with db.conn:
        for _ in range(count):
            problem = rng.choice(("p1", "p2"))
            a, b = rng.sample([f"{problem}-g{i}" for i in range(3)], 2)
            reviewer = rng.choice("xy")
            at = f"2026-01-01T00:{rng.randrange(8):02d}:00Z"
            outcome = rng.choice(("a", "b", "tie", "both_bad"))
            _insert_vote(db.conn, problem, reviewer, at, a, b, outcome)
            inserted.append((problem, reviewer, at, a, b))
    return inserted


def _orders_seen(inserted: list[tuple[str, str, str, str, str]]) -> tuple[int, int, int]:
    """How often a vote followed an earlier vote on its pair with an older time, the same
    time, and with the panes swapped: the cases the current table must get right."""
    latest: dict[tuple, tuple[str, str]] = {}
    older = same = swapped = 0
    for problem, reviewer, at, a, b in inserted:
        key = (problem, reviewer, min(a, b), max(a, b))
        if key in latest:
            before_at, before_a = latest[key]
            older += at < before_at
            same += at == before_at
            swapped += a != before_a
        latest[key] = (at, a)
    return older, same, swapped


def test_current_vote_table_follows_every_insert_like_the_window_function(db_path):
    """The trigger-kept ``vote_current`` equals ranking all votes by time and rowid,
    including late-arriving older votes, equal times, and pairs voted as a/b then b/a."""
    db = open_db(db_path)
    db.conn.execute("PRAGMA foreign_keys = OFF")  # votes only; no generations needed here
    inserted = _random_votes(db, seed=5, count=400)
    older, same, swapped = _orders_seen(inserted)
    assert older > 0 and same > 0 and swapped > 0
    current = set(db.conn.execute(f"SELECT {VOTE_COLUMNS} FROM vote_current"))
    assert current == _vote_current_by_window(db.conn)
    assert len(current) == 2 * 2 * 3  # problems x reviewers x pairs of three answers


def test_a_vote_replaces_the_current_one_unless_its_time_is_older(db):
    db.conn.execute("PRAGMA foreign_keys = OFF")

    def current() -> list[tuple]:
        return db.conn.execute(
            "SELECT vote_id, generation_a, generation_b, outcome FROM vote_current"
        ).fetchall()

    with db.conn:
        first = _insert_vote(db.conn, "p", "x", "2026-01-01T00:02:00Z", "g1", "g2", "a")
    assert current() == [(first, "g1", "g2", "a")]
    with db.conn:  # same pair, panes swapped, later: replaces, panes kept as voted
        swapped = _insert_vote(db.conn, "p", "x", "2026-01-01T00:03:00Z", "g2", "g1", "a")
    assert current() == [(swapped, "g2", "g1", "a")]
    with db.conn:  # arrives last but carries an older time: stays out
        _insert_vote(db.conn, "p", "x", "2026-01-01T00:01:00Z", "g1", "g2", "b")
    assert current() == [(swapped, "g2", "g1", "a")]
    with db.conn:  # the same time as the current one: the row inserted last wins
        same_time = _insert_vote(db.conn, "p", "x", "2026-01-01T00:03:00Z", "g1", "g2", "tie")
    assert current() == [(same_time, "g1", "g2", "tie")]
    with db.conn:  # another reviewer's vote on the pair is a row of its own
        _insert_vote(db.conn, "p", "y", "2026-01-01T00:00:00Z", "g1", "g2", "b")
    assert len(current()) == 2


def test_the_current_vote_table_is_filled_from_the_votes_of_an_older_file(db_path):
    """A file from before migration m005: its votes are ranked into ``vote_current``."""
    db = open_db(db_path)
    db.conn.execute("PRAGMA foreign_keys = OFF")
    _random_votes(db, seed=13, count=300)
    db = reopened_from_before(
        db,
        db_path,
        "m005_vote_current",
        "DROP TRIGGER votes_keep_current; DROP TABLE vote_current;",
    )
    current = set(db.conn.execute(f"SELECT {VOTE_COLUMNS} FROM vote_current"))
    assert current == _vote_current_by_window(db.conn)
    assert len(current) == 12
    db.conn.execute("PRAGMA foreign_keys = OFF")
    with db.conn:  # and the trigger keeps it from then on
        newest = _insert_vote(db.conn, "p1", "x", "2026-01-01T01:00:00Z", "p1-g2", "p1-g0", "b")
    assert db.conn.execute(
        "SELECT vote_id FROM vote_current"
        " WHERE problem_id = 'p1' AND reviewer = 'x'"
        " AND generation_low = 'p1-g0' AND generation_high = 'p1-g2'"
    ).fetchone() == (newest,)


def test_opening_a_database_does_not_load_pandas_or_numpy():
    """sqlite-utils would import pandas (0.4 s) and numpy (0.1 s) when installed;
    gradebench hides them, and both still import afterwards."""
    import subprocess
    import sys

    code = (
        "import sys; import gradebench.engine.store.database; print('pandas' in sys.modules, 'numpy' in sys.modules);"
        " import numpy, gradebench.engine.reporting.stats; print(numpy.__name__)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["False", "False", "numpy"]


def test_a_migration_that_fails_half_way_leaves_neither_its_tables_nor_its_record(tmp_path):
    """Each migration and its record are one transaction: a script whose second statement
    fails leaves no table from the first and the migration still pending."""
    from gradebench.engine.store.migrations import run_script
    from gradebench.engine.store.sqlite import Database, Migrations

    trial = Migrations("trial")

    @trial(name="t001_two_tables")
    def t001(db: Database) -> None:
        run_script(db, "CREATE TABLE first (x INTEGER);\nCREATE TABLE first (y INTEGER);\n")

    db = Database(sqlite3.connect(str(tmp_path / "trial.db")))
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        trial.apply(db)
    assert "first" not in db.table_names()
    assert [m.name for m in trial.pending(db)] == ["t001_two_tables"]


def test_schema_version_counts_every_registered_migration(db):
    from gradebench.engine.store.migrations import MIGRATION_NAMES, SCHEMA_VERSION

    applied = [row[0] for row in db.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == MIGRATION_NAMES
    assert SCHEMA_VERSION == len(applied) == db.execute("PRAGMA user_version").fetchone()[0]
