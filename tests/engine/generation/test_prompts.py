"""Prompt styles: the built-in plain and chain-of-thought templates, and config overrides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gradebench.engine.config import load_config
from gradebench.engine.errors import UserError
from gradebench.engine.generation.prompts import (
    PROMPT_STYLES,
    PromptTemplates,
    build_prompt,
    load_prompt_templates,
    statement_is_code,
)
from gradebench.engine.problems.model import Problem
from gradebench.engine.problems.suites.files import load_directory
from tests.conftest import REPO, TEST_DATA


@pytest.fixture
def demo(demo_suite_dir: Path) -> dict[str, Problem]:
    load = load_directory(demo_suite_dir, "demo")
    assert not load.errors
    return {problem.entry_point: problem for problem in load.problems}


@pytest.fixture(scope="module")
def humaneval_problem() -> Problem:
    """HumanEval/0 as the humaneval suite adapter builds it from the installed package."""
    from gradebench.engine.problems.suites.humaneval import load_humaneval

    return load_humaneval().by_id()["HumanEval/0"]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gradebench.toml"
    path.write_text(text, encoding="utf-8")
    return path


def python_blocks(prompt: str) -> list[str]:
    """The contents of the prompt's ```python fences."""
    parts = prompt.split("```python\n")[1:]
    return [part.split("\n```")[0] for part in parts]


def test_the_two_builtin_styles_are_plain_and_cot():
    assert PROMPT_STYLES == ("plain", "cot")
    assert PromptTemplates().styles == ("plain", "cot")


def test_plain_prompt_for_a_lowcost_style_problem_has_statement_signature_and_one_block_rule(demo):
    add = demo["add"]
    prompt = build_prompt(add, "plain")
    assert prompt.startswith("Return the sum of the integers `a` and `b`.")
    assert "Example: `add(2, 3)` returns `5`." in prompt
    assert python_blocks(prompt) == ["def add(a: int, b: int) -> int:"]
    assert "single ```python code block" in prompt
    assert "Do not include tests, example usage" in prompt
    assert "step by step" not in prompt
    assert "{" not in prompt.replace("{{", "")  # every placeholder was filled


def test_cot_prompt_asks_to_restate_list_edge_cases_and_plan_before_the_code(demo):
    prompt = build_prompt(demo["distinct"], "cot")
    restate = prompt.index("Restate the task")
    edge = prompt.index("edge cases")
    plan = prompt.index("short plan")
    code = prompt.index("single ```python code block")
    assert restate < edge < plan < code
    assert "Return the distinct values of `items`" in prompt
    assert "def distinct(items: list[int]) -> list[int]:" in python_blocks(prompt)


def test_a_class_problem_asks_for_a_class_not_a_function(demo):
    prompt = build_prompt(demo["Counter"], "plain")
    assert "Python class `Counter`" in prompt
    assert "one complete Python class" in prompt
    assert "Python function" not in prompt


def test_a_humaneval_statement_is_shown_as_code_to_complete(humaneval_problem):
    assert statement_is_code(humaneval_problem)
    for style in PROMPT_STYLES:
        prompt = build_prompt(humaneval_problem, style)
        assert prompt.startswith("Complete this Python code:\n\n```python\nfrom typing import List")
        blocks = python_blocks(prompt)
        assert blocks[0] == humaneval_problem.code_prompt.strip("\n").rstrip()  # intact, fenced
        defined = [n.name for n in ast.parse(blocks[0]).body if isinstance(n, ast.FunctionDef)]
        assert defined[-1] == humaneval_problem.entry_point  # the code to complete parses
        assert blocks[1] == humaneval_problem.signature
        assert prompt.count(humaneval_problem.code_prompt.strip()) == 1


def test_a_plain_english_statement_is_not_mistaken_for_code(demo):
    assert not statement_is_code(demo["add"])


def test_statement_braces_are_sent_as_written(demo):
    problem = demo["add"]
    tricky = Problem(**{**problem.__dict__, "statement": "Return {a: b} for {x} in `d`."})
    assert build_prompt(tricky, "plain").startswith("Return {a: b} for {x} in `d`.")


def test_config_overrides_plain_and_adds_a_named_style(tmp_path, demo):
    path = write_config(
        tmp_path,
        '[prompts]\nplain = "Task {title}: {statement}\\nName: {entry_point}"\n'
        'terse = "{statement}\\n{signature}\\nCode only, {kind}, {difficulty}."\n',
    )
    templates = load_prompt_templates(load_config(str(path)))
    assert templates.styles == ("plain", "cot", "terse")
    add = demo["add"]
    assert build_prompt(add, "plain", templates).startswith("Task Add two numbers: Return the sum")
    assert build_prompt(add, "plain", templates).endswith("Name: add\n")
    assert build_prompt(add, "cot", templates) == build_prompt(add, "cot")  # not overridden
    assert build_prompt(add, "terse", templates).endswith(
        "def add(a: int, b: int) -> int:\nCode only, function, easy.\n"
    )


