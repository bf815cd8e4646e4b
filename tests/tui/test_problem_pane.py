"""The problem column shows every test of every built-in problem, whatever its values."""

from __future__ import annotations

from gradebench.engine.problems.model import TestCase
from gradebench.engine.problems.suites import load_suite
from gradebench.tui.widgets.problem_pane import TESTS_SHOWN
from gradebench.tui.widgets.problem_pane import tests_source as shown_tests
from tests.seed import make_problem


def test_every_lowcost60_problem_shows_its_tests():
    for problem in load_suite("lowcost60").problems:
        source = shown_tests(problem)
        shown = min(len(problem.tests), TESTS_SHOWN)
        assert source.count(f"  # {shown - 1}: -> ") == 1, problem.id


def test_an_integer_past_pythons_digit_limit_is_described_not_printed():
    # int -> str refuses more than 4300 digits: this once crashed the app on lowcost60 e20
    huge = 10**5000
    problem = make_problem(tests=(TestCase(args=(huge, 3), expected=huge),))

    source = shown_tests(problem)

    assert "f(<int of about 5,001 digits>, 3)" in source
    assert "-> <int of about 5,001 digits>" in source
