"""Session start: suite, contenders (2 to 4), reviewer, blind or open, which problems."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList, Static, Switch

if TYPE_CHECKING:
    from gradebench.tui.app import GradebenchApp, SessionRequest


class SessionScreen(Screen):
    BINDINGS: ClassVar[list[Binding]] = [Binding("ctrl+s", "start", "Start grading")]

    def __init__(self, request: SessionRequest) -> None:
        super().__init__()
        self.request = request

    @property
    def gb(self) -> GradebenchApp:
        return self.app  # type: ignore[return-value]

    def suite_names(self) -> list[str]:
        from gradebench.engine.problems.registry import SuiteSources

        names = SuiteSources.from_config(self.gb.config).names()
        if self.request.suite not in names:
            names.insert(0, self.request.suite)
        return names

    def contender_names(self) -> list[str]:
        names = [c if isinstance(c, str) else c.name for c in self.gb.contender_choices]
        try:
            from gradebench.engine.generation.registry import load_registry

            registry = load_registry(self.gb.config, styles=self.gb.templates.styles)
            names += [n for n in registry.contenders if n not in names]
        except Exception as exc:  # a bad config is reported, the defaults still work
            self.notify(str(exc), severity="error")
        return names

    def compose(self):
        from gradebench.tui.app import PROBLEM_CHOICES

        with VerticalScroll(id="session-form"):
            yield Static("[b]gradebench[/b] — start a grading session", id="session-title")
            yield Label("Reviewer (remembered)")
            yield Input(self.request.reviewer, placeholder="your name", id="reviewer")
            yield Label("Suite")
            yield Select(
                [(n, n) for n in self.suite_names()],
                value=self.request.suite,
                allow_blank=False,
                id="suite",
            )
            yield Label("Contenders (2 to 4; space toggles)")
            yield SelectionList[str](
                *[(n, n, n in self.request.contenders) for n in self.contender_names()],
                id="contenders",
            )
            yield Label("Problems")
            yield Select(
                [(c, c) for c in PROBLEM_CHOICES],
                value=self.request.which,
                allow_blank=False,
                id="which",
            )
            yield Label("Subset (ids, globs, tag:T, difficulty:D, sample:N seed:S, file:PATH)")
            yield Input(self.request.subset, placeholder="all problems", id="subset")
            with Horizontal(id="blind-row"):
                yield Label("Blind mode ")
                yield Switch(self.request.blind, id="blind")
            yield Button("Start grading (Ctrl+S)", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reviewer", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_start()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def action_start(self) -> None:
        from gradebench.tui.app import SessionRequest

        request = SessionRequest(
            suite=str(self.query_one("#suite", Select).value),
            contenders=list(self.query_one("#contenders", SelectionList).selected),
            reviewer=self.query_one("#reviewer", Input).value.strip(),
            blind=self.query_one("#blind", Switch).value,
            which=str(self.query_one("#which", Select).value),
            subset=self.query_one("#subset", Input).value.strip(),
        )
        if not 2 <= len(request.contenders) <= 4:
            self.notify("choose 2 to 4 contenders", severity="error")
            return
        self.gb.start_session(request)
