"""Suite ``mbpp+``: MBPP+ (EvalPlus's data, e.g. ``MbppPlus-v0.2.0.jsonl.gz``) from a local file.

Rules are EvalPlus 0.3.1's for its ``mbpp`` data set, which differ from HumanEval+'s:

* **Inputs.** JSON has no tuples, sets or complex numbers, so EvalPlus stores
  some tasks' inputs in a JSON form and rebuilds the Python values when it loads
  them; the tasks and how each is rebuilt are in ``INPUT_SHAPES`` below (lists
  that become tuples at some depth, sets, complex numbers, dict values). Without
  this, a tuple-expecting answer would be called with lists and judged on
  different outputs than EvalPlus's.
* **Per-task oracles** (``Problem.compare``, see ``gradebench.engine.evaluation.compare``):
  ``evalplus_set`` (the output is compared as a set) for the tasks whose order
  does not matter, ``evalplus_not_none`` for the tasks whose output is a match
  object (only "not None" is compared), ``evalplus_any`` for Mbpp/164
  (``are_equivalent``: every returned value passes), ``evalplus_or_zero`` for
  Mbpp/295 (``sum_div``: 0 also passes), and the corrected formulas for Mbpp/581
  (``surface_Area``) and Mbpp/558 (``digit_distance_nums``). All others:
  ``evalplus`` with the row's ``atol``. EvalPlus picks these by entry-point name;
  so does this module.
* **Contract lines** (the row's ``contract``: asserts on the inputs' validity,
  marked ``# $_CONTRACT_$``) are what EvalPlus used to generate valid inputs. They
  are not part of the reference EvalPlus runs (``prompt + canonical_solution``), so
  they are kept in ``extra["contract"]`` and not run here either.
* **Prompt.** The row's ``prompt`` is a docstring: one sentence of task and one
  example assertion. The statement shown and sent to models is that text; the
  signature comes from the canonical solution's ``def`` line. A samples file's
  ``completion`` is appended to the docstring, as EvalPlus does
  (``extra["completion_prefix"]``).

Ids: the rows' ``task_id`` is ``Mbpp/N``; the problem id is ``Mbpp+/N`` (as
``HumanEval+/N`` for HumanEval+), and ``extra["task_id"]`` keeps the original id,
which is what samples files name.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from typing import Any

from gradebench.engine.problems.model import Problem, TestCase
from gradebench.engine.problems.suites.humaneval import signature_of

SUITE = "mbpp+"
REQUIRED_FIELDS = (
    "task_id",
    "prompt",
    "canonical_solution",
    "entry_point",
    "base_input",
    "plus_input",
)

Args = list[Any]


def _tuples_deep(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples_deep(item) for item in value)
    return value


def _every_arg_tuple(args: Args) -> Args:
    return [tuple(arg) for arg in args]


def _every_arg_items_tuples(args: Args) -> Args:
    return [[tuple(item) for item in arg] for arg in args]


def _first_arg_items_tuples(args: Args) -> Args:
    return [[tuple(item) for item in args[0]], args[1]]


def _second_arg_tuple(args: Args) -> Args:
    return [args[0], tuple(args[1])]


def _first_arg_tuple(args: Args) -> Args:
    return [tuple(args[0]), args[1]]


def _first_arg_tuple_of_three(args: Args) -> Args:
    return [tuple(args[0]), args[1], args[2]]


def _every_arg_tuple_of_tuples(args: Args) -> Args:
    return [tuple(tuple(item) for item in arg) for arg in args]


def _sets_or_empty_dicts(args: Args) -> Args:
    # EvalPlus writes ``{}`` for an empty set, which Python reads as an empty dict
    return [[set(item) if isinstance(item, list) and item else {} for item in args[0]]]


def _float_and_complex(args: Args) -> Args:
    return [float(args[0]), complex(args[1])]


def _mixed_items_tuple(args: Args) -> Args:
    return [tuple(tuple(item) if isinstance(item, list) else item for item in args[0])]


def _dict_values_tuples(args: Args) -> Args:
    return [{key: tuple(value) for key, value in args[0].items()}, *args[1:]]


def _one_complex(args: Args) -> Args:
    return [complex(args[0])]


def _all_tuples(args: Args) -> Any:
    return _tuples_deep(args)


def _tasks(numbers: str, shape: Callable[[Args], Any]) -> dict[int, Callable[[Args], Any]]:
    return dict.fromkeys((int(n) for n in numbers.split()), shape)


INPUT_SHAPES: dict[int, Callable[[Args], Any]] = {
    **_tasks(
        "2 116 132 143 222 261 273 394 399 421 424 429 470 560 579 596 616 630 726 740 744 809",
        _every_arg_tuple,
    ),
    **_tasks("63 64 70 94 120 237 272 299 400 409 417 438 473 614 780", _every_arg_items_tuples),
    **_tasks("75 413 444 753", _first_arg_items_tuples),
    **_tasks("106 750", _second_arg_tuple),
    **_tasks("115", _sets_or_empty_dicts),
    **_tasks("124", _float_and_complex),
    **_tasks("250 405 446 617 720 763 808", _first_arg_tuple),
    **_tasks("259 401 445", _every_arg_tuple_of_tuples),
    **_tasks("278", _mixed_items_tuple),
    **_tasks("307", _first_arg_tuple_of_three),
    **_tasks("722", _dict_values_tuples),
    **_tasks("252", _one_complex),
    **_tasks("580 615 791", _all_tuples),
}
"""MBPP+ task number -> how its stored JSON arguments become the Python arguments
(EvalPlus 0.3.1, ``evalplus/data/mbpp.py``)."""

COMPARE_BY_ENTRY_POINT: dict[str, str] = {
    **dict.fromkeys(
        (
            "similar_elements",
            "find_char_long",
            "common_in_nested_lists",
            "extract_singly",
            "larg_nnum",
            "intersection_array",
            "find_dissimilar",
            "Diff",
        ),
        "evalplus_set",
    ),
    **dict.fromkeys(("check_str", "text_match_three", "text_starta_endb"), "evalplus_not_none"),
    "are_equivalent": "evalplus_any",
    "sum_div": "evalplus_or_zero",
    "surface_Area": "evalplus_surface_area",
    "digit_distance_nums": "evalplus_digit_distance",
}
"""EvalPlus 0.3.1's special oracles for MBPP+, chosen (as EvalPlus does) by entry point."""


