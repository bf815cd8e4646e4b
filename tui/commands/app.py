"""Starting the grading app (``gradebench`` with no subcommand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.cli import Context


def start_app(context: Context) -> int:
    """Until the grading screen lands: list the suites that load, then exit."""
    from engine.suites import available_suites

    db = context.open_db()
    print(f"database: {context.db_path} ({len(db.table_names())} tables)")
    for name in available_suites(context.config.problem_roots()):
        print(f"suite: {name}")
    return 0
