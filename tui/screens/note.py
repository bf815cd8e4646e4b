"""The note editor: a modal text area; Ctrl+S keeps the note, Escape drops the edit."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, TextArea


class NoteScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("ctrl+s", "save", "Save note"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, note: str, *, title: str = "") -> None:
        super().__init__()
        self.note = note
        self.pane_title = title

    def compose(self):
        with Vertical(id="note-dialog"):
            yield Label(f"Note for {self.pane_title}  (Ctrl+S save, Escape cancel)")
            yield TextArea(self.note, id="note-text", soft_wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)