def task_number(task_id: str) -> int | None:
    number = task_id.rpartition("/")[2]
    return int(number) if number.isdigit() else None


def problem_id(task_id: str) -> str:
    """``Mbpp/2`` -> ``Mbpp+/2``."""
    prefix, _, number = task_id.rpartition("/")
    return f"{prefix}+/{number}" if prefix else f"{task_id}+"


def python_inputs(task_id: str, inputs: Any, key: str) -> list[Any]:
    """The stored inputs of one task as EvalPlus calls the entry point with them.
    An empty object stands for no inputs (Mbpp/793's ``plus_input`` in v0.2.0)."""
    if inputs == {}:
        return []
    if not isinstance(inputs, list) or not all(isinstance(args, list) for args in inputs):
        raise ValueError(f"{key} must be a list of argument lists")
    shape = INPUT_SHAPES.get(task_number(task_id) or -1)
    if shape is None:
        return inputs
    try:
        return [shape(args) for args in inputs]
    except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
        raise ValueError(f"{key}: not in the shape EvalPlus stores for {task_id} ({exc})") from None


def statement_of(prompt: str) -> str:
    """The docstring's text (task and example assertion), or the prompt as written."""
    try:
        with warnings.catch_warnings():  # "\d" in a docstring: the data's text, not ours
            warnings.simplefilter("ignore")
            tree = ast.parse(prompt)
    except SyntaxError:
        return prompt.strip()
    docstring = ast.get_docstring(tree, clean=True)
    return docstring.strip() if docstring else prompt.strip()


def problem_from_row(row: dict[str, Any], source: str, suite: str = SUITE) -> Problem:
    missing = [key for key in REQUIRED_FIELDS if key not in row]
    if missing:
        raise KeyError(missing[0])
    task_id = str(row["task_id"])
    prompt = row["prompt"]
    entry_point = row["entry_point"]
    canonical = row["canonical_solution"]
    if not all(
        isinstance(row[key], str) for key in ("prompt", "entry_point", "canonical_solution")
    ):
        raise TypeError("prompt, entry_point and canonical_solution must be strings")
    atol = float(row.get("atol") or 0.0)
    base = TestCase.from_inputs(python_inputs(task_id, row["base_input"], "base_input"))
    plus = TestCase.from_inputs(python_inputs(task_id, row["plus_input"], "plus_input"), plus=True)
    number = task_id.rpartition("/")[2]
    return Problem(
        id=problem_id(task_id),
        suite=suite,
        title=f"{entry_point} (MBPP+ {number})",
        difficulty="unrated",
        statement=statement_of(prompt),
        entry_point=entry_point,
        signature=signature_of(canonical, entry_point),
        reference=prompt + canonical,
        tests=(*base, *plus),
        tags=("mbpp+",),
        compare=COMPARE_BY_ENTRY_POINT.get(entry_point, "evalplus"),
        atol=atol,
        source=source,
        extra={
            "task_id": task_id,
            "completion_prefix": prompt,
            "contract": row.get("contract", ""),
        },
    )
