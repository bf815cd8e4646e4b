"""docs/schema.md describes exactly the tables and columns the migrations create."""

from __future__ import annotations

import re

from gradebench.engine.store.database import open_db
from tests.conftest import REPO

FTS_SHADOW = re.compile(r"_fts_(config|data|docsize|idx)$")


def documented() -> dict[str, set[str]]:
    tables: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in (REPO / "docs" / "schema.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## `(\w+)`", line)
        if heading:
            current = tables.setdefault(heading.group(1), set())
            continue
        row = re.match(r"\| `(\w+)` \|", line)
        if row and current is not None:
            current.add(row.group(1))
    return tables


def test_every_table_and_column_of_a_new_database_is_documented_and_nothing_else(tmp_path):
    db = open_db(tmp_path / "grades.db")
    actual = {
        name: {row[1] for row in db.execute(f"PRAGMA table_info('{name}')")}
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not FTS_SHADOW.search(name)
    }
    assert documented() == actual
