"""Session start: suite, contenders (2 to 4), reviewer, blind or open, which problems.

The screen only asks; the app gives it the names to offer and what to do with the answer,
and the rules are ``gradebench.engine.workflows.grading_session``'s."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList, Static, Switch

from gradebench.engine.errors import UserError
from gradebench.engine.workflows.grading_session import (
    CONTENDER_BOUNDS,
    PROBLEM_FILTERS,
    SessionRequest,
    check_contender_names,
)


class SessionScreen(Screen):
    BINDINGS: ClassVar[list[Binding]] = [Binding("ctrl+s", "start", "Start grading")]

    def __init__(
        self,
        request: SessionRequest,
        *,
        suite_names: list[str],
        contender_names: list[str],
        on_start: Callable[[SessionRequest], object],
    ) -> None:
        super().__init__()
        self.request = request
        self.suite_names = suite_names
        self.contender_names = contender_names
        self.on_start = on_start

    def compose(self):
        with VerticalScroll(id="session-form"):
            yield Static("[b]gradebench[/b] — start a grading session", id="session-title")
            yield Label("Reviewer (remembered)")
            yield Input(self.request.reviewer, placeholder="your name", id="reviewer")
            yield Label("Suite")
            yield Select(
                [(n, n) for n in self.suite_names],
                value=self.request.suite,
                allow_blank=False,
                id="suite",
            )
            yield Label(
                f"Contenders ({CONTENDER_BOUNDS[0]} to {CONTENDER_BOUNDS[1]}; space toggles)"
            )
            yield SelectionList[str](
                *[(n, n, n in self.request.contenders) for n in self.contender_names],
                id="contenders",
            )
            yield Label("Problems")
            yield Select(
                [(c, c) for c in PROBLEM_FILTERS],
                value=self.request.which,
                allow_blank=False,
                id="which",
            )
            yield Label("Subset (ids, globs, tag:T, difficulty:D, sample:N seed:S, file:PATH)")
            yield Input(self.request.subset, placeholder="all problems", id="subset")
            if self.request.diff is not None:
                first, second = self.request.diff
                yield Static(
                    f"Only the problems that differ: {first} vs {second}", id="diff", markup=False
                )
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
        request = SessionRequest(
            suite=str(self.query_one("#suite", Select).value),
            contenders=list(self.query_one("#contenders", SelectionList).selected),
            reviewer=self.query_one("#reviewer", Input).value.strip(),
            blind=self.query_one("#blind", Switch).value,
            which=str(self.query_one("#which", Select).value),
            subset=self.query_one("#subset", Input).value.strip(),
            diff=self.request.diff,
            diff_contender=self.request.diff_contender,
        )
        try:
            check_contender_names(request.contenders)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.on_start(request)
