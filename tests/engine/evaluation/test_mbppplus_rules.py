"""MBPP+'s comparison rules (EvalPlus 0.3.1's special oracles), on decoded values and
through the real sandbox."""

from __future__ import annotations

import re

import pytest

from gradebench.engine.evaluation.compare import Opaque, outputs_match, text_match_allowed
from gradebench.engine.evaluation.evaluator import Evaluator
from gradebench.engine.problems.model import Problem, TestCase


def rule_problem(compare: str, reference: str = "def f(*a):\n    return None\n", **fields):
    return Problem(
        id=fields.pop("id", f"Mbpp+/{compare}"),
        suite="mbpp+",
        title="t",
        difficulty="unrated",
        statement="",
        entry_point=fields.pop("entry_point", "f"),
        signature="def f(*a):",
        reference=reference,
        tests=fields.pop("tests", (TestCase(args=(1,)),)),
        compare=compare,
        **fields,
    )


def match(compare: str, expected, actual, args=(1,), atol: float = 0.0) -> bool:
    problem = rule_problem(compare, atol=atol)
    return outputs_match(problem, TestCase(args=args), expected, actual)


def test_set_rule_compares_as_sets_and_fails_what_cannot_be_a_set():
    assert match("evalplus_set", (4, 5), [5, 4, 4])
    assert not match("evalplus_set", (4, 5), (4,))
    assert not match("evalplus_set", [[1]], [[1]])  # unhashable: EvalPlus's set() raises
    assert not match("evalplus_set", (1,), 1)


def test_not_none_rule_keeps_only_whether_the_reference_gave_none():
    match_object = Opaque("Match", "")
    assert match("evalplus_not_none", match_object, Opaque("Match", ""))
    assert match("evalplus_not_none", match_object, "any text")
    assert match("evalplus_not_none", None, None)
    assert not match("evalplus_not_none", match_object, None)
    assert match("evalplus_not_none", match_object, True)
    assert not match("evalplus_not_none", match_object, False)
    # a bool reference output is "not None": True; a False answer does not equal it
    assert not match("evalplus_not_none", False, False)


def test_any_rule_passes_every_returned_value():
    assert match("evalplus_any", True, False) and match("evalplus_any", 1, Opaque("X", ""))


def test_or_zero_rule_also_passes_zero():
    assert match("evalplus_or_zero", 7, 7) and match("evalplus_or_zero", 7, 0)
    assert not match("evalplus_or_zero", 7, 6)


def test_surface_area_rule_accepts_the_corrected_formula():
    # base 3, height 4: slant sqrt(2.25 + 16) = 4.272; 9 + 2 * 3 * 4.272 = 34.63 -> 35
    assert match("evalplus_surface_area", 33, 35, args=(3, 4))
    assert match("evalplus_surface_area", 33, 33, args=(3, 4))
    assert not match("evalplus_surface_area", 33, 34, args=(3, 4))
    assert not match("evalplus_surface_area", 33, "35", args=(3, 4))


def test_digit_distance_rule_pads_with_zeros_and_fails_on_a_sign():
    assert match("evalplus_digit_distance", 99, 1 + 2, args=(123, 21))  # 123 vs 021: 1+0+2
    assert not match("evalplus_digit_distance", 99, 98, args=(123, 21))
    assert not match("evalplus_digit_distance", 5, 6, args=(-12, 3))


def test_floats_get_evalplus_tolerance_after_a_special_rule():
    assert match("evalplus_or_zero", 0.1 + 0.2, 0.3)
    assert not match("evalplus_or_zero", 0.1, 0.2)


def test_an_identical_output_text_is_not_passed_on_sight_under_the_special_rules():
    assert text_match_allowed("evalplus") and text_match_allowed("exact")
    for rule in ("evalplus_set", "evalplus_not_none", "poly_root", "evalplus_surface_area"):
        assert not text_match_allowed(rule)


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator()


def test_a_reference_returning_false_fails_an_identical_answer_under_not_none(evaluator):
    # EvalPlus keeps "not None" (True) as the expected value; a bool answer must equal it
    problem = rule_problem(
        "evalplus_not_none",
        "def f(x):\n    return False\n",
        id="Mbpp+/not-none-false",
        tests=(TestCase(args=(1,)),),
    )
    execution = evaluator.evaluate(problem, "def f(x):\n    return False\n")
    assert execution.verdict == "fail"
    matched = evaluator.evaluate(problem, "import re\ndef f(x):\n    return re.match('a', 'a')\n")
    assert matched.verdict == "pass"


def test_a_counter_answer_passes_against_a_dict_reference_as_in_evalplus(evaluator):
    problem = rule_problem(
        "evalplus",
        "def f(xs):\n    out = {}\n    for x in xs:\n        out[x] = out.get(x, 0) + 1\n"
        "    return out\n",
        id="Mbpp+/counter",
        tests=(TestCase(args=([1, 1, 2],)), TestCase(args=([],))),
    )
    counter = "import collections\ndef f(xs):\n    return collections.Counter(xs)\n"
    assert evaluator.evaluate(problem, counter).verdict == "pass"
    ordered = "import collections\ndef f(xs):\n    return collections.OrderedDict((x, xs.count(x)) for x in xs)\n"
    assert evaluator.evaluate(problem, ordered).verdict == "pass"
    wrong = "import collections\ndef f(xs):\n    return collections.Counter(xs + [9])\n"
    assert evaluator.evaluate(problem, wrong).verdict == "fail"


def test_mbppplus_tuple_inputs_reach_the_answer_as_tuples(evaluator):
    problem = rule_problem(
        "evalplus",
        "def f(t):\n    return type(t).__name__\n",
        id="Mbpp+/tuple-input",
        tests=(TestCase(args=((1, 2),)),),
    )
    assert evaluator.evaluate(problem, "def f(t):\n    return 'tuple'\n").verdict == "pass"
    assert re.fullmatch(
        r"fail|error", evaluator.evaluate(problem, "def f(t):\n    return 'list'\n").verdict
    )


def test_only_the_standard_librarys_dict_subclasses_travel_as_dicts():
    import collections

    from gradebench.engine.evaluation import harness

    class Mine(collections.Counter):
        pass

    counted = harness.decode(harness.encode(collections.Counter("aab")), Opaque)
    assert counted == {"a": 2, "b": 1} and type(counted) is dict
    assert harness.decode(harness.encode(collections.defaultdict(int, x=1)), Opaque) == {"x": 1}
    assert isinstance(harness.decode(harness.encode(Mine("aab")), Opaque), Opaque)
