"""The help screen (``?``): every key of the grading screen and what it does."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

KEY_MAP = """\
# gradebench keys

| key | what it does |
|---|---|
| `Tab` / `Shift+Tab`, `←` / `→` | move the focus between answer panes |
| `1` `2` `3` … | score the focused answer with the rubric's 1st, 2nd, 3rd level (default 0 / 0.5 / 1) |
| `a` | accept the suggested score (from the tests) for the focused answer |
| `f` | toggle the "followed the requested format" flag |
| `e` | edit the note of the focused answer (`Ctrl+S` saves, `Escape` cancels) |
| `h` | grade history of the focused answer |
| `w` | why your grade differs from the tests (when it does): a reason code, kept with the grade |
| `[` `]` `=` `-` | two panes: left (A) better, right (B) better, tie, both bad |
| `n` / `p` | next / previous problem |
| `u` | next ungraded problem |
| `x` | next problem with a failing answer |
| `r` | regenerate the focused answer |
| `Escape` | cancel the focused stream (or all streams) |
| `t` | hide / show the problem pane |
| `L` | leaderboard |
| `Ctrl+P` | command palette: every action by name |
| `?` | this help |
| `q` | quit (grades are already saved) |

Every score, flag and note is written to the database the moment you press the key,
as a new grade event; editing adds an event, nothing is overwritten. In blind mode
the panes are labelled A, B… in a shuffled order, and the names appear once every
answer to the problem has your grade.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,q,question_mark", "close", "Close", key_display="Esc")
    ]

    def compose(self):
        with VerticalScroll(id="help-dialog"):
            yield Markdown(KEY_MAP)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
