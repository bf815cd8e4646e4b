"""One answer's test run as a value (``Execution``: verdict, passed/total, first failure,
suggested score, what the sandbox saw) and as a stored ``executions`` row.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gradebench.engine.evaluation.compare import Opaque

STATUS_LETTERS = {"pass": "p", "fail": "f", "error": "e", "memory": "m", "timeout": "t"}
"""A test's outcome as stored in ``executions.test_statuses``."""
LETTER_VERDICTS = {letter: verdict for verdict, letter in STATUS_LETTERS.items()}

VERDICTS = ("pass", "fail", "error", "timeout", "memory", "syntax", "no_code", "inconclusive")


REPR_CHARS = 300


@dataclass(frozen=True)
class Execution:
    """The outcome of running one answer against one problem's tests."""

    verdict: str
    passed: int
    total: int
    base_verdict: str | None = None
    base_passed: int | None = None
    base_total: int | None = None
    first_failure: dict | None = None
    """``{"test", "input", "expected", "actual", "message"}`` with short reprs."""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    suggested_score: float = 0.0
    sandbox: dict = field(default_factory=dict)
    test_statuses: str = ""
    """Every test's outcome, one letter per test in index order (``STATUS_LETTERS``)."""
    internal_error: str = ""
    """Set (with the verdict ``error``) when gradebench itself failed on this answer:
    one line naming the log file that holds the traceback (``gradebench.engine.errors``)."""


def suggested_score(verdict: str, passed: int, total: int) -> float:
    if verdict == "pass":
        return 1.0
    if 0 < passed < total:
        return 0.5
    return 0.0


def short_repr(value: Any, limit: int = REPR_CHARS) -> str:
    """A repr of decoded (plain) data, truncated; never raises."""
    if isinstance(value, Opaque):
        return f"<{value.type_name} object{': ' + value.text if value.text else ''}>"
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # e.g. ints past the str conversion limit
        if isinstance(value, int):
            digits = int(value.bit_length() * 0.30103) + 1
            text = f"<int of about {digits:,} digits>"
        else:
            text = f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def save_execution(
    db: Any, execution: Execution, *, problem_id: str, generation_id: str | None = None
) -> str:
    """Insert an ``executions`` row; returns its id."""
    from gradebench.engine.store.database import new_id, to_json, utc_now
    from gradebench.engine.store.executions import insert_execution

    row_id = new_id()
    row = asdict(execution)
    insert_execution(
        db,
        {
            "id": row_id,
            "generation_id": generation_id,
            "problem_id": problem_id,
            "verdict": row["verdict"],
            "passed": row["passed"],
            "total": row["total"],
            "base_verdict": row["base_verdict"],
            "base_passed": row["base_passed"],
            "base_total": row["base_total"],
            "first_failure": to_json(row["first_failure"])
            if row["first_failure"] is not None
            else None,
            "stdout": row["stdout"],
            "stderr": row["stderr"],
            "seconds": row["seconds"],
            "suggested_score": row["suggested_score"],
            "sandbox": to_json(row["sandbox"]),
            "test_statuses": row["test_statuses"] or None,
            "created_at": utc_now(),
        },
    )
    return row_id
