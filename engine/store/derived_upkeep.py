"""Adding many rows at once to a table whose insert triggers keep derived data.

``grade_events``, ``executions`` and ``votes`` have insert triggers that keep
``grade_current``, ``execution_latest``, ``vote_current`` and the notes' full-text index.
Row by row they cost most of a large merge; ``insert_in_bulk`` drops them inside the
caller's transaction, runs the insert, applies the same upkeep to all new rows with one
statement each (in insertion order, so the result equals the triggers'), and re-creates
the triggers from their stored SQL. A rollback restores everything.
"""

from __future__ import annotations

from collections.abc import Callable

from gradebench.engine.store.sqlite import Database

# Insert triggers that keep derived data, and the statements that do the same for all the
# rows a merge adds at once (rowid > :after, applied in insertion order, so the result
# equals the triggers'). During a merge the triggers are dropped and re-created inside the
# transaction: 300,000 grade events go in ~1.7 s faster than row by row.
BULK_UPKEEP: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "grade_events": (
        ("grade_events_ai", "grade_events_keep_current"),
        (
            "INSERT INTO main.grade_events_fts (rowid, note)"
            " SELECT rowid, note FROM main.grade_events WHERE rowid > :after",
            "INSERT INTO main.grade_current"
            " (generation_id, reviewer, event_id, created_at, score, format_ok)"
            " SELECT generation_id, reviewer, id, created_at, score, format_ok"
            " FROM main.grade_events WHERE rowid > :after ORDER BY rowid"
            " ON CONFLICT (generation_id, reviewer) DO UPDATE SET"
            " event_id = excluded.event_id, created_at = excluded.created_at,"
            " score = excluded.score, format_ok = excluded.format_ok"
            " WHERE excluded.created_at >= grade_current.created_at",
        ),
    ),
    "executions": (
        ("executions_keep_latest",),
        (
            "INSERT INTO main.execution_latest"
            " (generation_id, execution_id, created_at, verdict, base_verdict)"
            " SELECT generation_id, id, created_at, verdict, base_verdict FROM main.executions"
            " WHERE rowid > :after AND generation_id IS NOT NULL ORDER BY rowid"
            " ON CONFLICT (generation_id) DO UPDATE SET"
            " execution_id = excluded.execution_id, created_at = excluded.created_at,"
            " verdict = excluded.verdict, base_verdict = excluded.base_verdict"
            " WHERE excluded.created_at >= execution_latest.created_at",
        ),
    ),
    "votes": (
        ("votes_keep_current",),
        (
            "INSERT INTO main.vote_current"
            " (problem_id, reviewer, generation_low, generation_high, vote_id, created_at,"
            " generation_a, generation_b, outcome)"
            " SELECT problem_id, reviewer, min(generation_a, generation_b),"
            " max(generation_a, generation_b), id, created_at, generation_a, generation_b,"
            " outcome FROM main.votes WHERE rowid > :after ORDER BY rowid"
            " ON CONFLICT (problem_id, reviewer, generation_low, generation_high) DO UPDATE SET"
            " vote_id = excluded.vote_id, created_at = excluded.created_at,"
            " generation_a = excluded.generation_a, generation_b = excluded.generation_b,"
            " outcome = excluded.outcome"
            " WHERE excluded.created_at >= vote_current.created_at",
        ),
    ),
}


def _insert_triggers(db: Database, table: str) -> dict[str, str]:
    return dict(
        db.execute(
            "SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
            " AND sql LIKE '%AFTER INSERT%'",
            (table,),
        ).fetchall()
    )


def insert_in_bulk(db: Database, table: str, insert: Callable[[], int]) -> int:
    """Run ``insert`` with the table's upkeep triggers replaced by ``BULK_UPKEEP``'s
    statements (when the triggers are exactly the known ones; else row by row)."""
    names, statements = BULK_UPKEEP.get(table, ((), ()))
    triggers = _insert_triggers(db, table)
    if not names or set(triggers) != set(names):
        return insert()
    after = db.execute(f"SELECT coalesce(max(rowid), 0) FROM main.{table}").fetchone()[0]
    for name in names:
        db.execute(f'DROP TRIGGER main."{name}"')
    added = insert()
    if added:
        for statement in statements:
            db.execute(statement, {"after": after})
    for name in names:
        db.execute(triggers[name])
    return added
