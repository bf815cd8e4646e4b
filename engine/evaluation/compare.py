"""Whether an answer's output matches the expected output, by the problem's rule.

Both values arrive here as plain data decoded in the parent process (builtin
types only; anything else the candidate returned is an ``Opaque`` that equals
nothing), so a hostile ``__eq__`` never runs here.

Rules (``Problem.compare``):

``exact``
    Equal values of the same builtin types; with ``atol`` set, floats anywhere in
    the output are compared within it. The rule for the project's own suites.
``unordered``
    A list whose order does not matter (compared as sorted multisets).
``close``
    Numbers (or nested lists of them) within ``atol``.
``evalplus``
    EvalPlus 0.3.1's differential rule, used for HumanEval and HumanEval+ so a
    verdict here is the verdict EvalPlus gives:

    1. ``actual == expected`` passes (Python equality, so ``1 == 1.0 == True``).
    2. Otherwise a tolerance applies when the problem has an ``atol``, or when the
       expected value is a float or a non-empty list/tuple of floats (then
       ``atol = 1e-6``): the two values must have the same type, sequences the
       same length, and every number ``a`` must satisfy
       ``|a - e| <= atol + 1e-7 * |e|`` against its expected ``e`` (numpy's
       ``allclose`` with ``rtol=1e-7``; NaN never matches, equal infinities do;
       a non-number inside fails).
    3. Anything else fails.

    EvalPlus keeps the 1e-6 tolerance switched on for the following inputs once a
    float output has been seen; that only changes the verdict for huge integers
    that differ by less than one part in 10^7, and is not reproduced.
``evalplus_set``, ``evalplus_not_none``, ``evalplus_any``, ``evalplus_or_zero``,
``evalplus_surface_area``, ``evalplus_digit_distance``
    EvalPlus 0.3.1's special oracles for MBPP+ tasks (``mbppplus.COMPARE_BY_ENTRY_POINT``
    says which task has which). Each decides whether the output is an exact match
    in its own way, then rule 2 of ``evalplus`` (the tolerance) applies as usual:

    * ``set``: ``set(actual) == set(expected)`` (replaces ``==``; an output that
      cannot be made a set fails);
    * ``not_none``: the expected value is whether the reference's output is not
      None; a bool output must equal that, any other output passes when its being
      not None equals it;
    * ``any``: every returned output passes (Mbpp/164);
    * ``or_zero``: ``==``, or the output is 0 (Mbpp/295);
    * ``surface_area`` / ``digit_distance``: ``==``, or the output equals the
      corrected formula EvalPlus uses for Mbpp/581 / Mbpp/558 on the same inputs
      (the area within ``atol``).

    An answer whose output text is the reference's is not passed on sight under
    these rules (``text_match_allowed``): ``not_none`` and ``set`` can fail it.
``poly_root``
    HumanEval/32 (``find_zero``): the output ``x`` passes when
    ``|sum(c_i * x**i)| <= atol`` for the input coefficients, computed with
    ``math.pow`` as EvalPlus does, whatever the reference returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gradebench.engine.problems.model import Problem, TestCase

EVALPLUS_FLOAT_ATOL = 1e-6
EVALPLUS_RTOL = 1e-7


@dataclass(frozen=True)
class Opaque:
    """A value of a type the sandbox does not transfer (a user class, a function...)."""

    type_name: str
    text: str

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)


def _close(a: Any, b: Any, atol: float) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if isinstance(a, float) and math.isnan(a):
            return isinstance(b, float) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=1e-07, abs_tol=atol)
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_close(x, y, atol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], atol) for k in a)
    return a == b


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float | complex)


def _is_infinite(value: Any) -> bool:
    if isinstance(value, complex):
        return math.isinf(value.real) or math.isinf(value.imag)
    return isinstance(value, float) and math.isinf(value)


def _allclose(actual: Any, expected: Any, atol: float) -> bool:
    """numpy.allclose(actual, expected, rtol=1e-7, atol) on nested lists of numbers."""
    if _is_number(actual) and _is_number(expected):
        try:
            if actual == expected:  # equal infinities
                return True
            if _is_infinite(actual) or _is_infinite(expected):
                return False
            difference = abs(actual - expected)
            bound = atol + EVALPLUS_RTOL * abs(expected)
        except (OverflowError, TypeError):
            return False
        return not math.isnan(difference) and difference <= bound
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        if len(actual) != len(expected):
            return False
        return all(_allclose(a, e, atol) for a, e in zip(actual, expected, strict=True))
    return False


def is_floats(value: Any) -> bool:
    """EvalPlus's test for a float output: a float, or a non-empty list/tuple of floats."""
    if isinstance(value, float):
        return True
    if isinstance(value, list | tuple) and value:
        return all(isinstance(item, float) for item in value)
    return False


