"""The one place gradebench imports sqlite-utils, with pandas and numpy hidden from it.

sqlite-utils imports pandas and numpy whenever they are installed (EvalPlus brings pandas
into the development environment; numpy is a dependency of the statistics), only to map
their value types to column types when it creates a table from values. gradebench creates
its tables by migrations and never inserts pandas or numpy values; the imports cost 0.4 s
(pandas) and 0.1 s (numpy) at the start of every command and of the app. Both stay
importable afterwards for anyone else (numpy is imported where statistics are computed).

Every module of gradebench takes ``Database`` (and ``Migrations``) from here, so the lean
import is the first one whichever module is imported first.
"""

from __future__ import annotations

import sys
from types import ModuleType

HIDDEN_FROM_SQLITE_UTILS = ("pandas", "numpy")


def import_sqlite_utils_lean() -> ModuleType:
    """``sqlite_utils`` imported with pandas and numpy hidden (a no-op once imported)."""
    if "sqlite_utils" not in sys.modules:
        hidden = [name for name in HIDDEN_FROM_SQLITE_UTILS if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
        try:
            import sqlite_utils
            import sqlite_utils.migrations  # noqa: F401
        finally:
            for name in hidden:
                del sys.modules[name]
    return sys.modules["sqlite_utils"]


_sqlite_utils = import_sqlite_utils_lean()
Database = _sqlite_utils.Database
Migrations = sys.modules["sqlite_utils.migrations"].Migrations

__all__ = ["Database", "Migrations", "import_sqlite_utils_lean"]
