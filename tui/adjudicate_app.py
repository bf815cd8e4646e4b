"""The adjudication app (``gradebench adjudicate``): hosts the adjudication screen (or,
with ``--votes``, the vote adjudication screen) on a database, recording each settlement
as it is made."""

from __future__ import annotations

from typing import Any

from textual.app import App

from gradebench.engine.grading.adjudication import Adjudication, Disagreement, adjudicate
from gradebench.engine.grading.rubric import Rubric
from gradebench.engine.grading.vote_adjudication import VoteDispute, VoteSettlement, settle_vote
from gradebench.engine.store.sqlite import Database
from gradebench.tui.screens.adjudication import AdjudicationScreen
from gradebench.tui.screens.vote_adjudication import VoteAdjudicationScreen


class AdjudicationApp(App[None]):
    TITLE = "gradebench adjudication"

    def __init__(
        self,
        db: Database,
        disputes: list[Disagreement] | list[VoteDispute],
        rubric: Rubric,
        names: dict[str, str],
        adjudicator: str,
        *,
        votes: bool = False,
    ) -> None:
        super().__init__()
        self.db = db
        self.adjudicator = adjudicator
        self.screen_to_show: AdjudicationScreen | VoteAdjudicationScreen = (
            VoteAdjudicationScreen(disputes, names, self.settle_vote)  # type: ignore[arg-type]
            if votes
            else AdjudicationScreen(disputes, rubric, names, self.settle)  # type: ignore[arg-type]
        )

    def on_mount(self) -> None:
        self.push_screen(self.screen_to_show)

    def settle(self, dispute: Disagreement, **how: Any) -> Adjudication:
        return adjudicate(self.db, dispute, self.adjudicator, **how)

    def settle_vote(self, dispute: VoteDispute, **how: Any) -> VoteSettlement:
        return settle_vote(self.db, dispute, self.adjudicator, **how)
