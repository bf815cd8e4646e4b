"""The SQL of studies: the ``studies`` rows, the runs a study made, what a plan estimates
from (measured seconds per answer, bytes per answer, grading progress), and the facts a
report's reproducibility footer states (models, contenders, problem contents, sandbox
limits, the hosts the runs ran on).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from gradebench.engine.store.database import utc_now
from gradebench.engine.store.runs import WRITE_LOCK


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def record_study(conn: sqlite3.Connection, sha256: str, name: str, path: str, text: str) -> None:
    """Keep the study file's text under its hash (once)."""
    with WRITE_LOCK, conn:
        conn.execute(
            "INSERT OR IGNORE INTO studies (sha256, name, path, text, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (sha256, name, path, text, utc_now()),
        )


def study_run_rows(conn: sqlite3.Connection, sha256: str) -> list[sqlite3.Row]:
    """The runs a study file made: id, suite, settings, host, started_at, finished_at."""
    cursor = conn.execute(
        "SELECT id, suite, settings, host, started_at, finished_at FROM runs"
        " WHERE study_sha256 = ? ORDER BY started_at",
        (sha256,),
    )
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def measured_seconds(
    conn: sqlite3.Connection, contender_ids: Sequence[str]
) -> dict[str, tuple[int, float]]:
    """Contender id -> (finished answers, mean seconds per answer incl. its first test run)."""
    if not contender_ids:
        return {}
    rows = conn.execute(
        f"""
        SELECT g.contender_id, count(*), avg(g.total_seconds + coalesce(x.seconds, 0))
        FROM generations g
        LEFT JOIN execution_latest l ON l.generation_id = g.id
        LEFT JOIN executions x ON x.id = l.execution_id
        WHERE g.contender_id IN ({_marks(contender_ids)})
          AND g.status IN ('done', 'max_tokens') AND g.total_seconds IS NOT NULL
        GROUP BY g.contender_id
        """,
        list(contender_ids),
    ).fetchall()
    return {cid: (n, float(seconds)) for cid, n, seconds in rows}


def measured_model_seconds(conn: sqlite3.Connection, model_sha256: str) -> tuple[int, float] | None:
    """(finished answers, mean seconds per answer) of any contender of the model."""
    row = conn.execute(
        """
        SELECT count(*), avg(g.total_seconds) FROM generations g
        JOIN contenders c ON c.id = g.contender_id
        WHERE c.model_sha256 = ? AND g.status IN ('done', 'max_tokens')
          AND g.total_seconds IS NOT NULL
        """,
        (model_sha256,),
    ).fetchone()
    return None if not row or not row[0] else (int(row[0]), float(row[1]))


def bytes_per_answer(conn: sqlite3.Connection) -> float | None:
    """The database file's size over its answers (None before the first answer)."""
    answers = conn.execute("SELECT count(*) FROM generations").fetchone()[0]
    if not answers:
        return None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return pages * size / answers


def graded_counts(
    conn: sqlite3.Connection, problem_ids: Sequence[str], contender_ids: Sequence[str]
) -> list[tuple[str, str, int]]:
    """(problem, contender, reviewers with a current grade) of every current first-sample
    answer of these problems and contenders."""
    if not problem_ids or not contender_ids:
        return []
    return conn.execute(
        f"""
        SELECT g.problem_id, g.contender_id, count(gc.reviewer)
        FROM generations g LEFT JOIN grade_current gc ON gc.generation_id = g.id
        WHERE g.superseded_at IS NULL AND g.sample_index = 0
          AND g.problem_id IN ({_marks(problem_ids)})
          AND g.contender_id IN ({_marks(contender_ids)})
        GROUP BY g.id
        """,
        [*problem_ids, *contender_ids],
    ).fetchall()


def resource_rows(
    conn: sqlite3.Connection, contender_ids: Sequence[str]
) -> list[tuple[int, int, float | None, int | None]]:
    """(generation rowid, sample index, cpu seconds, peak resident bytes) of the
    contenders' current answers."""
    if not contender_ids:
        return []
    return conn.execute(
        f"""
        SELECT rowid, sample_index, cpu_seconds, peak_rss_bytes FROM generations
        WHERE superseded_at IS NULL AND contender_id IN ({_marks(contender_ids)})
        """,
        list(contender_ids),
    ).fetchall()


def contender_facts(conn: sqlite3.Connection, contender_ids: Sequence[str]) -> list[sqlite3.Row]:
    """id, name, prompt_style, prompt_template, params, model sha256, name, path and size."""
    if not contender_ids:
        return []
    cursor = conn.execute(
        f"""
        SELECT c.id, c.name, c.prompt_style, c.prompt_template, c.params,
               m.sha256 AS model_sha256, m.name AS model_name, m.path AS model_path,
               m.size_bytes AS model_size
        FROM contenders c JOIN models m ON m.sha256 = c.model_sha256
        WHERE c.id IN ({_marks(contender_ids)})
        ORDER BY c.name
        """,
        list(contender_ids),
    )
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


def suite_problem_ids(conn: sqlite3.Connection, suite: str) -> list[str]:
    """The ids of the suite's problems the database has seen, by id."""
    return [
        row[0]
        for row in conn.execute("SELECT id FROM problems WHERE suite = ? ORDER BY id", (suite,))
    ]


def problem_contents(conn: sqlite3.Connection, problem_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(problem id, content sha256), by id."""
    if not problem_ids:
        return []
    return conn.execute(
        f"SELECT id, content_sha256 FROM problems WHERE id IN ({_marks(problem_ids)}) ORDER BY id",
        list(problem_ids),
    ).fetchall()


SANDBOX_LIMIT_KEYS = (
    "RLIMIT_AS",
    "RLIMIT_NPROC",
    "RLIMIT_NOFILE",
    "RLIMIT_FSIZE",
    "network",
    "wall_seconds",
)
"""The keys of ``executions.sandbox`` a report states (not the per-run load figures)."""


def sandbox_settings(conn: sqlite3.Connection, problem_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The distinct limits (``SANDBOX_LIMIT_KEYS``) of the test runs of these problems
    (every run of them: limits that changed between runs show as two sets). Picked out in
    SQL, so a run's load figures do not make every row distinct; not joined to the answers,
    which would cost a lookup per answer."""
    if not problem_ids:
        return []
    paths = ", ".join(f"'$.{key}'" for key in SANDBOX_LIMIT_KEYS)
    rows = conn.execute(  # one json_extract with every path: each document parsed once
        f"""
        SELECT DISTINCT json_extract(sandbox, {paths}) FROM executions
        WHERE json_valid(sandbox) AND problem_id IN ({_marks(problem_ids)})
        """,
        list(problem_ids),
    ).fetchall()
    found = []
    for (text,) in rows:
        values = json.loads(text) if text else []
        found.append(
            {key: v for key, v in zip(SANDBOX_LIMIT_KEYS, values, strict=True) if v is not None}
        )
    return found


def answer_run_hosts(
    conn: sqlite3.Connection, contender_ids: Sequence[str], problem_ids: Sequence[str]
) -> list[tuple[str, str, str | None]]:
    """(run id, host JSON, settings JSON) of each run that made a current answer here."""
    if not contender_ids or not problem_ids:
        return []
    return conn.execute(
        f"""
        SELECT DISTINCT r.id, r.host, r.settings FROM generations g
        JOIN runs r ON r.id = g.run_id
        WHERE g.superseded_at IS NULL
          AND g.contender_id IN ({_marks(contender_ids)})
          AND g.problem_id IN ({_marks(problem_ids)})
        ORDER BY r.started_at
        """,
        [*contender_ids, *problem_ids],
    ).fetchall()
