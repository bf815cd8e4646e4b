"""The adjudication app (``gradebench adjudicate``): hosts the adjudication screen on a
database, recording each settlement as it is made."""

from __future__ import annotations

from typing import Any

from textual.app import App

from gradebench.engine.grading.adjudication import Adjudication, Disagreement, adjudicate
from gradebench.engine.grading.rubric import Rubric
from gradebench.engine.store.sqlite import Database
from gradebench.tui.screens.adjudication import AdjudicationScreen


class AdjudicationApp(App[None]):
    TITLE = "gradebench adjudication"

    def __init__(
        self,
        db: Database,
        disputes: list[Disagreement],
        rubric: Rubric,
        names: dict[str, str],
        adjudicator: str,
    ) -> None:
        super().__init__()
        self.db = db
        self.adjudicator = adjudicator
        self.screen_to_show = AdjudicationScreen(disputes, rubric, names, self.settle)

    def on_mount(self) -> None:
        self.push_screen(self.screen_to_show)

    def settle(self, dispute: Disagreement, **how: Any) -> Adjudication:
        return adjudicate(self.db, dispute, self.adjudicator, **how)
