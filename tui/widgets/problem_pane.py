"""The problem being graded: title, difficulty, statement, entry point and tests."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from gradebench.engine.evaluation.execution import short_repr
from gradebench.engine.problems.model import MISSING, Problem

TESTS_SHOWN = 12


def tests_source(problem: Problem, limit: int = TESTS_SHOWN) -> str:
    """The problem's tests as Python lines, for highlighting."""
    lines: list[str] = []
    for index, test in enumerate(problem.tests[:limit]):
        if problem.kind == "class":
            init, calls = test.args
            line = f"{problem.entry_point}{short_repr(init)} then {short_repr(calls)}"
        else:  # short_repr: repr() raises on ints past Python's 4300-digit limit
            args = ", ".join(short_repr(a) for a in test.args)
            line = f"{problem.entry_point}({args})"
        if len(line) > 160:
            line = line[:157] + "..."
        expected = "reference output" if test.expected is MISSING else short_repr(test.expected)
        if len(expected) > 80:
            expected = expected[:77] + "..."
        lines.append(f"{line}  # {index}: -> {expected}")
    if len(problem.tests) > limit:
        lines.append(f"# ... {len(problem.tests) - limit} more tests")
    return "\n".join(lines)


class ProblemPane(VerticalScroll):
    """Collapsible (``t``) column on the left of the answers."""

    def compose(self):
        yield Static(id="problem-title")
        yield Markdown(id="problem-statement")
        yield Static(id="problem-tests")

    def show(self, problem: Problem) -> None:
        self.border_title = problem.id
        self.query_one("#problem-title", Static).update(
            f"[b]{problem.title}[/b]  [dim]{problem.difficulty} · entry point "
            f"[b]{problem.entry_point}[/b] · {len(problem.tests)} tests[/dim]"
        )
        self.query_one("#problem-statement", Markdown).update(
            problem.statement + f"\n\n```python\n{problem.signature}\n```\n"
        )
        self.query_one("#problem-tests", Static).update(
            Syntax(tests_source(problem), "python", theme="ansi_dark", word_wrap=True)
        )
        self.scroll_home(animate=False)
