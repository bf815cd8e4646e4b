"""Every message the app's workers send to the UI, typed, in one place.

Workers never touch widgets: they post one of these (``post_message`` is
thread-safe) after checking that they were not cancelled, and the grading screen
applies it to the pane's state. Each pane message names the worker that sent it, so a
message still in flight from a replaced job is recognised and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.worker import Worker

from gradebench.engine.answers.pipeline import Answer, TestResult


@dataclass
class PaneMessage(Message):
    """From the job of pane ``pane``."""

    pane: int
    worker: Worker[None]


@dataclass
class TokensArrived(PaneMessage):
    """A batch of streamed text (tokens counted from the start of the answer)."""

    text: str
    tokens: int
    rate: float | None


@dataclass
class AnswerSettled(PaneMessage):
    """The answer ended (finished, cut at max tokens, cancelled or failed)."""

    answer: Answer


@dataclass
class ResultReady(PaneMessage):
    """The answer's tests ran."""

    result: TestResult


@dataclass
class LookAheadProgress(Message):
    """The look-ahead queue changed (a problem became ready or started being prepared)."""
