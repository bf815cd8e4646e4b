"""The SQL of ``gradebench merge``: every row of other databases that the target lacks,
brought in within one transaction.

Rows are matched by their ids, which are content identities where a table has one (a
contender's id is the hash of its settings, a model's is its file's sha256, a problem
carries its content hash) and ULIDs elsewhere. Per table, ``TableRule`` says which
columns must agree when both files hold a row (``same``: otherwise the merge stops with
the table and id), which may differ and keep the target's value (labels, local paths,
caches), and which only move one way (``superseded_at``, ``finished_at``,
``revealed_at``, an answer still ``streaming`` in one copy and finished in the other).
Append-only tables (grade events, votes, executions) are only ever inserted into; the
derived tables (``grade_current``, ``execution_latest``, ``vote_current``, the notes'
full-text index) follow by their triggers.

Two current answers to the same (problem, contender, sample) made on different machines
both stay: the one graded by the most reviewers stays current, then a finished one over
an unfinished one, then the one started first (smallest id); the others are marked
superseded at the time of the merge. The rule reads only the merged rows, so merging A
into B and B into A choose the same answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.store.derived_upkeep import insert_in_bulk
from gradebench.engine.store.generations import FINISH_COLUMNS
from gradebench.engine.store.sqlite import Database


@dataclass(frozen=True)
class TableRule:
    """How one table merges: its key, the columns that must agree between the two files
    when both hold a row, and the columns that move one way (``earliest``/``latest``
    non-null value wins)."""

    table: str
    key: tuple[str, ...]
    same: tuple[str, ...] = ()
    earliest: tuple[str, ...] = ()
    latest: tuple[str, ...] = ()
    noun: str = ""


# In the order rows are inserted (what a row refers to comes first).
TABLE_RULES: tuple[TableRule, ...] = (
    TableRule("models", ("sha256",), same=("size_bytes",), noun="models"),
    TableRule(
        "contenders",
        ("id",),
        same=("model_sha256", "prompt_style", "prompt_template", "params"),
        noun="contenders",
    ),
    TableRule("problems", ("id",), same=("content_sha256",), noun="problems"),
    TableRule("expected_outputs", ("problem_id", "content_sha256"), noun="expected outputs"),
    TableRule(
        "runs",
        ("id",),
        same=("kind", "suite", "reviewer", "started_at"),
        latest=("finished_at", "heartbeat_at"),
    ),
    TableRule(
        "generations",
        ("id",),
        same=("problem_id", "contender_id", "sample_index", "prompt_text", "started_at"),
        earliest=("superseded_at",),
        noun="answers",
    ),
    TableRule(
        "executions",
        ("id",),
        same=("generation_id", "problem_id", "verdict", "passed", "total", "created_at"),
        noun="test runs",
    ),
    TableRule(
        "grade_events",
        ("id",),
        same=(
            "generation_id",
            "reviewer",
            "created_at",
            "score",
            "format_ok",
            "note",
            "replaces_id",
        ),
        noun="grade events",
    ),
    TableRule(
        "votes",
        ("id",),
        same=("problem_id", "reviewer", "created_at", "generation_a", "generation_b", "outcome"),
    ),
    TableRule(
        "presentations",
        ("id",),
        same=("problem_id", "reviewer", "blind", "contender_order", "created_at"),
        earliest=("revealed_at",),
    ),
    TableRule("settings", ("key",)),
    TableRule("studies", ("sha256",), same=("text",)),
    TableRule(
        "adjudications",
        ("id",),
        same=("generation_id", "adjudicator", "created_at", "score", "format_ok"),
    ),
    TableRule(
        "vote_adjudications",
        ("id",),
        same=(
            "problem_id",
            "generation_low",
            "generation_high",
            "adjudicator",
            "created_at",
            "side",
        ),
    ),
    TableRule(
        "extraction_choices",
        ("id",),
        same=("generation_id", "reviewer", "created_at", "label", "verdict"),
    ),
    TableRule(
        "test_disputes",
        ("id",),
        same=("problem_id", "content_sha256", "test_index", "reviewer", "created_at", "reason"),
    ),
    TableRule(
        "rechecks",
        ("id",),
        same=("generation_id", "reviewer", "created_at", "score", "format_ok", "first_event_id"),
    ),
    TableRule(
        "assignments",
        ("id",),
        same=("batch_id", "suite", "problem_id", "reviewer", "position"),
    ),
)

DERIVED_TABLES = frozenset(
    {
        "_sqlite_migrations",
        "grade_current",
        "execution_latest",
        "vote_current",
        "grade_events_fts",
        "grade_events_fts_config",
        "grade_events_fts_data",
        "grade_events_fts_docsize",
        "grade_events_fts_idx",
    }
)
"""Tables a merge does not copy: the migrations' record and what triggers keep."""

# An answer's own columns (those written when it finishes): taken from the other file when
# the target's copy is still ``streaming`` and the other's has ended (copied mid-answer).
ANSWER_COLUMNS = FINISH_COLUMNS


