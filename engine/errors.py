"""The one exception type that reaches the user as a single line, and the log file.

Anything the user can get wrong (a path, a config key, a suite name, a contender)
raises ``UserError`` with a message that names the file, key or argument. The CLI
prints it as one line and exits non-zero; nothing else is caught there, so real
bugs still show their traceback.

The one exception to that: a failure while evaluating one answer (in a batch or the
app) is that answer's verdict ``error``, not the end of the run. Its traceback goes
to the log file (``log_path``) and the user sees one line naming it
(``log_exception``).
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path


class UserError(Exception):
    """A problem with the user's input, shown as one line without a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SampleError(Exception):
    """One answer could not be evaluated because gradebench itself failed on it; the
    message is one line (naming the log file with the traceback, see ``log_exception``).
    That answer gets the verdict ``error``; the batch goes on."""


LOG_FILE_NAME = "gradebench.log"
_LOG_LOCK = threading.Lock()


def log_path() -> Path:
    """Where tracebacks of failures on one answer go: ``$GRADEBENCH_LOG``, else
    ``gradebench.log`` in the user's log dir (``~/.local/state/gradebench/log`` on Linux)."""
    explicit = os.environ.get("GRADEBENCH_LOG")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir("gradebench")) / LOG_FILE_NAME


def log_exception(what: str, exc: BaseException) -> str:
    """Append ``exc``'s traceback to the log file; return one line for the user: what
    failed, the exception, and where its traceback is. Never raises."""
    summary = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    summary = " ".join(summary.split())
    if len(summary) > 200:
        summary = summary[:197] + "..."
    path = log_path()
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        text = "".join(traceback.format_exception(exc))
        with _LOG_LOCK:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8", errors="replace") as handle:
                handle.write(f"{stamp} pid {os.getpid()}: internal error while {what}\n{text}\n")
        where = f"traceback in {path}"
    except Exception as log_error:  # a full disk must not turn into a second failure
        where = f"traceback not logged: {type(log_error).__name__}"
    return f"internal error while {what}: {summary} ({where})"
