"""Whether an answer's output matches the expected output, by the problem's rule.

Both values arrive here as plain data decoded in the parent process (builtin
types only; anything else the candidate returned is an ``Opaque`` that equals
nothing), so a hostile ``__eq__`` never runs here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from engine.problems import Problem, TestCase


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


def _poly(coefficients: list[float], x: float) -> float:
    return sum(c * x**i for i, c in enumerate(coefficients))


def outputs_match(problem: Problem, test: TestCase, expected: Any, actual: Any) -> bool:
    """True when ``actual`` is an acceptable output for ``test``."""
    if isinstance(actual, Opaque) or isinstance(expected, Opaque):
        return False
    if problem.compare == "poly_root":
        if type(actual) not in (int, float):
            return False
        return abs(_poly(list(test.args[0]), actual)) <= max(problem.atol, 1e-6)
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
