"""The app's test runs yield to the streams on screen: a run that starts while a
``SCREEN``-priority lease generates is niced (process and scheduling autogroup), one that
starts while only look-ahead generates, or nothing, is not. Real sandbox runs through the
evaluator the grading screen's pipeline builds."""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.answers.pipeline import (
    SCREEN_TEST_NICENESS,
    AnswerPipeline,
    niceness_of_test_runs,
)
from gradebench.engine.generation.thread_budget import LOOK_AHEAD, SCREEN, ThreadBudget
from gradebench.engine.problems.model import Problem, TestCase

PROBLEM = Problem(
    id="priority/add",
    suite="priority",
    title="Add",
    difficulty="easy",
    statement="Add two numbers.",
    entry_point="add",
    signature="def add(a: int, b: int) -> int:",
    reference="def add(a, b):\n    return a + b\n",
    tests=(TestCase(args=(1, 2)), TestCase(args=(3, 4))),
)
ANSWER = "def add(a, b):\n    return a + b\n"


def _run_with(priority: int | None, db_path: Path) -> dict:
    budget = ThreadBudget(2)
    lease = None
    if priority is not None:
        lease = budget.acquire("stream", priority=priority)
        assert lease.sync() >= 1  # generating: its threads are in use
    try:
        pipeline = AnswerPipeline(db_path, backend=None)
        execution = pipeline.evaluator.evaluate(PROBLEM, ANSWER)
    finally:
        if lease is not None:
            lease.release()
    assert execution.verdict == "pass"
    return execution.sandbox


def test_a_test_run_beside_a_stream_on_screen_is_niced(db_path: Path) -> None:
    assert niceness_of_test_runs() == 0
    sandbox = _run_with(SCREEN, db_path)
    assert SCREEN_TEST_NICENESS > 0
    assert sandbox["niceness"] == SCREEN_TEST_NICENESS
    assert sandbox["autogroup_niceness"] == SCREEN_TEST_NICENESS


def test_a_test_run_beside_look_ahead_only_or_nothing_runs_at_normal_priority(
    db_path: Path,
) -> None:
    for priority in (LOOK_AHEAD, None):
        sandbox = _run_with(priority, db_path)
        assert "niceness" not in sandbox and "autogroup_niceness" not in sandbox
