"""Evaluator: verdicts, counts, first failure, expected-output cache, saving, `problems check`."""

from __future__ import annotations

import json
import re

import pytest

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.evaluator import Evaluator, Execution
from gradebench.engine.evaluation.execution import save_execution
from gradebench.engine.problems.model import Problem, TestCase
from gradebench.engine.problems.suites import load_suite
from tests.conftest import TEST_DATA
from tests.seed import make_problem

SQUARE = make_problem(
    "def f(x):\n    return x * x\n",
    (TestCase(args=(2,), expected=4), TestCase(args=(3,)), TestCase(args=(-5,))),
)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator()


@pytest.fixture(scope="module")
def demo() -> dict[str, Problem]:
    return load_suite(str(TEST_DATA / "problems" / "demo")).by_id()


def test_correct_code_passes_with_full_score(evaluator):
    execution = evaluator.evaluate(SQUARE, "def f(x):\n    return x ** 2\n")
    assert (execution.verdict, execution.passed, execution.total) == ("pass", 3, 3)
    assert execution.suggested_score == 1.0
    assert execution.first_failure is None
    assert execution.base_verdict is None


def test_wrong_code_fails_with_the_first_failing_test_described(evaluator):
    code = "def f(x):\n    return x * x if x > 0 else 0\n"
    execution = evaluator.evaluate(SQUARE, code)
    assert (execution.verdict, execution.passed, execution.total) == ("fail", 2, 3)
    assert execution.suggested_score == 0.5
    assert execution.first_failure == {
        "test": 2,
        "input": "(-5,)",
        "expected": "25",
        "actual": "0",
        "message": "wrong output",
    }


def test_all_wrong_scores_zero(evaluator):
    execution = evaluator.evaluate(SQUARE, "def f(x):\n    return str(x * x)\n")
    assert execution.verdict == "fail" and execution.passed == 0
    assert execution.suggested_score == 0.0
    assert execution.first_failure["actual"] == "'4'"


def test_exception_is_an_error_with_its_message(evaluator):
    execution = evaluator.evaluate(SQUARE, "def f(x):\n    return [][x]\n")
    assert execution.verdict == "error"
    assert execution.first_failure["message"].startswith("IndexError: list index out of range")


def test_code_that_does_not_compile_is_a_syntax_verdict(evaluator):
    runs = evaluator.sandbox_runs
    execution = evaluator.evaluate(SQUARE, "def f(x)\n    return x\n")
    assert execution.verdict == "syntax"
    assert "line 1" in execution.first_failure["message"]
    assert evaluator.sandbox_runs == runs  # detected before any child starts


@pytest.mark.parametrize("code", [None, "", "   \n\t"])
def test_missing_or_blank_code_is_no_code(evaluator, code):
    execution = evaluator.evaluate(SQUARE, code)
    assert (execution.verdict, execution.passed, execution.total) == ("no_code", 0, 3)


def test_endless_code_times_out_and_later_tests_do_not_pass(evaluator):
    code = "def f(x):\n    while x == 3:\n        pass\n    return x * x\n"
    runs = evaluator.sandbox_runs
    execution = evaluator.evaluate(SQUARE, code)
    assert evaluator.sandbox_runs == runs + 2  # a timeout is confirmed by a second run
    assert execution.verdict == "timeout"
    assert execution.passed == 1  # test 0 passed; test 1 timed out; test 2 never ran
    assert execution.first_failure["test"] == 1
    assert execution.sandbox["stopped"] == "timeout"


def test_memory_error_is_a_memory_verdict(evaluator):
    execution = evaluator.evaluate(SQUARE, "def f(x):\n    return [x] * (1 << 40)\n")
    assert execution.verdict == "memory"


def test_missing_entry_point_is_an_error(evaluator):
    execution = evaluator.evaluate(SQUARE, "def g(x):\n    return x * x\n")
    assert execution.verdict == "error"
    assert "f is not defined" in execution.first_failure["message"]


def test_stated_expected_value_wins_over_the_reference_output(evaluator):
    problem = make_problem(
        "def f(x):\n    return x + 1\n",  # wrong for the stated test
        (TestCase(args=(1,), expected=10), TestCase(args=(2,))),
    )
    code = "def f(x):\n    return 10 if x == 1 else x + 1\n"
    assert evaluator.evaluate(problem, code).verdict == "pass"
    assert evaluator.evaluate(problem, problem.reference).verdict == "fail"


