"""The vote adjudication screen (``gradebench adjudicate --votes``): one disputed pair of
answers at a time, both answers' code side by side and every reviewer's vote; one key
settles it.

The two answers are shown as *first* and *second* in the order of their ids (never in a
pane order a reviewer saw), and each vote is told in those terms. Keys: ``1``..``9`` adopt
that reviewer's vote; ``[`` first better, ``]`` second better, ``=`` tie, ``-`` both bad
(the adjudicator's own vote); ``n``/``p`` (or the arrows) next/previous; ``q`` quit. Blind:
the contenders' names are hidden until the pair is settled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import ClassVar

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from gradebench.engine.grading.vote_adjudication import VoteDispute, VoteSettlement

SIDE_WORDS = {
    "low": "first better",
    "high": "second better",
    "tie": "tie",
    "both_bad": "both bad",
}


class VoteAdjudicationScreen(Screen[None]):
    """Settles ``disputes`` in order; ``settle`` records one and returns it."""

    DEFAULT_CSS = """
    VoteAdjudicationScreen #vote-first, VoteAdjudicationScreen #vote-second {
        width: 2fr;
        border: round $primary;
        border-title-align: left;
    }
    VoteAdjudicationScreen #vote-reviewers-box {
        width: 1fr;
        border: round $secondary;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(i), f"adopt({i})", show=False) for i in range(1, 10)),
        Binding("left_square_bracket", "own('low')", "First better"),
        Binding("right_square_bracket", "own('high')", "Second better"),
        Binding("equals_sign", "own('tie')", "Tie"),
        Binding("minus", "own('both_bad')", "Both bad"),
        Binding("n,right", "move(1)", "Next"),
        Binding("p,left", "move(-1)", "Previous"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(
        self,
        disputes: Sequence[VoteDispute],
        names: dict[str, str],
        settle: Callable[..., VoteSettlement],
    ) -> None:
        super().__init__()
        self.disputes = list(disputes)
        self.names = names
        """contender id -> name, shown once a pair is settled."""
        self.settle = settle
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static(id="vote-header")
        with Horizontal():
            with VerticalScroll(id="vote-first"):
                yield Static(id="vote-first-code")
            with VerticalScroll(id="vote-second"):
                yield Static(id="vote-second-code")
            with VerticalScroll(id="vote-reviewers-box") as box:
                box.border_title = "votes"
                yield Static(id="vote-reviewers")
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    @property
    def current(self) -> VoteDispute | None:
        return self.disputes[self.index] if self.disputes else None

    def _pane_title(self, dispute: VoteDispute, contender_id: str, label: str) -> str:
        return f"{label} · {self.names.get(contender_id, '?')}" if dispute.settled else label

    def show(self) -> None:
        header = self.query_one("#vote-header", Static)
        first = self.query_one("#vote-first-code", Static)
        second = self.query_one("#vote-second-code", Static)
        reviewers = self.query_one("#vote-reviewers", Static)
        dispute = self.current
        if dispute is None:
            header.update("no vote disagreements to settle: every voted pair's reviewers agree")
            for widget in (first, second, reviewers):
                widget.update("")
            return
        settled = sum(1 for d in self.disputes if d.settled is not None)
        header.update(
            Text.from_markup(
                f"[b]vote disagreement {self.index + 1}[/b] of {len(self.disputes)}  ·  "
                f"{settled} settled  ·  [b]{dispute.problem_id}[/b]"
            )
        )
        for widget, code, contender, label in (
            (first, dispute.code_low, dispute.contender_low, "first"),
            (second, dispute.code_high, dispute.contender_high, "second"),
        ):
            self.query_one(f"#vote-{label}").border_title = self._pane_title(
                dispute, contender, label
            )
            widget.update(Syntax(code or "# no code", "python", theme="ansi_dark", word_wrap=True))
        lines = Text()
        for number, vote in enumerate(dispute.votes, start=1):
            lines.append(f"{number}  ", style="bold")
            lines.append(f"{vote.reviewer}: {SIDE_WORDS.get(vote.side, vote.side)}\n")
        lines.append("\n")
        if dispute.settled is not None:
            s = dispute.settled
            adopted = next(
                (v.reviewer for v in dispute.votes if v.vote_id == s.adopted_vote_id), None
            )
            how = f"adopted {adopted}'s vote" if adopted else "own vote"
            lines.append(
                f"settled by {s.adjudicator}: {SIDE_WORDS[s.side]} ({how})\n", style="green"
            )
        lines.append(
            "1-9 adopt a reviewer's vote · [ ] = - your own · n/p next/previous", style="dim"
        )
        reviewers.update(lines)

    def action_move(self, step: int) -> None:
        if self.disputes:
            self.index = (self.index + step) % len(self.disputes)
            self.show()

    def _record(self, dispute: VoteDispute, settled: VoteSettlement) -> None:
        self.disputes[self.index] = replace(dispute, settled=settled)
        names = (
            self.names.get(dispute.contender_low, "?"),
            self.names.get(dispute.contender_high, "?"),
        )
        self.notify(f"settled: {SIDE_WORDS[settled.side]}; first was {names[0]}, second {names[1]}")
        self.show()

    def action_adopt(self, number: int) -> None:
        dispute = self.current
        if dispute is None or number > len(dispute.votes):
            return
        self._record(dispute, self.settle(dispute, adopt=dispute.votes[number - 1]))

    def action_own(self, side: str) -> None:
        dispute = self.current
        if dispute is None:
            return
        self._record(dispute, self.settle(dispute, side=side))
