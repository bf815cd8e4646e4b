"""Verdicts under load: a test run starved by other work (here an artificial CPU hog at
normal priority beside a sandbox child niced to 19, as the app's tests run below its
streams) is told from a slow answer by the child's CPU time, marked ``inconclusive`` and
passes when run again on a quiet machine; a slow answer stays ``timeout``. Real sandbox
runs; the hog is real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from gradebench.engine.evaluation.evaluator import Evaluator
from gradebench.engine.evaluation.sandbox_job import SandboxLimits
from gradebench.engine.problems.model import Problem, TestCase

# ~0.3 s of CPU on this machine: well within 1 s alone, far beyond it when starved
WORK = """
def busy(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total
"""
PROBLEM = Problem(
    id="load/busy",
    suite="load",
    title="Busy",
    difficulty="easy",
    statement="Sum i % 7 below n.",
    entry_point="busy",
    signature="def busy(n: int) -> int:",
    reference="def busy(n):\n    return sum(i % 7 for i in range(n))\n",
    tests=(TestCase(args=(3_000_000,)),),
    time_limit=1.0,  # one budget, whatever the reference's own time was
)


@pytest.fixture
def hog() -> Iterator[Callable[[], list[subprocess.Popen]]]:
    """Starts busy loops at normal priority, two per core (killed at the end)."""
    hogs: list[subprocess.Popen] = []

    def start() -> list[subprocess.Popen]:
        hogs.extend(
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2 * (os.cpu_count() or 1))
        )
        time.sleep(0.5)  # every loop is spinning
        return hogs

    yield start
    for process in hogs:
        process.kill()
        process.wait()


def _evaluator() -> Evaluator:
    return Evaluator(
        limits=SandboxLimits(niceness=19),
        min_time_limit=1.0,
        time_factor=1.0,
        confirm_timeouts=False,
    )


def test_a_starved_run_is_inconclusive_and_passes_when_run_again_on_a_quiet_machine(hog):
    evaluator = _evaluator()
    evaluator.expected(PROBLEM)  # the reference's outputs, before the hog
    hogs = hog()
    starved = evaluator.evaluate(PROBLEM, WORK)
    assert starved.verdict == "inconclusive", starved.sandbox
    assert starved.sandbox["starved"] is True
    assert starved.sandbox["cpu_seconds"] < 0.3 * starved.seconds
    assert starved.sandbox["wait_seconds"] > 0.3 * starved.seconds  # waiting for a CPU
    assert starved.sandbox["load_average"] is not None
    for process in hogs:
        process.kill()
        process.wait()
    for _ in range(3):  # a shared machine may still be busy: starved again, never failed
        again = evaluator.evaluate(PROBLEM, WORK)
        assert again.verdict in ("pass", "inconclusive"), again.sandbox
        if again.verdict == "pass":
            break
    assert again.verdict == "pass", again.sandbox
    assert again.sandbox["starved"] is False


def test_a_slow_answer_is_still_a_timeout():
    evaluator = _evaluator()
    slow = evaluator.evaluate(PROBLEM, "def busy(n):\n    while True:\n        pass\n")
    assert slow.verdict == "timeout", slow.sandbox
    assert slow.sandbox["starved"] is False
    assert slow.sandbox["cpu_seconds"] >= 0.3 * slow.seconds


def test_a_sleeping_answer_is_a_timeout_not_starved():
    """No CPU used, but none waited for either: the answer's own doing."""
    sleepy = _evaluator().evaluate(PROBLEM, "import time\ndef busy(n):\n    time.sleep(60)\n")
    assert sleepy.verdict == "timeout", sleepy.sandbox
    assert sleepy.sandbox["cpu_seconds"] < 0.3 * sleepy.seconds
    assert sleepy.sandbox["wait_seconds"] < 0.3 * sleepy.seconds