def test_a_test_the_reference_crashes_on_counts_as_failed_with_the_reason(evaluator):
    problem = make_problem(
        "def f(x):\n    return 1 // x\n", (TestCase(args=(1,)), TestCase(args=(0,)))
    )
    execution = evaluator.evaluate(problem, "def f(x):\n    return 1\n")
    assert execution.passed == 1
    assert "the reference raised ZeroDivisionError" in execution.first_failure["message"]


def test_class_problem_passes_and_a_wrong_method_fails(evaluator, demo):
    counter = demo["demo/counter-class"]
    assert evaluator.evaluate(counter, counter.reference).verdict == "pass"
    wrong = counter.reference.replace("self.value = self.start\n", "self.value = 0\n")
    execution = evaluator.evaluate(counter, wrong)
    assert execution.verdict == "fail"
    assert execution.first_failure["test"] == 0
    assert execution.first_failure["expected"] == "[6, 7, None, 6]"
    assert execution.first_failure["actual"] == "[6, 7, None, 1]"


def test_unordered_compare_accepts_any_order_but_not_other_items(evaluator, demo):
    distinct = demo["demo/unique-sorted"]
    reverse = "def distinct(items):\n    return sorted(set(items), reverse=True)\n"
    assert evaluator.evaluate(distinct, reverse).verdict == "pass"
    duplicates = "def distinct(items):\n    return list(items)\n"
    assert evaluator.evaluate(distinct, duplicates).verdict == "fail"


def test_float_outputs_compare_within_atol(evaluator):
    problem = make_problem(
        "def f(x):\n    return x / 3\n", (TestCase(args=(1.0,)), TestCase(args=(2.0,))), atol=1e-6
    )
    close = "def f(x):\n    return x / 3 + 1e-9\n"
    far = "def f(x):\n    return x / 3 + 1e-3\n"
    assert evaluator.evaluate(problem, close).verdict == "pass"
    assert evaluator.evaluate(problem, far).verdict == "fail"
    exact = make_problem(problem.reference, problem.tests, id="t/exact")
    assert evaluator.evaluate(exact, close).verdict == "fail"


def test_generator_answers_are_compared_on_their_first_take_items(evaluator):
    problem = make_problem(
        "def f(x):\n    n = x\n    while True:\n        yield n\n        n *= 2\n",
        (TestCase(args=(1,)), TestCase(args=(3,))),
        take=5,
    )
    right = "import itertools\ndef f(x):\n    return (x * 2**i for i in itertools.count())\n"
    wrong = "def f(x):\n    n = x\n    while True:\n        yield n\n        n += x\n"
    assert evaluator.evaluate(problem, right).verdict == "pass"
    execution = evaluator.evaluate(problem, wrong)
    assert execution.verdict == "fail"
    assert execution.first_failure["expected"] == "[1, 2, 4, 8, 16]"


def test_plus_tests_give_a_base_verdict_and_an_overall_verdict():
    problem = make_problem(
        "def f(x):\n    return abs(x)\n",
        (
            TestCase(args=(1,)),
            TestCase(args=(2,)),
            TestCase(args=(-3,), plus=True),
            TestCase(args=(0,), plus=True),
        ),
    )
    evaluator = Evaluator()
    execution = evaluator.evaluate(problem, "def f(x):\n    return x\n")
    assert (execution.base_verdict, execution.base_passed, execution.base_total) == ("pass", 2, 2)
    assert (execution.verdict, execution.passed, execution.total) == ("fail", 3, 4)
    assert execution.first_failure["test"] == 2
    # every output the expected text: the same counts without looking at single tests
    right = evaluator.evaluate(problem, "def f(x):\n    return -x if x < 0 else x\n")
    assert (right.base_verdict, right.base_passed, right.base_total) == ("pass", 2, 2)
    assert (right.verdict, right.passed, right.total, right.first_failure) == ("pass", 4, 4, None)
    # and an answer to a problem without plus tests has no base verdict
    plain = make_problem("def f(x):\n    return abs(x)\n", (TestCase(args=(-1,)),))
    alone = evaluator.evaluate(plain, "def f(x):\n    return abs(x)\n")
    assert (alone.verdict, alone.passed, alone.base_verdict, alone.base_passed) == (
        "pass",
        1,
        None,
        None,
    )


