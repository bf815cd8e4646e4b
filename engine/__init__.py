"""gradebench's engine: everything that is not the terminal UI (never imports textual)."""

import sys as _sys


def _import_sqlite_utils_without_pandas() -> None:
    """Import sqlite-utils with pandas hidden from it.

    sqlite-utils imports pandas whenever it is installed (EvalPlus brings it into the
    development environment), only to map ``pandas.Timestamp`` values to a column type;
    gradebench never inserts pandas values, and the import cost 0.4 s at the start of
    every command and of the app. pandas stays importable afterwards for anyone else.
    """
    if "sqlite_utils" in _sys.modules or "pandas" in _sys.modules:
        return
    _sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` fail
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del _sys.modules["pandas"]


_import_sqlite_utils_without_pandas()
