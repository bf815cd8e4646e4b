"""The one exception type that reaches the user as a single line.

Anything the user can get wrong (a path, a config key, a suite name, a contender)
raises ``UserError`` with a message that names the file, key or argument. The CLI
prints it as one line and exits non-zero; nothing else is caught there, so real
bugs still show their traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, shown as one line without a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