def test_problem_time_limit_is_one_budget_for_all_tests(evaluator):
    tests = tuple(TestCase(args=(i,)) for i in range(3))
    slow = "import time\ndef f(x):\n    time.sleep(0.3)\n    return x\n"
    budgeted = make_problem("def f(x):\n    return x\n", tests, time_limit=0.5, id="t/budget")
    scaled = make_problem("def f(x):\n    return x\n", tests, id="t/scaled")
    assert evaluator.evaluate(budgeted, slow).verdict == "timeout"
    assert evaluator.evaluate(scaled, slow).verdict == "pass"


def test_time_limits_scale_from_the_reference_time():
    evaluator = Evaluator(time_factor=4.0, min_time_limit=1.0)
    problem = make_problem(
        "import time\ndef f(x):\n    time.sleep(x)\n    return x\n",
        (TestCase(args=(0.0,)), TestCase(args=(0.6,))),
    )
    limits = evaluator.time_limits(problem, evaluator.expected(problem))
    assert limits[0] == 1.0
    assert limits[1] >= 4 * 0.6


def test_expected_outputs_are_cached_in_the_database_and_reused(db):
    first = Evaluator(db)
    first.evaluate(SQUARE, "def f(x):\n    return x * x\n")
    assert first.reference_runs == 1
    rows = list(db["expected_outputs"].rows)
    assert len(rows) == 1
    assert rows[0]["problem_id"] == SQUARE.id
    assert re.fullmatch(r"[0-9a-f]{64}", rows[0]["content_sha256"])
    assert len(json.loads(rows[0]["reference_seconds"])) == 3

    second = Evaluator(db)
    execution = second.evaluate(SQUARE, "def f(x):\n    return x * x\n")
    assert execution.verdict == "pass"
    assert second.reference_runs == 0
    assert second.sandbox_runs == 1  # only the answer ran

    changed = make_problem("def f(x):\n    return x * x * 1\n", SQUARE.tests)
    second.evaluate(changed, "def f(x):\n    return x * x\n")
    assert second.reference_runs == 1  # a different reference means a new key
    keys = [r[0] for r in db.execute("SELECT content_sha256 FROM expected_outputs")]
    assert len(keys) == len(set(keys)) == 2


def test_stored_outputs_round_trip_and_earlier_rows_still_load():
    from gradebench.engine.evaluation.stored_outputs import (
        encode_stored_outputs,
        read_stored_outputs,
    )

    encoded = [
        harness.encode([1, 2.5, "a\nb"]),
        None,
        harness.encode('"quoted" \udc80 \u00e9'),
        None,
        harness.encode([float("nan"), 1.0]),
        harness.encode(["banana"]),  # holds "nan": conservatively never matched by text
    ]
    errors = [None, "the reference raised ValueError: x\ny", None, None, None, None]
    stored = encode_stored_outputs(encoded, errors)
    assert isinstance(stored, bytes)
    assert stored.count(b"\n") == 7  # header + one line per test, newlines escaped
    texts, back_errors = read_stored_outputs(stored)
    assert list(texts) == encoded
    assert back_errors[:4] == [None, "the reference raised ValueError: x\ny", None, "no output"]
    assert back_errors[4:] == [None, None]
    assert [texts.plain(i) for i in range(6)] == [True, False, True, False, False, False]
    assert bytes(texts.view(0)) == encoded[0].encode()
    assert texts.view(1) is None
    assert bytes(texts.view(2)) == encoded[2].encode("utf-8", "surrogatepass")

    # the two text forms of earlier versions read as the same outputs
    version_2 = "\n".join(
        ["gradebench-outputs-2", encoded[0], json.dumps("boom"), encoded[4], encoded[2]]
    )
    version_1 = json.dumps([{"v": encoded[0]}, {"error": "boom"}, ["i", "0x5"]])
    for legacy, want_texts, want_plain in (
        (version_2, [encoded[0], None, encoded[4], encoded[2]], [True, False, False, True]),
        (version_1, [encoded[0], None, harness.encode(5)], [True, False, True]),
    ):
        texts, back_errors = read_stored_outputs(legacy)
        assert list(texts) == want_texts
        assert back_errors[1] == "boom"
        assert [texts.plain(i) for i in range(len(texts))] == want_plain


