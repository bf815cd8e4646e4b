"""Contesting a test from the app (key ``d``): a modal list of the problem's tests with
this answer's outcome on each; ``↑``/``↓`` pick a test, ``1``-``4`` dispute it with a
reason (wrong expected output, invalid input, ambiguous statement, other), ``w`` withdraws
your dispute of it, ``Escape`` closes. Each key is recorded at once (through ``record``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from gradebench.engine.evaluation.execution import LETTER_VERDICTS, short_repr
from gradebench.engine.grading.test_disputes import REASON_LABELS, REASONS
from gradebench.engine.problems.model import MISSING, Problem

Record = Callable[[int, str | None], set[int]]
"""(test index, reason or None to withdraw) -> the tests you dispute now."""


class ProblemTestsScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        *(Binding(str(i), f"dispute({i})", show=False) for i in range(1, len(REASONS) + 1)),
        Binding("w", "withdraw", "withdraw"),
        Binding("escape", "close", "close"),
    ]

    def __init__(
        self, title: str, problem: Problem, statuses: str | None, mine: set[int], record: Record
    ) -> None:
        super().__init__()
        self.pane_title = title
        self.problem = problem
        self.statuses = statuses or ""
        self.mine = set(mine)
        self.record = record

    def _line(self, index: int) -> str:
        test = self.problem.tests[index]
        expected = "reference" if test.expected is MISSING else short_repr(test.expected, 40)
        letter = self.statuses[index] if index < len(self.statuses) else "-"
        outcome = LETTER_VERDICTS.get(letter, "not run")
        mark = "  DISPUTED by you" if index in self.mine else ""
        return f"{index:>3}  {short_repr(test.args, 50)} -> {expected}   [{outcome}]{mark}"

    def _options(self) -> Sequence[Option]:
        # Text, not str: a prompt string is read as markup, and "[fail]" would vanish
        return [Option(Text(self._line(i)), id=str(i)) for i in range(len(self.problem.tests))]

    def compose(self):
        reasons = "  ".join(f"{i} {REASON_LABELS[r]}" for i, r in enumerate(REASONS, start=1))
        with Vertical(id="test-dialog"):
            yield Label(f"{self.pane_title}: the tests of {self.problem.id}")
            yield OptionList(*self._options(), id="test-options")
            yield Label(f"dispute the highlighted test: {reasons} · w withdraw · Escape close")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0 if self.problem.tests else None
        options.focus()

    @property
    def highlighted(self) -> int | None:
        return self.query_one(OptionList).highlighted

    def _refresh(self, index: int) -> None:
        options = self.query_one(OptionList)
        options.replace_option_prompt_at_index(index, Text(self._line(index)))

    def action_dispute(self, number: int) -> None:
        index = self.highlighted
        if index is None:
            return
        self.mine = self.record(index, REASONS[number - 1])
        self._refresh(index)

    def action_withdraw(self) -> None:
        index = self.highlighted
        if index is None or index not in self.mine:
            return
        self.mine = self.record(index, None)
        self._refresh(index)

    def action_close(self) -> None:
        self.dismiss(None)
