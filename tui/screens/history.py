"""Every grade event of one answer, oldest first: who, when, score, flag, note, what it replaced."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label

from gradebench.engine.grading.grades import GradeEvent
from gradebench.engine.grading.rubric import Rubric


class HistoryScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape,q,h", "close", "Close")]

    def __init__(self, events: list[GradeEvent], rubric: Rubric, *, title: str = "") -> None:
        super().__init__()
        self.events = events
        self.rubric = rubric
        self.pane_title = title

    def compose(self):
        with Vertical(id="history-dialog"):
            yield Label(f"Grade history for {self.pane_title} ({len(self.events)} events)")
            yield DataTable(id="history-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("when (UTC)", "reviewer", "score", "format", "note", "replaces")
        ids = {event.id: n + 1 for n, event in enumerate(self.events)}
        for event in self.events:
            flag = "-" if event.format_ok is None else ("yes" if event.format_ok else "no")
            table.add_row(
                event.created_at[:19].replace("T", " "),
                event.reviewer,
                f"{event.score:g} {self.rubric.label(event.score)}",
                flag,
                event.note[:40],
                f"#{ids[event.replaces_id]}" if event.replaces_id in ids else "",
            )
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