def evalplus_match(expected: Any, actual: Any, atol: float) -> bool:
    """EvalPlus 0.3.1's comparison of one output (see the module docstring)."""
    try:
        if actual == expected:
            return True
    except RecursionError:
        return False
    if atol == 0 and is_floats(expected):
        atol = EVALPLUS_FLOAT_ATOL
    if atol == 0 or type(actual) is not type(expected):
        return False
    return _allclose(actual, expected, atol)


def _surface_area(base_edge: Any, height: Any) -> Any:
    """Mbpp/581 as EvalPlus corrects it: a square pyramid's total area, the height
    being the apex's distance from the base, rounded to an int."""
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(first: Any, second: Any) -> int:
    """Mbpp/558 as EvalPlus corrects it: the numbers' digits zero-padded to one length,
    then the sum of the digit-wise distances (a sign is not a digit: ValueError)."""
    left, right = str(first), str(second)
    width = max(len(left), len(right))
    left, right = left.zfill(width), right.zfill(width)
    return sum(abs(int(a) - int(b)) for a, b in zip(left, right, strict=True))


def _mbpp_exact(rule: str, test: TestCase, expected: Any, actual: Any, atol: float) -> bool:
    """The first step of an MBPP+ special oracle: is ``actual`` an exact match?
    Exceptions mean a failed test, as in EvalPlus."""
    if rule == "evalplus_any":
        return True
    if rule == "evalplus_set":
        return set(actual) == set(expected)
    if rule == "evalplus_not_none":
        if isinstance(actual, bool):
            return actual == expected
        return expected == (actual is not None)
    if actual == expected:
        return True
    if rule == "evalplus_or_zero":
        return actual == 0
    if rule == "evalplus_surface_area":
        return abs(actual - _surface_area(*test.args)) <= atol
    if rule == "evalplus_digit_distance":
        return actual == _digit_distance(*test.args)
    raise ValueError(f"unknown comparison rule {rule!r}")


MBPP_RULES = frozenset(
    {
        "evalplus_set",
        "evalplus_not_none",
        "evalplus_any",
        "evalplus_or_zero",
        "evalplus_surface_area",
        "evalplus_digit_distance",
    }
)


def text_match_allowed(rule: str) -> bool:
    """Whether an output whose text is the expected output's text surely passes."""
    return rule != "poly_root" and rule not in MBPP_RULES


def mbpp_match(rule: str, test: TestCase, expected: Any, actual: Any, atol: float) -> bool:
    """An MBPP+ special oracle, then EvalPlus's tolerance rule (see the module docstring)."""
    if rule == "evalplus_not_none":
        expected = expected is not None  # EvalPlus keeps only this of the reference's output
    try:
        exact = bool(_mbpp_exact(rule, test, expected, actual, atol))
    except Exception:
        return False
    if atol == 0 and is_floats(expected):
        atol = EVALPLUS_FLOAT_ATOL
    if exact or atol == 0:
        return exact
    if type(actual) is not type(expected):
        return False
    return _allclose(actual, expected, atol)


def poly_value(coefficients: list[Any], x: Any) -> float:
    """``sum(c_i * x**i)`` the way EvalPlus evaluates HumanEval/32's polynomial."""
    return sum(c * math.pow(x, i) for i, c in enumerate(coefficients))


def is_poly_root(coefficients: list[Any], x: Any, atol: float) -> bool:
    if not isinstance(x, bool | int | float):
        return False
    try:
        return abs(poly_value(coefficients, x)) <= atol
    except (OverflowError, TypeError, ValueError):
        return False


def outputs_match(problem: Problem, test: TestCase, expected: Any, actual: Any) -> bool:
    """True when ``actual`` is an acceptable output for ``test``."""
    if problem.compare == "poly_root":
        return is_poly_root(list(test.args[0]), actual, problem.atol or 1e-6)
    if problem.compare == "evalplus_not_none":  # only whether the output is None counts
        return mbpp_match(problem.compare, test, expected, actual, problem.atol)
    if isinstance(actual, Opaque):
        return problem.compare == "evalplus_any"
    if isinstance(expected, Opaque):
        return False
    if problem.compare in MBPP_RULES:
        return mbpp_match(problem.compare, test, expected, actual, problem.atol)
    if problem.compare == "evalplus":
        return evalplus_match(expected, actual, problem.atol)
    if problem.compare == "unordered":
        if type(actual) is not list or type(expected) is not list:
            return False
        try:
            return sorted(actual, key=repr) == sorted(expected, key=repr)
        except TypeError:
            return False
    if problem.compare == "close" or problem.atol > 0:
        return _close(expected, actual, problem.atol)
    return type(actual) is type(expected) and actual == expected
