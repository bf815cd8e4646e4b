"""The error log: tracebacks of failed background jobs, in a text file beside the database.

An interface shows a failed job as one line that names this file; the traceback goes
here (appended, with the time and what was being done), so nothing is lost and the
screen stays readable. ``grades.db`` logs to ``grades.log`` in the same folder.
"""

from __future__ import annotations

import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path

_LOCK = threading.Lock()


def log_path_for(db_path: str | Path) -> Path:
    """Where the errors of sessions on ``db_path`` are logged."""
    return Path(db_path).with_suffix(".log")


def log_exception(path: str | Path, what: str, error: BaseException) -> Path:
    """Append ``error``'s traceback under a heading saying ``what`` failed; returns ``path``."""
    path = Path(path)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {stamp} {what}\n{trace}\n")
    return path


def shown_path(path: Path) -> str:
    """``path`` as a one-line message shows it: relative when under the working directory."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
