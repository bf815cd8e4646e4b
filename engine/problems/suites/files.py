"""Problem suites stored as files: ``problems/<suite>/<name>.toml``, one problem per file.

The format is documented in ``docs/problem-format.md``. Each file is validated on
load; a bad file becomes a ``ProblemError`` naming the file and the field, and the
rest of the suite still loads.

Test arguments and expected outputs are Python expressions evaluated with a small
set of pure builtins (``range``, ``list``, ``chr`` ...) so large inputs can be
written as ``list(range(100000))``. Problem files are project data, trusted like
code, but the expressions cannot import or touch files.
"""

from __future__ import annotations

import builtins
import math
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gradebench.engine.problems.model import (
    DIFFICULTIES,
    MISSING,
    Problem,
    ProblemError,
    SuiteLoad,
    TestCase,
)

_SAFE_BUILTIN_NAMES = [
    "abs",
    "all",
    "any",
    "bool",
    "bytes",
    "chr",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "int",
    "len",
    "list",
    "map",
    "max",
    "min",
    "ord",
    "pow",
    "range",
    "reversed",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "True",
    "False",
    "None",
]
_EXPR_GLOBALS: dict[str, Any] = {
    "__builtins__": {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES},
    "inf": math.inf,
    "nan": math.nan,
    "pi": math.pi,
}

KINDS = ("function", "class")
COMPARISONS = ("exact", "unordered", "close")
REQUIRED_STRINGS = ("title", "difficulty", "statement", "entry_point", "signature", "reference")


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def evaluate_expression(text: str, field: str) -> Any:
    """Evaluate a test's argument or expected-output expression."""
    try:
        return eval(compile(text, f"<{field}>", "eval"), dict(_EXPR_GLOBALS))
    except SyntaxError as exc:
        raise _FieldError(field, f"not a Python expression: {exc.msg}") from None
    except Exception as exc:
        raise _FieldError(field, f"cannot evaluate: {type(exc).__name__}: {exc}") from None


