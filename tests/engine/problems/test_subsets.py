"""Subsets of a suite: ids, globs, difficulty, tag, a file of ids, a seeded sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import Problem, TestCase
from gradebench.engine.problems.subsets import Subset, parse_subset, subset_spec


def problem(number: int, difficulty: str = "easy", tags: tuple[str, ...] = ()) -> Problem:
    return Problem(
        id=f"Mbpp+/{number}",
        suite="mbpp+",
        title=f"p{number}",
        difficulty=difficulty,
        statement="",
        entry_point="f",
        signature="def f(x):",
        reference="def f(x):\n    return x\n",
        tests=(TestCase(args=(1,)),),
        tags=tags,
        extra={"task_id": f"Mbpp/{number}"},
    )


SUITE = [
    problem(2, "easy", ("lists",)),
    problem(11, "medium", ("strings",)),
    problem(12, "hard", ("lists", "math")),
    problem(17, "easy", ("math",)),
    problem(101, "medium"),
    problem(230, "hard", ("strings",)),
]


def ids(problems: list[Problem]) -> list[str]:
    return [p.id for p in problems]


def test_the_empty_subset_keeps_every_problem_in_order():
    assert Subset().is_everything()
    assert ids(Subset().select(SUITE)) == ids(SUITE)


def test_ids_match_the_problem_id_or_the_data_sets_task_id_and_keep_suite_order():
    chosen = Subset(ids=("Mbpp/17", "Mbpp+/2")).select(SUITE)
    assert ids(chosen) == ["Mbpp+/2", "Mbpp+/17"]


def test_a_glob_matches_task_ids_and_problem_ids():
    assert ids(Subset(ids=("Mbpp/1*",)).select(SUITE)) == [
        "Mbpp+/11",
        "Mbpp+/12",
        "Mbpp+/17",
        "Mbpp+/101",
    ]
    assert ids(Subset(ids=("Mbpp+/?",)).select(SUITE)) == ["Mbpp+/2"]


def test_difficulty_and_tag_combine_with_ids():
    assert ids(Subset(difficulties=("hard",)).select(SUITE)) == ["Mbpp+/12", "Mbpp+/230"]
    assert ids(Subset(tags=("math",)).select(SUITE)) == ["Mbpp+/12", "Mbpp+/17"]
    assert ids(Subset(ids=("Mbpp/1*",), tags=("math",), difficulties=("easy",)).select(SUITE)) == [
        "Mbpp+/17"
    ]


def test_a_file_of_ids_with_comments_and_globs(tmp_path: Path):
    path = tmp_path / "ids.txt"
    path.write_text("# my study\nMbpp/2\n\nMbpp/23*  # the 230s\n")
    assert ids(Subset(ids_file=path).select(SUITE)) == ["Mbpp+/2", "Mbpp+/230"]


def test_a_seeded_sample_is_the_same_every_time_and_changes_with_the_seed():
    first = ids(Subset(sample=3, seed=1).select(SUITE))
    assert first == ids(Subset(sample=3, seed=1).select(SUITE))
    assert len(first) == 3 and first == [i for i in ids(SUITE) if i in first]
    others = {tuple(ids(Subset(sample=3, seed=s).select(SUITE))) for s in range(2, 12)}
    assert len(others | {tuple(first)}) > 1


@pytest.mark.parametrize(
    ("subset", "message"),
    [
        (Subset(ids=("Mbpp/999",)), "id 'Mbpp/999': no such problem in suite mbpp+"),
        (Subset(ids=("Zz/*",)), "id glob 'Zz/*' matches no problem in suite mbpp+"),
        (Subset(tags=("nope",)), "tag nope: no problem in suite mbpp+"),
        (Subset(difficulties=("unrated",)), "difficulty unrated: no problem in suite mbpp+"),
        (Subset(sample=7), "--sample 7: only 6 problems to sample from in suite mbpp+"),
        (Subset(ids_file=Path("/nonexistent/ids.txt")), "/nonexistent/ids.txt: ids file not found"),
    ],
)
def test_a_subset_that_cannot_be_taken_is_one_line_naming_what(subset: Subset, message: str):
    with pytest.raises(UserError) as caught:
        subset.select(SUITE, "mbpp+")
    assert str(caught.value) == message


def test_the_text_form_reads_ids_and_keys():
    subset = parse_subset("Mbpp/1*, Mbpp/2 tag:math difficulty:easy sample:2 seed:5")
    assert subset == Subset(
        ids=("Mbpp/1*", "Mbpp/2"),
        tags=("math",),
        difficulties=("easy",),
        sample=2,
        seed=5,
    )
    assert parse_subset(subset_spec(subset)) == subset
    assert parse_subset("") == Subset()
    with pytest.raises(UserError, match="sample must be a whole number"):
        parse_subset("sample:many")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(max_size=60))
def test_any_typed_text_is_a_subset_or_one_user_error(text: str):
    try:
        subset = parse_subset(text)
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    try:
        subset.select(SUITE)
    except UserError as exc:
        assert "\n" not in str(exc)