def test_only_a_real_opaque_value_or_nan_keeps_an_output_from_matching_by_text():
    from gradebench.engine.evaluation.stored_outputs import plain_text

    class Custom:
        pass

    def plain(value) -> bool:
        return plain_text(harness.encode(value).encode("utf-8", "surrogatepass"))

    assert plain(['["o",', "o", {"o": 1}, 2.5])  # the tag's text inside strings is escaped
    assert not plain([1, Custom()])
    assert not plain({"k": [float("nan")] * 40})  # a packed run is never made with NaN
    assert plain([float("inf"), -0.0] * 40)


@pytest.mark.parametrize("damage", [b'gradebench-outputs-3\n=["n"]', b"gradebench-outputs-3\n?x\n"])
def test_a_damaged_stored_row_is_an_error_for_the_reader(damage):
    from gradebench.engine.evaluation.stored_outputs import read_stored_outputs

    with pytest.raises(ValueError):
        read_stored_outputs(damage)


def test_an_earlier_versions_row_is_used_and_stored_anew_and_a_damaged_one_recomputed(db):
    from gradebench.engine.evaluation.stored_outputs import STORED_OUTPUTS_BLOB_HEADER

    Evaluator(db).evaluate(SQUARE, "def f(x):\n    return x * x\n")
    (stored_key,) = db.execute(
        "SELECT content_sha256 FROM expected_outputs WHERE problem_id = ?", [SQUARE.id]
    ).fetchone()
    key = {"problem_id": SQUARE.id, "content_sha256": stored_key}
    # as version 2 wrote it: text, one line per test (test 0 states its expected value)
    db["expected_outputs"].update(
        tuple(key.values()),
        {"outputs": "gradebench-outputs-2\n" + "\n".join(harness.encode(v) for v in (4, 9, 25))},
    )
    reader = Evaluator(db)
    assert reader.evaluate(SQUARE, "def f(x):\n    return x * x\n").verdict == "pass"
    assert reader.evaluate(SQUARE, "def f(x):\n    return x + 6\n").passed == 1  # only 3 -> 9
    assert reader.reference_runs == 0
    row = db["expected_outputs"].get(tuple(key.values()))
    assert row["outputs"].startswith(STORED_OUTPUTS_BLOB_HEADER)

    db["expected_outputs"].update(tuple(key.values()), {"outputs": b"gradebench-outputs-3\n?"})
    recomputing = Evaluator(db)
    assert recomputing.evaluate(SQUARE, "def f(x):\n    return x * x\n").verdict == "pass"
    assert recomputing.reference_runs == 1
    row = db["expected_outputs"].get(tuple(key.values()))
    assert row["outputs"].startswith(STORED_OUTPUTS_BLOB_HEADER)
    assert list(_read(row["outputs"])) == [harness.encode(v) for v in (4, 9, 25)]


def _read(stored: bytes):
    from gradebench.engine.evaluation.stored_outputs import read_stored_outputs

    return read_stored_outputs(stored)[0]


def test_expected_outputs_are_computed_once_across_threads():
    evaluator = Evaluator()
    pairs = [(SQUARE, f"def f(x):\n    return x * {k} * x // {k}\n") for k in range(1, 5)]
    executions = evaluator.evaluate_many(pairs, jobs=4)
    assert [e.verdict for e in executions] == ["pass"] * 4
    assert evaluator.reference_runs == 1


def test_evaluate_many_keeps_input_order(evaluator):
    pairs = [
        (SQUARE, "def f(x):\n    return x * x\n"),
        (SQUARE, None),
        (SQUARE, "def f(x):\n    return 0\n"),
        (SQUARE, "def f(x) return"),
    ]
    verdicts = [e.verdict for e in evaluator.evaluate_many(pairs, jobs=2)]
    assert verdicts == ["pass", "no_code", "fail", "syntax"]


def test_save_execution_writes_a_row(db, evaluator):
    execution = evaluator.evaluate(SQUARE, "def f(x):\n    print('hi')\n    return -x\n")
    row_id = save_execution(db, execution, problem_id=SQUARE.id)
    row = db["executions"].get(row_id)
    assert (row["verdict"], row["passed"], row["total"]) == ("fail", 0, 3)
    assert row["generation_id"] is None
    assert json.loads(row["first_failure"])["actual"] == "-2"
    assert row["stdout"] == "hi\n" * 3
    assert json.loads(row["sandbox"])["RLIMIT_AS"] == execution.sandbox["RLIMIT_AS"]
    assert row["suggested_score"] == 0.0


def test_execution_is_a_frozen_value():
    execution = Execution(verdict="pass", passed=1, total=1)
    with pytest.raises(AttributeError):
        execution.verdict = "fail"  # type: ignore[misc]


