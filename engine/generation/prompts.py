"""Prompt styles: the exact user message a contender's model is sent for a problem.

Two built-in styles, after the low-cost-models study gradebench reproduces:

* ``plain``: the task and the signature, asking for one complete function (or
  class) in a single ```` ```python ```` block, with no tests or examples;
* ``cot`` (chain of thought): the same task, but the model first restates it,
  lists edge cases and writes a short plan, then gives the code in one block.

Templates are ``str.format`` strings with these placeholders:

``{statement}``  the task. A plain-English statement is inserted as written; a
                 statement that is code (HumanEval's prompt: imports, ``def``
                 line, docstring) is inserted inside a ```` ```python ```` fence
                 after "Complete this Python code:".
``{signature}``  the ``def``/``class`` line(s) the answer must provide
``{entry_point}`` the name the answer must define
``{title}``      the problem's title
``{kind}``       ``function`` or ``class``
``{difficulty}`` ``easy``, ``medium``, ``hard`` or ``unrated``

The ``[prompts]`` table of ``gradebench.toml`` overrides ``plain`` and ``cot`` and may
add styles of its own under any other name (letters, digits, ``-``, ``_``). Every
template must contain ``{statement}``; literal braces are written ``{{`` and ``}}``.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import Problem

PROMPT_STYLES: tuple[str, ...] = ("plain", "cot")
PLACEHOLDERS: tuple[str, ...] = (
    "statement",
    "signature",
    "entry_point",
    "title",
    "kind",
    "difficulty",
)
_STYLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

DEFAULT_PLAIN = """\
{statement}

Write the Python {kind} `{entry_point}` with exactly this signature:

```python
{signature}
```

Reply with one complete Python {kind} in a single ```python code block, including any \
imports and helper functions it needs. Do not include tests, example usage or explanations.
"""

DEFAULT_COT = """\
{statement}

The answer must define the Python {kind} `{entry_point}` with exactly this signature:

```python
{signature}
```

Think step by step before writing any code:
1. Restate the task in your own words.
2. List the edge cases (empty input, single element, negative numbers, duplicates, \
large values) and what the {kind} must do for each.
3. Write a short plan of the solution.

Then give the complete {kind} in a single ```python code block, including any imports \
and helper functions it needs. Do not put tests or example usage in the code block.
"""


@dataclass(frozen=True)
class PromptTemplates:
    """The template of each prompt style: the two built-ins plus any from the config."""

    plain: str = DEFAULT_PLAIN
    cot: str = DEFAULT_COT
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """User-defined styles, name -> template, in the order the config lists them."""

    @property
    def styles(self) -> tuple[str, ...]:
        return (*PROMPT_STYLES, *self.extra)

    def template(self, style: str) -> str:
        if style == "plain":
            return self.plain
        if style == "cot":
            return self.cot
        if style in self.extra:
            return self.extra[style]
        raise UserError(f"prompt style {style!r} is not defined (known: {', '.join(self.styles)})")


def check_template(template: str, where: str) -> None:
    """Raise ``UserError`` naming ``where`` if the template cannot be rendered."""
    try:
        fields = [
            (name, conversion, spec)
            for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None
        ]
    except ValueError as exc:
        raise UserError(
            f"{where}: not a valid template ({exc}; write literal braces as {{{{ }}}})"
        ) from None
    known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
    names = set()
    for name, conversion, spec in fields:
        if name not in PLACEHOLDERS:
            shown = "{" + name + "}" if name else "{}"
            raise UserError(f"{where}: unknown placeholder {shown} (known: {known})")
        if conversion or spec:
            raise UserError(f"{where}: placeholder {{{name}}} takes no conversion or format spec")
        names.add(name)
    if "statement" not in names:
        raise UserError(f"{where}: the template must contain {{statement}}")


def load_prompt_templates(config: Config) -> PromptTemplates:
    """The built-in templates with the ``[prompts]`` table of ``gradebench.toml`` applied."""
    section = config.section("prompts")
    values: dict[str, str] = {}
    extra: dict[str, str] = {}
    for key, value in section.items():
        where = f"{config.where}: prompts.{key}"
        if not _STYLE_NAME.match(key):
            raise UserError(f"{where}: a style name is letters, digits, '-' and '_'")
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where}: must be a non-empty string (the template)")
        check_template(value, where)
        if key in PROMPT_STYLES:
            values[key] = value
        else:
            extra[key] = value
    return PromptTemplates(**values, extra=MappingProxyType(extra))


def statement_is_code(problem: Problem) -> bool:
    """True for HumanEval-style statements: Python code (a ``def`` with a docstring)."""
    statement = problem.statement.strip()
    if problem.code_prompt and statement == problem.code_prompt.strip():
        return True
    try:
        tree = ast.parse(statement)
    except SyntaxError:
        return False
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for node in tree.body
    )


def render_statement(problem: Problem) -> str:
    statement = problem.statement.strip("\n")
    if statement_is_code(problem):
        return f"Complete this Python code:\n\n```python\n{statement.rstrip()}\n```"
    return statement.strip()


def build_prompt(problem: Problem, style: str, templates: PromptTemplates | None = None) -> str:
    """The exact user-message text sent to the model for ``problem`` in ``style``."""
    template = (templates or PromptTemplates()).template(style)
    values = {
        "statement": render_statement(problem),
        "signature": problem.signature.strip("\n"),
        "entry_point": problem.entry_point,
        "title": problem.title,
        "kind": "class" if problem.kind == "class" else "function",
        "difficulty": problem.difficulty,
    }
    return template.format(**values).strip() + "\n"
