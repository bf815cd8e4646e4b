"""Suite ``humaneval+``: HumanEval+ (EvalPlus's data, e.g. ``HumanEvalPlus-v0.1.10.jsonl.gz``) from a local file.

Every row gives a task's prompt, canonical solution, ``base_input`` (HumanEval's
own test inputs) and ``plus_input`` (EvalPlus's extra ones) and an ``atol``. The
expected outputs are the canonical solution's, computed by the evaluator and
compared in the parent by EvalPlus 0.3.1's rule (``gradebench.engine.evaluation.compare``):
``compare = "evalplus"`` with the row's ``atol``, and for HumanEval/32
(``find_zero``) ``compare = "poly_root"``: any ``x`` with ``|poly(x)| <= atol``.

Ids: the rows' ``task_id`` is ``HumanEval/N`` as in HumanEval; the problem id here is
``HumanEval+/N`` so that a database holding both suites keeps their problems,
expected outputs and generations apart. ``extra["task_id"]`` keeps the original
id, which is what samples files name.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import Problem, ProblemError, SuiteLoad, TestCase
from gradebench.engine.problems.suites.humaneval import signature_of
from gradebench.engine.problems.suites.jsonl import read_jsonl

SUITE = "humaneval+"
POLY_ROOT_ENTRY_POINTS = ("find_zero",)
REQUIRED_FIELDS = (
    "task_id",
    "prompt",
    "canonical_solution",
    "entry_point",
    "base_input",
    "plus_input",
)


def problem_id(task_id: str) -> str:
    """``HumanEval/7`` -> ``HumanEval+/7``."""
    prefix, _, number = task_id.rpartition("/")
    return f"{prefix}+/{number}" if prefix else f"{task_id}+"


def _test_cases(row: dict[str, Any], key: str, *, plus: bool) -> list[TestCase]:
    value = row[key]
    if not isinstance(value, list) or not all(map(isinstance, value, repeat(list))):
        raise ValueError(f"{key} must be a list of argument lists")
    return TestCase.from_inputs(value, plus=plus)


def problem_from_row(row: dict[str, Any], source: str, suite: str = SUITE) -> Problem:
    missing = [key for key in REQUIRED_FIELDS if key not in row]
    if missing:
        raise KeyError(missing[0])
    task_id = row["task_id"]
    prompt = row["prompt"]
    entry_point = row["entry_point"]
    atol = float(row.get("atol") or 0.0)
    compare = "poly_root" if entry_point in POLY_ROOT_ENTRY_POINTS else "evalplus"
    base = _test_cases(row, "base_input", plus=False)
    plus = _test_cases(row, "plus_input", plus=True)
    number = task_id.rpartition("/")[2]
    return Problem(
        id=problem_id(task_id),
        suite=suite,
        title=f"{entry_point} (HumanEval+ {number})",
        difficulty="unrated",
        statement=prompt,
        entry_point=entry_point,
        signature=signature_of(prompt, entry_point),
        reference=prompt + row["canonical_solution"],
        tests=(*base, *plus),
        tags=("humaneval+",),
        compare=compare,
        atol=atol,
        code_prompt=prompt,
        source=source,
        extra={"task_id": task_id},
    )


def load_humanevalplus(path: Path, suite: str = SUITE) -> SuiteLoad:
    """Load the file (plain or gzipped JSONL); ``UserError`` naming it when it is
    missing, unreadable, or holds no valid task."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: HumanEval+ data file not found")
    with collector_paused():
        return load_rows(path, read_jsonl(path), problem_from_row, "HumanEval+", suite)


def load_rows(
    path: Path,
    rows: list[dict[str, Any]],
    make: Callable[[dict[str, Any], str, str], Problem],
    what: str,
    suite: str,
) -> SuiteLoad:
    """Problems from an EvalPlus file's rows; a bad row is a ``ProblemError``, no
    valid row at all a ``UserError``."""
    if not rows:
        raise UserError(f"{path}: {what} data file holds no tasks")
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    for number, row in enumerate(rows, start=1):
        where = f"{path}: line {number} ({row.get('task_id', '?')})"
        try:
            problems.append(make(row, str(path), suite))
        except KeyError as exc:
            errors.append(ProblemError(where, str(exc.args[0]), "missing"))
        except (ValueError, TypeError) as exc:
            errors.append(ProblemError(where, "", str(exc)))
    if not problems:
        raise UserError(f"{path}: no valid {what} task ({errors[0]})")
    return SuiteLoad(name=suite, problems=tuple(problems), errors=tuple(errors))
