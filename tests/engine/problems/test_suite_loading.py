"""The fast ways of loading HumanEval+ give what the plain ways give.

``TestCase.from_inputs`` builds test cases without the frozen ``__init__``;
``read_jsonl_gz`` reads the whole file at once (msgspec's parser when installed)
and falls back to reading line by line on any fault; ``load_humanevalplus``
pauses the garbage collector. None of that may change a value, a type, an error
or a message.
"""

from __future__ import annotations

import dataclasses
import gc
import gzip
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import MISSING, TestCase
from gradebench.engine.problems.suites.humaneval import read_jsonl_gz
from gradebench.engine.problems.suites.humanevalplus import load_humanevalplus

INPUTS: list[list[Any]] = [
    [1, 2],
    [],
    [2**70, -(2**65)],
    [0.1, -0.0, 1e-320, 1.7976931348623157e308],
    ["text", "\u2028", "\ud800"],
    [True, False, None],
    [[1, [2, 3]], {"k": [4]}],
]
HASHABLE_INPUTS = [args for args in INPUTS if not any(isinstance(a, list | dict) for a in args)]


@pytest.mark.parametrize("plus", [False, True])
def test_from_inputs_gives_the_test_cases_the_constructor_gives(plus: bool):
    fast = TestCase.from_inputs(INPUTS, plus=plus)
    plain = [TestCase(args=tuple(args), plus=plus) for args in INPUTS]
    assert fast == plain
    assert repr(fast) == repr(plain)
    for made, expected in zip(fast, plain, strict=True):
        assert type(made) is TestCase
        assert type(made.args) is tuple
        assert made.expected is MISSING
        assert made.plus is plus
        assert vars(made) == vars(expected)
        assert list(vars(made)) == list(vars(expected))  # same field order


def test_from_inputs_keeps_the_json_values_themselves_in_args():
    inputs = [[[1, 2], "x"]]
    (case,) = TestCase.from_inputs(inputs)
    assert case.args[0] is inputs[0][0]
    assert case.args[1] is inputs[0][1]


def test_from_inputs_test_cases_hash_like_constructed_ones():
    fast = TestCase.from_inputs(HASHABLE_INPUTS, plus=True)
    plain = [TestCase(args=tuple(args), plus=True) for args in HASHABLE_INPUTS]
    assert [hash(case) for case in fast] == [hash(case) for case in plain]
    assert set(fast) == set(plain)
    (unhashable,) = TestCase.from_inputs([[[1]]])
    with pytest.raises(TypeError):
        hash(unhashable)  # a list argument, as with TestCase(args=([1],))


def test_from_inputs_test_cases_survive_pickle_and_replace():
    fast = TestCase.from_inputs(INPUTS, plus=True)
    restored = pickle.loads(pickle.dumps(fast))
    assert repr(restored) == repr(fast)
    assert restored == fast
    changed = dataclasses.replace(fast[0], expected=3)
    assert changed == TestCase(args=(1, 2), expected=3, plus=True)
    assert dataclasses.asdict(fast[0]) == {"args": (1, 2), "expected": MISSING, "plus": True}


