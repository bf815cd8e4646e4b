"""One way to build problems and seed a database row by row for tests: ``make_problem`` (a
``Problem`` value), and rows: a problem, a contender (with its model), an answer (a
``generations`` row) with an optional test verdict, and a run; a file reopened as if it
came from before a migration; the demo problems with registered contenders.

Whole graded databases with hand-worked statistics come from ``tests/grades_fixture.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gradebench.engine.generation.contender_rows import register_contender
from gradebench.engine.generation.registry import Contender, GenerationParams, ModelSpec
from gradebench.engine.problems.model import Problem, TestCase
from gradebench.engine.problems.suites.files import load_directory
from gradebench.engine.store.database import new_id, open_db, utc_now
from gradebench.engine.workflows.batch import ensure_problem_rows


def make_problem(
    reference: str = "def f(x):\n    return x\n",
    tests: tuple[TestCase, ...] = (TestCase(args=(1,)),),
    **fields: Any,
) -> Problem:
    """A ``Problem`` with entry point ``f`` unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "id": "t/f",
        "suite": "t",
        "title": "t",
        "difficulty": "easy",
        "statement": "",
        "entry_point": "f",
        "signature": "def f(x):",
    }
    values.update(fields)
    return Problem(reference=reference, tests=tests, **values)


def add_problem(db, problem_id: str) -> None:
    db["problems"].insert(
        {
            "id": problem_id,
            "suite": "demo",
            "title": problem_id,
            "difficulty": "easy",
            "entry_point": "f",
            "statement": "s",
            "content_sha256": "x",
            "updated_at": utc_now(),
        },
        replace=True,
    )


def add_contender(db, contender_id: str) -> None:
    if not db["models"].exists() or not list(db["models"].rows_where("sha256 = 'm'")):
        db["models"].insert(
            {"sha256": "m", "name": "m", "path": "/m", "size_bytes": 1, "first_seen_at": utc_now()},
            replace=True,
        )
    db["contenders"].insert(
        {
            "id": contender_id,
            "name": contender_id,
            "model_sha256": "m",
            "prompt_style": "plain",
            "prompt_template": "{prompt}",
            "params": "{}",
            "created_at": utc_now(),
        },
        replace=True,
    )


def add_generation(
    db,
    problem_id: str,
    contender_id: str,
    verdict: str | None = None,
    *,
    status: str = "done",
    run_id: str | None = None,
    started_at: str | None = None,
) -> str:
    add_problem(db, problem_id)
    add_contender(db, contender_id)
    generation_id = new_id()
    db["generations"].insert(
        {
            "id": generation_id,
            "problem_id": problem_id,
            "contender_id": contender_id,
            "prompt_text": "p",
            "status": status,
            "run_id": run_id,
            "started_at": started_at or utc_now(),
        }
    )
    if verdict is not None:
        db["executions"].insert(
            {
                "id": new_id(),
                "generation_id": generation_id,
                "problem_id": problem_id,
                "verdict": verdict,
                "passed": 1 if verdict == "pass" else 0,
                "total": 1,
                "seconds": 0.1,
                "created_at": utc_now(),
            }
        )
    return generation_id


def add_run(
    db,
    *,
    host: dict[str, Any],
    started_at: str | None = None,
    finished_at: str | None = None,
    kind: str = "generate",
) -> str:
    """A ``runs`` row; ``host`` is what ``recording.host_info`` records (pid, hostname...)."""
    run_id = new_id()
    db["runs"].insert(
        {
            "id": run_id,
            "kind": kind,
            "settings": "{}",
            "host": json.dumps(host),
            "started_at": started_at or utc_now(),
            "finished_at": finished_at,
        }
    )
    return run_id


def reopened_from_before(db, db_path, migration: str, undo: str):
    """Undo ``migration`` (its ``undo`` script, and its record) as if the file came from
    before it, close, and open the file again: the migration runs on the old data."""
    with db.conn:
        db.conn.executescript(undo + f" DELETE FROM _sqlite_migrations WHERE name = '{migration}';")
    db.conn.close()
    return open_db(db_path)


def seed_demo_contenders(db_path: Path, demo_dir: Path, tmp_path: Path, styles=("plain", "cot")):
    """Problems and two registered contenders on a (fake) GGUF file."""
    gguf = tmp_path / "fake.gguf"
    gguf.write_bytes(b"GGUF fake weights")
    model = ModelSpec(name="fake", path=gguf, prompt_template="USER: %1\nASSISTANT: ")
    problems = list(load_directory(demo_dir).problems)
    db = open_db(db_path)
    ensure_problem_rows(db, problems)
    seats = [
        register_contender(
            db, Contender(f"fake-{s}", model, s, GenerationParams()), f"{s} {{statement}}"
        )
        for s in styles
    ]
    return db, problems, seats


def demo_message(problem, seat) -> str:
    """The user message a seeded batch sends: its style, then the statement."""
    return f"[{seat.contender.prompt_style}] {problem.statement}"
