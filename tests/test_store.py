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
