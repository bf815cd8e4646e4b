"""Problem files: the TOML format loads, and bad files are named, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import MISSING
from gradebench.engine.problems.suites import load_suite
from gradebench.engine.problems.suites.files import load_directory, load_problem_file
from tests.conftest import TEST_DATA


def test_demo_suite_loads_with_every_kind_of_test(demo_suite_dir):
    load = load_directory(demo_suite_dir)
    assert not load.errors
    problems = load.by_id()
    add = problems["demo/add-two"]
    assert add.tests[0].args == (2, 3) and add.tests[0].expected == 5
    assert add.tests[1].expected is MISSING
    assert problems["demo/unique-sorted"].compare == "unordered"
    assert len(problems["demo/unique-sorted"].tests[2].args[0]) == 2000
    counter = problems["demo/counter-class"]
    assert counter.kind == "class" and counter.time_limit == 2.0
    assert counter.tests[0].args == (
        (5,),
        [("bump", ()), ("bump", ()), ("reset", ()), ("bump", ())],
    )


def test_bad_files_are_reported_and_the_rest_still_loads():
    load = load_directory(TEST_DATA / "problems" / "broken")
    assert [p.id for p in load.problems] == ["broken/good"]
    messages = sorted(str(e) for e in load.errors)
    assert any("no-entry.toml: entry_point: missing" in m for m in messages)
    assert any("not-toml.toml" in m and "not valid TOML" in m for m in messages)
    assert any("bad-difficulty.toml" in m for m in messages)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ('difficulty = "trivial"', "difficulty"),
        ('compare = "fuzzy"', "compare"),
        ("atol = -1", "atol"),
        ('colour = "red"', "colour"),
        ("time_limit = 0", "time_limit"),
    ],
)
def test_each_bad_field_is_named(tmp_path: Path, patch: str, field: str):
    text = (TEST_DATA / "problems" / "demo" / "add-two.toml").read_text()
    key = patch.split(" =")[0]
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    path = tmp_path / "p.toml"
    path.write_text(patch + "\n" + "\n".join(lines) + "\n")
    error = load_problem_file(path, "x")
    assert not hasattr(error, "tests"), error
    assert error.field == field and str(path) in str(error)


def test_a_test_expression_that_fails_names_the_test(tmp_path: Path):
    text = (TEST_DATA / "problems" / "demo" / "add-two.toml").read_text()
    path = tmp_path / "p.toml"
    path.write_text(text.replace('args = "(2, 3)"', "args = \"(open('/etc/passwd'),)\""))
    error = load_problem_file(path, "x")
    assert error.field == "tests[0].args" and "NameError" in error.message


def test_unknown_suite_is_a_user_error():
    with pytest.raises(UserError, match="unknown suite 'nope'"):
        load_suite("nope")
