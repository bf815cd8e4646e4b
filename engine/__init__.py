"""gradebench's engine: everything that is not the terminal UI (never imports textual)."""

import sys as _sys

_HIDDEN_FROM_SQLITE_UTILS = ("pandas", "numpy")


def _import_sqlite_utils_lean() -> None:
    """Import sqlite-utils with pandas and numpy hidden from it.

    sqlite-utils imports pandas and numpy whenever they are installed (EvalPlus brings
    pandas into the development environment; numpy is a dependency of the statistics),
    only to map their value types to column types when it creates a table from values.
    gradebench creates its tables by migrations and never inserts pandas or numpy
    values; the imports cost 0.4 s (pandas) and 0.1 s (numpy) at the start of every
    command and of the app. Both stay importable afterwards for anyone else (numpy is
    imported where statistics are computed).
    """
    if "sqlite_utils" in _sys.modules:
        return
    hidden = [name for name in _HIDDEN_FROM_SQLITE_UTILS if name not in _sys.modules]
    for name in hidden:
        _sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            del _sys.modules[name]


_import_sqlite_utils_lean()