def test_from_inputs_test_cases_are_frozen():
    (case,) = TestCase.from_inputs([[1]])
    with pytest.raises(dataclasses.FrozenInstanceError):
        case.args = (2,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        case.plus = True
    with pytest.raises(dataclasses.FrozenInstanceError):
        del case.expected
    assert case == TestCase(args=(1,))


def test_from_inputs_takes_any_iterable_of_argument_sequences():
    cases = TestCase.from_inputs((iter([i, i + 1]) for i in range(3)), plus=False)
    assert cases == [TestCase(args=(0, 1)), TestCase(args=(1, 2)), TestCase(args=(2, 3))]
    assert TestCase.from_inputs([]) == []


# --- loading a HumanEval+ format file ----------------------------------------------------


def _row(number: int, **fields: Any) -> dict[str, Any]:
    row = {
        "task_id": f"HumanEval/{number}",
        "prompt": f'def f{number}(x):\n    """Doc\u2028string."""\n',
        "canonical_solution": "    return x\n",
        "entry_point": f"f{number}",
        "base_input": [[1], [2**70], ["a\ud800"]],
        "plus_input": [[float("inf")], [-0.0], [[1, 2]], [float("nan")]],
        "atol": 0,
    }
    return row | fields


ROWS = [
    _row(0),
    _row(1, atol=1e-6, plus_input=[]),
    _row(2, plus_input=[[1], 2]),  # bad: an argument list that is not a list
    {k: v for k, v in _row(3).items() if k != "base_input"},  # bad: missing field
    _row(4, atol="abc"),  # bad: atol not a number
    _row(32, entry_point="find_zero"),
]


def _write(path: Path, rows: list[dict[str, Any]], newline: str = "\n") -> Path:
    text = "".join(json.dumps(row) + newline for row in rows)
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode("utf-8"))
    return path


def _expected_tests(row: dict[str, Any]) -> tuple[TestCase, ...]:
    base = [TestCase(args=tuple(args), plus=False) for args in row["base_input"]]
    plus = [TestCase(args=tuple(args), plus=True) for args in row["plus_input"]]
    return (*base, *plus)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_loading_a_generated_file_gives_the_problems_and_errors_built_the_plain_way(
    tmp_path: Path, newline: str
):
    path = _write(tmp_path / "plus.jsonl.gz", ROWS, newline)
    load = load_humanevalplus(path)

    loaded = [ROWS[0], ROWS[1], ROWS[5]]
    assert [p.id for p in load.problems] == ["HumanEval+/0", "HumanEval+/1", "HumanEval+/32"]
    for problem, row in zip(load.problems, loaded, strict=True):
        expected = _expected_tests(row)
        assert repr(problem.tests) == repr(expected)  # tells inf, nan, -0.0, big ints apart
        assert [type(t) for t in problem.tests] == [TestCase] * len(expected)
        assert problem.base_tests == tuple(t for t in expected if not t.plus)
        assert problem.reference == row["prompt"] + row["canonical_solution"]
        assert problem.atol == float(row["atol"])
        assert problem.extra == {"task_id": row["task_id"]}
    assert load.by_id()["HumanEval+/32"].compare == "poly_root"
    assert [str(error) for error in load.errors] == [
        f"{path}: line 3 (HumanEval/2): plus_input must be a list of argument lists",
        f"{path}: line 4 (HumanEval/3): base_input: missing",
        f"{path}: line 5 (HumanEval/4): could not convert string to float: 'abc'",
    ]


def test_rows_read_without_msgspec_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _write(tmp_path / "plus.jsonl.gz", ROWS)
    with_parser = read_jsonl_gz(path)
    monkeypatch.setitem(sys.modules, "msgspec", None)  # import msgspec now fails
    without = read_jsonl_gz(path)
    assert repr(with_parser) == repr(without)
    assert repr(without) == repr([json.loads(json.dumps(row)) for row in ROWS])


def test_blank_lines_are_skipped_and_counted_in_line_numbers(tmp_path: Path):
    path = tmp_path / "blank.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'\n{"a": 1}\r\n  \n\r{"b": [2]}\n{"c": ')
    with pytest.raises(UserError, match=r"blank\.jsonl\.gz: line 6: not JSON \(Expecting value\)"):
        read_jsonl_gz(path)
    with gzip.open(path, "wb") as handle:
        handle.write(b'\n{"a": 1}\r\n  \n\r{"b": [2]}')
    assert read_jsonl_gz(path) == [{"a": 1}, {"b": [2]}]