def test_no_prompts_table_means_the_builtin_templates(tmp_path):
    path = write_config(tmp_path, '[paths]\ndb = "x.db"\n')
    assert load_prompt_templates(load_config(str(path))) == PromptTemplates()


@pytest.mark.parametrize(
    ("toml_value", "message"),
    [
        ('plain = "{statement} {answer}"', "prompts.plain: unknown placeholder {answer}"),
        ('cot = "Solve {title}."', "prompts.cot: the template must contain {statement}"),
        ('plain = "{statement"', "prompts.plain: not a valid template"),
        ('plain = "{statement!r}"', "prompts.plain: placeholder {statement} takes no conversion"),
        ('plain = "{} {statement}"', "prompts.plain: unknown placeholder {}"),
        ("plain = 3", "prompts.plain: must be a non-empty string"),
        ('"bad name" = "{statement}"', "prompts.bad name: a style name is letters"),
        ('mine = "{statement} {0}"', "prompts.mine: unknown placeholder {0}"),
    ],
)
def test_a_bad_template_is_a_one_line_error_naming_the_file_and_key(tmp_path, toml_value, message):
    path = write_config(tmp_path, f"[prompts]\n{toml_value}\n")
    with pytest.raises(UserError) as caught:
        load_prompt_templates(load_config(str(path)))
    text = str(caught.value)
    assert text.startswith(f"{path}: ")
    assert "gradebench.toml: " + message in text
    assert "\n" not in text


def test_prompts_that_is_not_a_table_is_an_error(tmp_path):
    path = write_config(tmp_path, 'prompts = "plain"\n')
    with pytest.raises(UserError, match=r"gradebench.toml: \[prompts\] must be a table"):
        load_prompt_templates(load_config(str(path)))


def test_an_unknown_style_names_the_known_ones(demo):
    with pytest.raises(
        UserError, match=r"prompt style 'fancy' is not defined \(known: plain, cot\)"
    ):
        build_prompt(demo["add"], "fancy")


def test_the_readme_example_config_loads_and_renders(tmp_path, demo):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Prompts and code extraction\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("````toml\n", 1)[1].split("\n````", 1)[0]
    templates = load_prompt_templates(load_config(str(write_config(tmp_path, example))))
    assert templates.styles == ("plain", "cot", "terse")
    prompt = build_prompt(demo["add"], "plain", templates)
    assert python_blocks(prompt) == ["def add(a: int, b: int) -> int:"]
    assert build_prompt(demo["add"], "terse", templates).endswith("Code only.\n")


def test_cli_prompts_show_prints_exactly_the_built_prompt(demo_suite_dir, demo, cli):
    shown = cli(
        "prompts", "show", "--suite", demo_suite_dir, "--problem", "add-two", "--style", "cot"
    )
    assert shown.code == 0
    assert shown.out == build_prompt(demo["add"], "cot")


def test_cli_prompts_styles_lists_config_styles_with_their_file(tmp_path, cli):
    path = write_config(tmp_path, '[prompts]\nterse = "{statement}"\n')
    listed = cli("--config", path, "prompts", "styles")
    assert listed.code == 0
    assert listed.out.splitlines() == [
        "plain\tbuilt in",
        "cot\tbuilt in",
        f"terse\t{path}",
    ]


def test_cli_bad_template_is_one_line_on_stderr_and_exit_2(tmp_path, cli):
    path = write_config(tmp_path, '[prompts]\nplain = "{statement} {answer}"\n')
    captured = cli("--config", path, "prompts", "styles")
    assert captured.code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"gradebench: {path}: prompts.plain: unknown placeholder")


def test_cli_prompts_extract_reports_method_notes_and_code(demo_suite_dir, cli):
    answer = TEST_DATA / "answers" / "09-print-call-in-block.md"
    extracted = cli("prompts", "extract", answer, "--suite", demo_suite_dir, "--problem", "add-two")
    assert extracted.code == 0
    out = extracted.out
    assert out.startswith("method: fenced\nfollowed format: no\ndefines add: yes\nnote: removed 1")
    assert out.endswith("---\ndef add(a: int, b: int) -> int:\n    return a + b\n")


def test_cli_unknown_problem_is_a_one_line_error(demo_suite_dir, cli):
    shown = cli("prompts", "show", "--suite", demo_suite_dir, "--problem", "nope")
    assert shown.code == 2
    assert shown.err == f"gradebench: --problem nope: not in suite {demo_suite_dir} (3 problems)\n"
