"""What is remembered for a reviewer between sessions (``settings`` table): the last
reviewer's name and where each reviewer stopped in each suite.
"""

from __future__ import annotations

import json
from typing import Any

from gradebench.engine.store.database import to_json
from gradebench.engine.store.sqlite import Database


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def set_setting(db: Database, key: str, value: Any) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, to_json(value)),
        )


def last_reviewer(db: Database) -> str | None:
    return get_setting(db, "last_reviewer")


def remember_reviewer(db: Database, reviewer: str) -> None:
    set_setting(db, "last_reviewer", reviewer)


def save_position(db: Database, reviewer: str, suite: str, problem_id: str) -> None:
    set_setting(db, f"position:{reviewer}:{suite}", problem_id)


def saved_position(db: Database, reviewer: str, suite: str) -> str | None:
    return get_setting(db, f"position:{reviewer}:{suite}")
