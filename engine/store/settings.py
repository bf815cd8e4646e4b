"""The ``settings`` table: small JSON values under a text key (the last reviewer, where each
reviewer stopped in each suite)."""

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
