"""What is remembered for a reviewer between sessions (``settings`` table): the last
reviewer's name and where each reviewer stopped in each suite.
"""

from __future__ import annotations

from gradebench.engine.store.settings import get_setting, set_setting
from gradebench.engine.store.sqlite import Database


def last_reviewer(db: Database) -> str | None:
    return get_setting(db, "last_reviewer")


def remember_reviewer(db: Database, reviewer: str) -> None:
    set_setting(db, "last_reviewer", reviewer)


def save_position(db: Database, reviewer: str, suite: str, problem_id: str) -> None:
    set_setting(db, f"position:{reviewer}:{suite}", problem_id)


def saved_position(db: Database, reviewer: str, suite: str) -> str | None:
    return get_setting(db, f"position:{reviewer}:{suite}")