def _string(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise _FieldError(key, "missing")
        return ""
    if not isinstance(value, str):
        raise _FieldError(key, f"must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise _FieldError(key, "empty")
    return value


def _test_case(raw: Any, index: int, kind: str) -> TestCase:
    where = f"tests[{index}]"
    if not isinstance(raw, dict):
        raise _FieldError(where, "must be a table")
    unknown = set(raw) - {"args", "init", "calls", "expected", "note"}
    if unknown:
        raise _FieldError(f"{where}.{sorted(unknown)[0]}", "unknown key")
    if kind == "class":
        init = evaluate_expression(_string(raw, "init", required=False) or "()", f"{where}.init")
        calls_text = raw.get("calls")
        if not isinstance(calls_text, str):
            raise _FieldError(f"{where}.calls", "missing (class problems list method calls)")
        calls = evaluate_expression(calls_text, f"{where}.calls")
        if not isinstance(init, tuple):
            raise _FieldError(f"{where}.init", "must evaluate to a tuple of arguments")
        if not isinstance(calls, list) or not all(
            isinstance(c, tuple)
            and len(c) == 2
            and isinstance(c[0], str)
            and isinstance(c[1], tuple)
            for c in calls
        ):
            raise _FieldError(f"{where}.calls", "must be a list of (method_name, args_tuple)")
        args: tuple[Any, ...] = (init, calls)
    else:
        args_text = raw.get("args")
        if not isinstance(args_text, str):
            raise _FieldError(f"{where}.args", "missing (a tuple expression, e.g. '(1, 2)')")
        args = evaluate_expression(args_text, f"{where}.args")
        if not isinstance(args, tuple):
            raise _FieldError(f"{where}.args", "must evaluate to a tuple, e.g. '([1, 2],)'")
    expected = MISSING
    if "expected" in raw:
        if not isinstance(raw["expected"], str):
            raise _FieldError(f"{where}.expected", "must be a string holding an expression")
        expected = evaluate_expression(raw["expected"], f"{where}.expected")
    return TestCase(args=args, expected=expected)


def parse_problem(data: dict[str, Any], suite: str, name: str, source: str) -> Problem:
    """Validate one problem's TOML table; raises ``_FieldError`` on the first bad field."""
    known = {
        *REQUIRED_STRINGS,
        "tags",
        "kind",
        "compare",
        "atol",
        "time_limit",
        "take",
        "tests",
    }
    unknown = set(data) - known
    if unknown:
        raise _FieldError(sorted(unknown)[0], "unknown key")
    values = {key: _string(data, key) for key in REQUIRED_STRINGS}
    if values["difficulty"] not in DIFFICULTIES:
        raise _FieldError("difficulty", f"must be one of {', '.join(DIFFICULTIES)}")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise _FieldError("tags", "must be a list of non-empty strings")
    kind = data.get("kind", "function")
    if kind not in KINDS:
        raise _FieldError("kind", f"must be one of {', '.join(KINDS)}")
    compare = data.get("compare", "exact")
    if compare not in COMPARISONS:
        raise _FieldError("compare", f"must be one of {', '.join(COMPARISONS)}")
    atol = data.get("atol", 0.0)
    if not isinstance(atol, int | float) or isinstance(atol, bool) or atol < 0:
        raise _FieldError("atol", "must be a non-negative number")
    if compare == "close" and atol <= 0:
        raise _FieldError("atol", "compare = 'close' needs a positive atol")
    time_limit = data.get("time_limit")
    if time_limit is not None and (
        not isinstance(time_limit, int | float) or isinstance(time_limit, bool) or time_limit <= 0
    ):
        raise _FieldError("time_limit", "must be a positive number of seconds")
    take = data.get("take")
    if take is not None and (not isinstance(take, int) or isinstance(take, bool) or take <= 0):
        raise _FieldError("take", "must be a positive integer")
    raw_tests = data.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        raise _FieldError("tests", "missing (at least one [[tests]] table)")
    tests = tuple(_test_case(raw, i, kind) for i, raw in enumerate(raw_tests))
    entry = values["entry_point"]
    if not entry.isidentifier():
        raise _FieldError("entry_point", "must be a Python identifier")
    keyword = "class" if kind == "class" else "def"
    if f"{keyword} {entry}" not in values["reference"]:
        raise _FieldError("reference", f"does not define {keyword} {entry}")
    try:
        compile(values["reference"], f"{source}:reference", "exec")
    except SyntaxError as exc:
        raise _FieldError("reference", f"syntax error line {exc.lineno}: {exc.msg}") from None
    return Problem(
        id=f"{suite}/{name}",
        suite=suite,
        title=values["title"].strip(),
        difficulty=values["difficulty"],
        statement=values["statement"].strip() + "\n",
        entry_point=entry,
        signature=values["signature"].strip(),
        reference=values["reference"].strip() + "\n",
        tests=tests,
        tags=tuple(tags),
        kind=kind,
        compare=compare,
        atol=float(atol),
        time_limit=float(time_limit) if time_limit is not None else None,
        take=take,
        code_prompt=values["signature"].strip() + "\n",
        source=source,
    )


def load_problem_file(path: Path, suite: str) -> Problem | ProblemError:
    """Load one problem file, or say what is wrong with it."""
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return ProblemError(source, "", f"not valid TOML: {exc}")
    except (OSError, UnicodeDecodeError) as exc:
        return ProblemError(source, "", f"cannot read: {exc}")
    try:
        return parse_problem(data, suite, path.stem, source)
    except _FieldError as exc:
        return ProblemError(source, exc.field, exc.message)


def load_directory(directory: Path, suite: str | None = None) -> SuiteLoad:
    """Load every ``*.toml`` problem in ``directory`` (sorted by file name)."""
    name = suite or directory.name
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    for path in sorted(directory.glob("*.toml")):
        loaded = load_problem_file(path, name)
        (errors if isinstance(loaded, ProblemError) else problems).append(loaded)  # type: ignore[arg-type]
    return SuiteLoad(name=name, problems=tuple(problems), errors=tuple(errors))


def suite_directories(roots: Iterable[Path]) -> dict[str, Path]:
    """Suite name -> folder, for every folder of ``*.toml`` files under the roots."""
    found: dict[str, Path] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if child.is_dir() and any(child.glob("*.toml")):
                found.setdefault(child.name, child)
    return found