def test_json_error_is_worded_as_for_the_line_with_its_newline(tmp_path: Path):
    # Without its newline this line's error would be "Unterminated string starting at".
    path = tmp_path / "cut.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'{"a": 1}\n{"a": "abc\n{"b": 2}\n')
    with pytest.raises(UserError) as caught:
        read_jsonl_gz(path)
    assert str(caught.value) == f"{path}: line 2: not JSON (Invalid control character at)"


def test_a_lone_carriage_return_ends_a_line_as_in_a_text_mode_read(tmp_path: Path):
    # JSON would take the "\r" as white space; a text-mode read splits the row there.
    path = tmp_path / "cr.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'{"a": 1}\n{"a":\r 1}\n')
    with pytest.raises(UserError) as caught:
        read_jsonl_gz(path)
    assert str(caught.value) == f"{path}: line 2: not JSON (Expecting value)"


def test_a_line_that_is_not_an_object_is_named(tmp_path: Path):
    path = tmp_path / "list.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'{"a": 1}\n[1, 2]\n')
    with pytest.raises(UserError) as caught:
        read_jsonl_gz(path)
    assert str(caught.value) == f"{path}: line 2: not a JSON object"


def test_a_bad_line_before_a_truncated_end_is_reported_first(tmp_path: Path):
    whole = gzip.compress(b'{"a": 1}\n{oops\n' + b'{"b": 2}\n' * 20000)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserError) as caught:
        read_jsonl_gz(path)
    assert str(caught.value).startswith(f"{path}: line 2: not JSON (Expecting property name")
    path.write_bytes(gzip.compress(b'{"a": 1}\n' * 20000)[:-40])
    with pytest.raises(UserError, match=r"not a readable gzip JSONL file \(Compressed file ended"):
        read_jsonl_gz(path)


def test_bytes_that_are_not_utf8_are_a_user_error(tmp_path: Path):
    path = tmp_path / "latin1.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write('{"a": "café"}\n'.encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1\.jsonl\.gz: not a readable gzip JSONL file"):
        read_jsonl_gz(path)


def test_values_only_the_standard_parser_accepts_are_read_as_it_reads_them(tmp_path: Path):
    path = tmp_path / "odd.jsonl.gz"
    lines = ['{"x": NaN, "y": -Infinity}', '{"x": 1e400}', '{"s": "\\udc00"}', '{"n": 1}']
    with gzip.open(path, "wb") as handle:
        handle.write("\n".join(lines).encode())
    assert repr(read_jsonl_gz(path)) == repr([json.loads(line) for line in lines])


# --- the collector pause -----------------------------------------------------------------


def test_the_collector_runs_again_after_a_load_even_a_failed_one(tmp_path: Path):
    assert gc.isenabled()
    load_humanevalplus(_write(tmp_path / "ok.jsonl.gz", ROWS))
    assert gc.isenabled()
    empty = _write(tmp_path / "empty.jsonl.gz", [])
    with pytest.raises(UserError, match="holds no tasks"):
        load_humanevalplus(empty)
    assert gc.isenabled()


def test_a_paused_collector_stays_paused_after_the_block():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- the real data -----------------------------------------------------------------------


def test_real_humanevalplus_tests_equal_ones_built_the_plain_way(humanevalplus_path: Path):
    load = load_humanevalplus(humanevalplus_path)
    with gzip.open(humanevalplus_path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    assert len(load.problems) == len(rows) == 164
    for problem, row in zip(load.problems, rows, strict=True):
        assert _first_difference(problem.tests, _expected_tests(row)) is None, problem.id


def _first_difference(made: tuple[TestCase, ...], expected: tuple[TestCase, ...]) -> str | None:
    """The first test that differs (by ``==`` or ``repr``), short enough to read."""
    if len(made) != len(expected):
        return f"{len(made)} tests, expected {len(expected)}"
    for number, (case, wanted) in enumerate(zip(made, expected, strict=True)):
        if case != wanted or repr(case) != repr(wanted) or type(case) is not TestCase:
            return f"test {number}: {repr(case)[:200]} != {repr(wanted)[:200]}"
    return None
