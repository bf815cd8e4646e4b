"""The SQL of a reviewer's handout: a small database holding just what one reviewer needs
to grade their assigned problems on another machine.

Copied: the reviewer's assignment rows, those problems and their expected outputs, their
current answers with the test runs, contenders, models and runs these refer to, and the
reviewer's own grades, votes and presentations of those answers (so work already done
shows). Not copied: other reviewers' grades and votes (each reviewer grades
independently), other problems, settings. The handout merges back with ``merge``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.store.database import to_json
from gradebench.engine.store.sqlite import Database

# (table, the rows of the source to copy), in the order rows refer to each other.
# :queue is the JSON list of problem ids, :reviewer the reviewer.
_HANDOUT_ROWS: tuple[tuple[str, str], ...] = (
    ("problems", "id IN (SELECT value FROM json_each(:queue))"),
    ("expected_outputs", "problem_id IN (SELECT value FROM json_each(:queue))"),
    (
        "generations",
        "superseded_at IS NULL AND problem_id IN (SELECT value FROM json_each(:queue))",
    ),
    ("contenders", "id IN (SELECT contender_id FROM main.generations)"),
    ("models", "sha256 IN (SELECT model_sha256 FROM main.contenders)"),
    ("executions", "generation_id IN (SELECT id FROM main.generations)"),
    (
        "grade_events",
        "reviewer = :reviewer AND generation_id IN (SELECT id FROM main.generations)",
    ),
    (
        "votes",
        "reviewer = :reviewer AND generation_a IN (SELECT id FROM main.generations)"
        " AND generation_b IN (SELECT id FROM main.generations)",
    ),
    (
        "presentations",
        "reviewer = :reviewer AND problem_id IN (SELECT value FROM json_each(:queue))",
    ),
    (
        "runs",
        "id IN (SELECT run_id FROM main.generations UNION SELECT run_id FROM main.grade_events"
        " UNION SELECT run_id FROM main.votes UNION SELECT run_id FROM main.presentations)",
    ),
)


def write_handout(
    handout: Database,
    source: Path,
    reviewer: str,
    queue: Sequence[str],
    assignment_ids: Sequence[str],
) -> dict[str, int]:
    """Fill the new, empty ``handout`` from the database at ``source``; rows per table."""
    conn = handout.conn
    if conn.in_transaction:
        conn.commit()
    conn.execute("ATTACH DATABASE ? AS handout_source", (str(source),))
    counts: dict[str, int] = {}
    params = {"queue": to_json(list(queue)), "reviewer": reviewer}
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("PRAGMA defer_foreign_keys = ON")
        for table, where in _HANDOUT_ROWS:
            columns = ", ".join(
                row[1] for row in conn.execute(f"PRAGMA main.table_info({table})").fetchall()
            )
            counts[table] = conn.execute(
                f"INSERT INTO main.{table} ({columns}) SELECT {columns}"
                f" FROM handout_source.{table} WHERE {where} ORDER BY rowid",
                params,
            ).rowcount
        columns = ", ".join(
            row[1] for row in conn.execute("PRAGMA main.table_info(assignments)").fetchall()
        )
        counts["assignments"] = conn.execute(
            f"INSERT INTO main.assignments ({columns}) SELECT {columns}"
            " FROM handout_source.assignments WHERE id IN (SELECT value FROM json_each(?))",
            (to_json(list(assignment_ids)),),
        ).rowcount
        conn.commit()
    except sqlite3.IntegrityError as exc:
        conn.rollback()
        raise UserError(f"handout: the source database is inconsistent ({exc})") from None
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.execute("DETACH DATABASE handout_source")
    return counts


def answered_problems(db: Database) -> set[str]:
    """The problems that have at least one answer in ``db``."""
    return {row[0] for row in db.execute("SELECT DISTINCT problem_id FROM generations")}
