"""Why a grade disagrees with the tests: a modal list of reasons, one key each."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from gradebench.engine.grading.triage import REASONS


class ReasonScreen(ModalScreen[str | None]):
    """Dismisses with the chosen reason code, or None (Escape)."""

    BINDINGS: ClassVar[list[Binding]] = [
        *(Binding(str(i), f"choose({i})", show=False) for i in range(1, len(REASONS) + 1)),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, title: str, how: str) -> None:
        super().__init__()
        self.pane_title = title
        self.how = how

    def compose(self):
        with Vertical(id="reason-dialog"):
            yield Label(f"{self.pane_title}: {self.how}. Why?  (a key, Escape cancels)")
            yield Static(
                "\n".join(f"{i}  {label}" for i, (_, label) in enumerate(REASONS, start=1)),
                id="reason-list",
            )
        yield Footer()

    def action_choose(self, number: int) -> None:
        self.dismiss(REASONS[number - 1][0])

    def action_cancel(self) -> None:
        self.dismiss(None)
