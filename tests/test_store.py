"""The database opens, migrates once, and upgrades old files."""

from __future__ import annotations

import sqlite3

import pytest

from engine.errors import UserError
from engine.schema import SCHEMA_VERSION
from engine.store import new_id, open_db

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
    db["problems"].insert(
        {
            "id": "p",
            "suite": "s",
            "title": "t",
            "difficulty": "easy",
            "entry_point": "f",
            "statement": "x",
            "content_sha256": "h",
            "updated_at": "now",
        }
    )
    db["models"].insert(
        {"sha256": "m", "name": "m", "path": "/m", "size_bytes": 1, "first_seen_at": "now"}
    )
    db["contenders"].insert(
        {
            "id": "c",
            "name": "c",
            "model_sha256": "m",
            "prompt_style": "plain",
            "prompt_template": "",
            "params": "{}",
            "created_at": "now",
        }
    )
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
    return set(
        conn.execute(
            "SELECT generation_id, reviewer, id, max(created_at), score, format_ok"
            " FROM grade_events GROUP BY generation_id, reviewer"
        )
    )


def _execution_latest_by_grouping(conn) -> set[tuple]:
    return set(
        conn.execute(
            "SELECT generation_id, id, max(created_at), verdict, base_verdict FROM executions"
            " WHERE generation_id IS NOT NULL GROUP BY generation_id"
        )
    )


def _random_events(db, seed: int, count: int) -> None:
    """Grades and executions for six generations, times in random order (an edit may
    arrive with an older time than the grade it follows: it must not become current)."""
    import random

    rng = random.Random(seed)
    generations = [f"g{i}" for i in range(6)]
    with db.conn:
        for n in range(count):
            at = f"2026-01-01T00:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{n:06d}Z"
            db.conn.execute(
                "INSERT INTO grade_events (id, generation_id, reviewer, created_at, score,"
                " format_ok) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    new_id(),
                    rng.choice(generations),
                    rng.choice("ab"),
                    at,
                    rng.choice((0, 0.5, 1)),
                    rng.choice((0, 1, None)),
                ),
            )
            db.conn.execute(
                "INSERT INTO executions (id, generation_id, problem_id, verdict, passed, total,"
                " base_verdict, seconds, created_at) VALUES (?, ?, 'p', ?, 0, 1, ?, 0.1, ?)",
                (
                    new_id(),
                    rng.choice([*generations, None]),
                    rng.choice(("pass", "fail")),
                    rng.choice(("pass", None)),
                    at,
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
    with db.conn:  # back to the schema before m004
        db.conn.executescript(
            "DROP TRIGGER grade_events_keep_current; DROP TRIGGER executions_keep_latest;"
            " DROP TABLE grade_current; DROP TABLE execution_latest;"
            " DELETE FROM _sqlite_migrations WHERE name = 'm004_current_tables';"
        )
    db.conn.close()
    db = open_db(db_path)
    assert set(db.conn.execute("SELECT * FROM grade_current")) == _grade_current_by_grouping(
        db.conn
    )
    assert set(db.conn.execute("SELECT * FROM execution_latest")) == _execution_latest_by_grouping(
        db.conn
    )
    assert db.conn.execute("SELECT count(*) FROM grade_current").fetchone()[0] == 12
