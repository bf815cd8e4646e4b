"""The adjudication screen (``gradebench adjudicate``): one disputed answer at a time, its
code and test result beside every reviewer's grade and note; one key settles it.

Keys: ``1``..``9`` adopt that reviewer's grade; ``g`` then a score key gives a grade of the
adjudicator's own; ``n``/``p`` (or the arrows) next/previous; ``q`` quit. Blind: the
contender's name is hidden until the answer is settled (then it is shown, as the verdict
of the adjudicator no longer depends on it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from gradebench.engine.grading.adjudication import Adjudication, Disagreement, ReviewerGrade
from gradebench.engine.grading.rubric import Rubric


class AdjudicationScreen(Screen[None]):
    """Settles ``disputes`` in order; ``settle`` records one and returns it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(i), f"digit({i})", show=False) for i in range(1, 10)),
        Binding("g", "own_grade", "Own grade"),
        Binding("n,right", "move(1)", "Next"),
        Binding("p,left", "move(-1)", "Previous"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(
        self,
        disputes: Sequence[Disagreement],
        rubric: Rubric,
        names: dict[str, str],
        settle: Callable[..., Adjudication],
    ) -> None:
        super().__init__()
        self.disputes = list(disputes)
        self.rubric = rubric
        self.names = names
        """contender id -> name, shown once an answer is settled."""
        self.settle = settle
        self.index = 0
        self.own_grade = False

    def compose(self) -> ComposeResult:
        yield Static(id="adjudication-header")
        with Horizontal():
            with VerticalScroll(id="adjudication-answer"):
                yield Static(id="adjudication-code")
            with VerticalScroll(id="adjudication-grades"):
                yield Static(id="adjudication-reviewers")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    @property
    def current(self) -> Disagreement | None:
        return self.disputes[self.index] if self.disputes else None

    def show(self) -> None:
        header = self.query_one("#adjudication-header", Static)
        code = self.query_one("#adjudication-code", Static)
        reviewers = self.query_one("#adjudication-reviewers", Static)
        dispute = self.current
        if dispute is None:
            header.update("no disagreements to settle: every graded answer's reviewers agree")
            code.update("")
            reviewers.update("")
            return
        settled = sum(1 for d in self.disputes if d.settled is not None)
        who = self.names.get(dispute.contender_id, "?") if dispute.settled else "hidden"
        header.update(
            Text.from_markup(
                f"[b]disagreement {self.index + 1}[/b] of {len(self.disputes)}  ·  "
                f"{settled} settled  ·  [b]{dispute.problem_id}[/b]  ·  contender: {who}"
            )
        )
        verdict = (
            "not tested"
            if dispute.verdict is None
            else f"{dispute.verdict.upper()}  {dispute.passed}/{dispute.total} tests"
        )
        code.update(
            Syntax(dispute.code or "# no code", "python", theme="ansi_dark", word_wrap=True)
        )
        lines = Text(f"tests: {verdict}\n\n")
        for number, grade in enumerate(dispute.grades, start=1):
            lines.append(f"{number}  ", style="bold")
            lines.append(f"{grade.reviewer}: {self.rubric.label(grade.score)} ({grade.score:g})")
            flag = {None: "-", True: "yes", False: "no"}[grade.format_ok]
            lines.append(f"  format {flag}\n")
            if grade.note:
                lines.append(f"   {grade.note}\n", style="italic")
        lines.append("\n")
        if dispute.settled is not None:
            s = dispute.settled
            adopted = next(
                (g.reviewer for g in dispute.grades if g.event_id == s.adopted_event_id), None
            )
            how = f"adopted {adopted}'s grade" if adopted else "own grade"
            lines.append(
                f"settled by {s.adjudicator}: {self.rubric.label(s.score)} ({how})\n", style="green"
            )
        if self.own_grade:
            levels = ", ".join(
                f"{i} {level.label}" for i, level in enumerate(self.rubric.levels, start=1)
            )
            lines.append(f"own grade: press {levels}\n", style="bold yellow")
        else:
            lines.append(
                "1-9 adopt a reviewer's grade · g own grade · n/p next/previous", style="dim"
            )
        reviewers.update(lines)

    def action_move(self, step: int) -> None:
        if self.disputes:
            self.index = (self.index + step) % len(self.disputes)
            self.own_grade = False
            self.show()

    def action_own_grade(self) -> None:
        if self.current is not None:
            self.own_grade = True
            self.show()

    def action_digit(self, number: int) -> None:
        dispute = self.current
        if dispute is None:
            return
        if self.own_grade:
            if number > len(self.rubric.levels):
                return
            level = self.rubric.levels[number - 1]
            settled = self.settle(dispute, score=level.value)
        else:
            if number > len(dispute.grades):
                return
            grade: ReviewerGrade = dispute.grades[number - 1]
            settled = self.settle(dispute, adopt=grade)
        self.own_grade = False
        self.disputes[self.index] = _with_settled(dispute, settled)
        name = self.names.get(dispute.contender_id, "?")
        self.notify(f"settled: {self.rubric.label(settled.score)}; the answer was {name}'s")
        self.show()


def _with_settled(dispute: Disagreement, settled: Adjudication) -> Disagreement:
    from dataclasses import replace

    return replace(dispute, settled=settled)