@dataclass
class MergeCounts:
    """What one merge added, per table, and the pairs that got two current answers."""

    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    doubled_pairs: int = 0


def _columns(db: Database, schema: str, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA {schema}.table_info({table})").fetchall()]


def _key_match(rule: TableRule, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in rule.key)


def _key_text(rule: TableRule, alias: str) -> str:
    return " || '/' || ".join(f"{alias}.{k}" for k in rule.key)


def _check_agreement(db: Database, schema: str, rule: TableRule, source: Path) -> None:
    """Stop at the first row both files hold whose ``same`` columns differ."""
    if rule.same:
        differs = " OR ".join(f"m.{c} IS NOT s.{c}" for c in rule.same)
        row = db.execute(
            f"SELECT {_key_text(rule, 's')}, {', '.join('m.' + c for c in rule.same)},"
            f" {', '.join('s.' + c for c in rule.same)} FROM {schema}.{rule.table} AS s"
            f" JOIN main.{rule.table} AS m ON {_key_match(rule, 'm', 's')}"
            f" WHERE {differs} LIMIT 1"
        ).fetchone()
        if row is not None:
            count = len(rule.same)
            column = next(c for i, c in enumerate(rule.same) if row[1 + i] != row[1 + count + i])
            raise UserError(
                f"merge: {source}: table {rule.table}, id {row[0]}: {column} differs from"
                " the target's row with the same id; nothing was merged"
            )
    if rule.table == "generations":
        row = db.execute(
            f"SELECT s.id FROM {schema}.generations AS s JOIN main.generations AS m"
            " ON m.id = s.id WHERE m.status != 'streaming' AND s.status != 'streaming'"
            " AND m.raw_answer IS NOT s.raw_answer LIMIT 1"
        ).fetchone()
        if row is not None:
            raise UserError(
                f"merge: {source}: table generations, id {row[0]}: the answer's text differs"
                " from the target's finished answer with the same id; nothing was merged"
            )


def _advance_one_way_columns(db: Database, schema: str, rule: TableRule) -> int:
    """Columns that only move one way take the other file's value where it is further."""
    changed = 0
    for columns, better in ((rule.earliest, "<"), (rule.latest, ">")):
        for column in columns:
            cursor = db.execute(
                f"UPDATE main.{rule.table} AS m SET {column} = s.{column}"
                f" FROM {schema}.{rule.table} AS s WHERE {_key_match(rule, 'm', 's')}"
                f" AND s.{column} IS NOT NULL"
                f" AND (m.{column} IS NULL OR s.{column} {better} m.{column})"
            )
            changed += cursor.rowcount
    if rule.table == "generations":
        assignments = ", ".join(f"{c} = s.{c}" for c in ANSWER_COLUMNS)
        cursor = db.execute(
            f"UPDATE main.generations AS m SET {assignments} FROM {schema}.generations AS s"
            " WHERE m.id = s.id AND m.status = 'streaming' AND s.status != 'streaming'"
        )
        changed += cursor.rowcount
    return changed


def _insert_missing(db: Database, schema: str, rule: TableRule, stamp: str) -> int:
    columns = _columns(db, "main", rule.table)
    missing = _columns(db, schema, rule.table)
    absent = [c for c in columns if c not in missing]
    if absent:
        raise UserError(
            f"merge: table {rule.table} of the other file has no column {absent[0]}"
            " (a schema this gradebench does not know)"
        )
    names = ", ".join(columns)
    not_here = (
        f"NOT EXISTS (SELECT 1 FROM main.{rule.table} AS m WHERE {_key_match(rule, 'm', 's')})"
    )
    if rule.table != "generations":
        sql = (
            f"INSERT INTO main.{rule.table} ({names})"
            f" SELECT {', '.join('s.' + c for c in columns)} FROM {schema}.{rule.table} AS s"
            f" WHERE {not_here} ORDER BY s.rowid"
        )
        return insert_in_bulk(db, rule.table, lambda: db.execute(sql).rowcount)
    # A current answer whose pair already has a current answer here comes in superseded
    # at ``stamp`` and is remembered; ``settle_doubled_pairs`` picks the current one.
    clash = (
        "s.superseded_at IS NULL AND EXISTS (SELECT 1 FROM main.generations AS c"
        " WHERE c.problem_id = s.problem_id AND c.contender_id = s.contender_id"
        " AND c.sample_index = s.sample_index AND c.superseded_at IS NULL)"
    )
    db.execute(
        f"INSERT INTO temp.merge_doubled (id) SELECT s.id FROM {schema}.generations AS s"
        f" WHERE {not_here} AND {clash}"
    )
    selected = ", ".join(
        ("CASE WHEN s.id IN (SELECT id FROM temp.merge_doubled) THEN ? ELSE s.superseded_at END")
        if c == "superseded_at"
        else f"s.{c}"
        for c in columns
    )
    cursor = db.execute(
        f"INSERT INTO main.generations ({names}) SELECT {selected}"
        f" FROM {schema}.generations AS s WHERE {not_here} ORDER BY s.rowid",
        (stamp,),
    )
    return cursor.rowcount


def _settle_doubled_pairs(db: Database, stamp: str) -> int:
    """For every pair that got a second current answer: the rule of the module docstring
    picks the current one among the pair's current answers and those this merge
    brought in superseded."""
    db.execute("DROP TABLE IF EXISTS temp.merge_candidates")
    db.execute(
        "CREATE TEMP TABLE merge_candidates AS"
        " SELECT g.id, g.problem_id, g.contender_id, g.sample_index FROM main.generations AS g"
        " JOIN (SELECT DISTINCT d.problem_id, d.contender_id, d.sample_index"
        "       FROM main.generations AS d WHERE d.id IN (SELECT id FROM temp.merge_doubled))"
        "   AS p USING (problem_id, contender_id, sample_index)"
        " WHERE g.superseded_at IS NULL OR g.id IN (SELECT id FROM temp.merge_doubled)"
    )
    pairs = db.execute(
        "SELECT count(*) FROM (SELECT DISTINCT problem_id, contender_id, sample_index"
        " FROM temp.merge_candidates)"
    ).fetchone()[0]
    if not pairs:
        return 0
    db.execute(
        "UPDATE main.generations SET superseded_at = ?"
        " WHERE id IN (SELECT id FROM temp.merge_candidates)",
        (stamp,),
    )
    db.execute(
        """
        UPDATE main.generations SET superseded_at = NULL WHERE id IN (
            SELECT id FROM (
                SELECT c.id, ROW_NUMBER() OVER (
                    PARTITION BY c.problem_id, c.contender_id, c.sample_index
                    ORDER BY (SELECT count(DISTINCT e.reviewer) FROM main.grade_events AS e
                              WHERE e.generation_id = c.id) DESC,
                             g.status IN ('done', 'max_tokens') DESC,
                             c.id ASC
                ) AS rank
                FROM temp.merge_candidates AS c JOIN main.generations AS g ON g.id = c.id
            ) WHERE rank = 1
        )
        """
    )
    return pairs


def _check_references(db: Database) -> None:
    for rule in TABLE_RULES:
        problem = db.execute(f"PRAGMA main.foreign_key_check({rule.table})").fetchone()
        if problem is not None:
            table, rowid, parent, _ = problem
            row = db.execute(
                f"SELECT {_key_text(rule, 't')} FROM main.{table} AS t WHERE t.rowid = ?",
                (rowid,),
            ).fetchone()
            raise UserError(
                f"merge: table {table}, id {row[0] if row else rowid}: refers to a row of"
                f" {parent} that no file holds; nothing was merged"
            )


def merge_attached(
    db: Database, sources: Sequence[Path], stamp: str, labels: Sequence[Path] | None = None
) -> MergeCounts:
    """Merge the files into ``db``'s main database, all or nothing. Each file must have
    this gradebench's schema (``workflows.merge_files`` migrates older ones in a copy);
    ``labels`` are the names the errors give the files (default: their paths)."""
    if len(sources) > 9:
        raise UserError(f"merge: at most 9 files at once, got {len(sources)}")
    conn = db.conn
    if conn.in_transaction:
        conn.commit()
    schemas = [f"merge_source_{i}" for i in range(len(sources))]
    attached: list[str] = []
    counts = MergeCounts()
    try:
        for schema, path in zip(schemas, sources, strict=True):
            conn.execute("ATTACH DATABASE ? AS " + schema, (str(path),))
            attached.append(schema)
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the indexes of 300,000 rows
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS merge_doubled (id TEXT PRIMARY KEY)")
        conn.execute("DELETE FROM temp.merge_doubled")
        for schema, label in zip(schemas, labels or sources, strict=True):
            for rule in TABLE_RULES:
                _check_agreement(db, schema, rule, label)
            for rule in TABLE_RULES:
                moved = _advance_one_way_columns(db, schema, rule)
                counts.updated[rule.table] = counts.updated.get(rule.table, 0) + moved
                added = _insert_missing(db, schema, rule, stamp)
                counts.added[rule.table] = counts.added.get(rule.table, 0) + added
        counts.doubled_pairs = _settle_doubled_pairs(db, stamp)
        conn.execute("DROP TABLE IF EXISTS temp.merge_candidates")
        conn.execute("DROP TABLE IF EXISTS temp.merge_doubled")
        try:
            conn.commit()  # the deferred foreign keys are counted here
        except sqlite3.IntegrityError:
            _check_references(db)  # names the row (the transaction is still open)
            raise UserError(
                "merge: a row refers to a row that no file holds; nothing was merged"
            ) from None
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        for schema in attached:
            try:
                conn.execute("DETACH DATABASE " + schema)
            except sqlite3.OperationalError:
                pass
    return counts