# ------------------------------------------------------------ gradebench problems check


def test_problems_check_passes_on_the_demo_suite(cli, demo_suite_dir):
    checked = cli("problems", "check", "--suite", demo_suite_dir)
    assert checked.code == 0
    out = checked.out
    assert "demo/counter-class  pass 2/2" in out
    assert "demo/add-two" in out and "fail 0/3" in out


def test_problems_check_flags_a_wrong_reference_and_a_stub_that_passes(cli, tmp_path):
    suite = tmp_path / "shaky"
    suite.mkdir()
    good = (TEST_DATA / "problems" / "demo" / "add-two.toml").read_text()
    (suite / "a-wrong-reference.toml").write_text(good.replace("return a + b", "return a - b"))
    (suite / "b-nothing.toml").write_text(
        good.replace("return a + b", "return None").replace('expected = "5"', 'expected = "None"')
    )
    checked = cli("problems", "check", "--suite", suite)
    assert checked.code == 1
    out = checked.out
    assert "reference fails test 0" in out
    assert "a stub returning None passes every test" in out


# ------------------------------------------------------------ gradebench failing on one answer


def _fail_on_boom(monkeypatch) -> None:
    """Make gradebench itself fail (a KeyError past the sandbox) on any answer holding
    the word BOOM: what a bug would do, to see each entry point contain it."""
    original = Evaluator._statuses

    def statuses(self, problem, expected, order, result):
        if "BOOM" in result.stdout:
            raise KeyError(0)
        return original(self, problem, expected, order, result)

    monkeypatch.setattr(Evaluator, "_statuses", statuses)


BOOM = "print('BOOM')\ndef add(a, b):\n    return a + b\n"


def test_a_failure_of_gradebench_on_one_answer_is_its_error_verdict_and_logged(
    monkeypatch, demo_suite_dir, tmp_path
):
    _fail_on_boom(monkeypatch)
    problem = load_suite(str(demo_suite_dir)).by_id()["demo/add-two"]
    execution = Evaluator().evaluate_safely(problem, BOOM)
    assert execution.verdict == "error"
    log = tmp_path / "gradebench.log"
    assert execution.internal_error.startswith("internal error while evaluating")
    assert "KeyError: 0" in execution.internal_error and str(log) in execution.internal_error
    assert "\n" not in execution.internal_error
    assert execution.first_failure["message"] == execution.internal_error
    assert "Traceback" in log.read_text() and "KeyError: 0" in log.read_text()
    assert Evaluator().evaluate_safely(problem, BOOM.replace("BOOM", "fine")).verdict == "pass"


def test_evaluate_command_gives_every_sample_a_row_when_gradebench_fails_on_one(
    monkeypatch, cli, demo_suite_dir, tmp_path
):
    _fail_on_boom(monkeypatch)
    good = "def add(a, b):\n    return a + b\n"
    samples = tmp_path / "samples.jsonl"
    codes = [good, BOOM, good, "def add(a, b):\n    return 0\n"]
    samples.write_text(
        "".join(json.dumps({"task_id": "demo/add-two", "solution": c}) + "\n" for c in codes)
    )
    captured = cli("evaluate", str(samples), "--suite", str(demo_suite_dir), "--jobs", "2")
    assert captured.code == 1
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["verdict"] for r in rows] == ["pass", "error", "pass", "fail"]
    assert "internal_error" in rows[1] and "internal_error" not in rows[0]
    assert "1 samples not evaluated" in captured.err
    assert "Traceback" not in captured.err
    assert "Traceback" in (tmp_path / "gradebench.log").read_text()


def test_problems_check_reports_a_failure_of_gradebench_apart(
    monkeypatch, cli, demo_suite_dir, tmp_path
):
    suite = tmp_path / "boom"
    suite.mkdir()
    text = (demo_suite_dir / "add-two.toml").read_text()
    (suite / "add-two.toml").write_text(
        text.replace("return a + b", "print('BOOM')\n    return a + b")
    )
    (suite / "add-three.toml").write_text(text)
    _fail_on_boom(monkeypatch)
    captured = cli("problems", "check", "--suite", str(suite))
    assert captured.code == 1
    assert "boom/add-three  pass 3/3" in captured.out
    assert "internal error while evaluating" in captured.out
    assert "1 not checked" in captured.err and "Traceback" not in captured.err
