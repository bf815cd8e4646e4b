"""What one answer pane shows, as one value: the grading screen decides from it, the pane renders it.

``PaneState`` holds everything about the answer of one contender on the problem on
screen: the label, the streamed text so far, the token count and rate, where the
answer is in its life (``phase``), the settled answer and its test result, the
reviewer's grade and draft (format flag, note), and whether the answer was prepared
ahead (look-ahead). Its methods are the only transitions; none touches the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gradebench.engine.answers.pipeline import FINISHED_STATUSES, Answer, TestResult
from gradebench.engine.grading.grades import GradeEvent

Phase = Literal["empty", "waiting", "streaming", "settled", "failed", "cancelled"]
"""``waiting``/``streaming``: a generation runs; ``settled``: the answer ended (its
tests may still run); ``failed``: the job raised (the status says where the log is);
``cancelled``: the reviewer pressed Escape."""


@dataclass
class PaneDraft:
    """What the reviewer set before (or besides) a score: the format flag and the note."""

    format_ok: bool | None = None
    note: str = ""


@dataclass
class PaneState:
    """One pane's answer, result and grade; see the module docstring."""

    label: str = ""
    pieces: list[str] = field(default_factory=list)
    tokens: int = 0
    rate: float | None = None
    phase: Phase = "empty"
    status: str = ""
    answer: Answer | None = None
    result: TestResult | None = None
    grade: GradeEvent | None = None
    history_count: int = 0
    draft: PaneDraft = field(default_factory=PaneDraft)
    prepared: bool = False
    contested: str | None = None
    """The verdict without the problem's disputed tests, when it differs (``PASS 2/2``)."""
    """The answer was generated (and tested) ahead, before the problem was opened."""

    @property
    def streaming(self) -> bool:
        return self.phase in ("waiting", "streaming")

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def start_stream(self) -> None:
        self.pieces = []
        self.tokens = 0
        self.rate = None
        self.answer = None
        self.result = None
        self.prepared = False
        self.phase = "waiting"
        self.status = "waiting for the model…"

    def add_text(self, text: str, tokens: int, rate: float | None) -> None:
        self.pieces.append(text)
        self.tokens = tokens
        self.rate = rate
        if self.phase == "waiting":
            self.phase = "streaming"
            self.status = "streaming"

    def settle(self, answer: Answer, *, prepared: bool = False) -> None:
        """The answer ended (or was stored already): shown once, in full."""
        self.phase = "settled"
        self.answer = answer
        self.prepared = prepared
        self.tokens = answer.tokens
        self.rate = answer.tokens_per_second
        self.pieces = [answer.raw_answer]
        if answer.status in FINISHED_STATUSES:
            self.status = "running tests…" if self.result is None else ""
        else:
            self.status = answer.status + (f": {answer.error}" if answer.error else "")
        if answer.followed_format is not None and self.draft.format_ok is None:
            self.draft.format_ok = answer.followed_format

    def fail(self, status: str) -> None:
        self.phase = "failed"
        self.status = status

    def cancel(self) -> None:
        self.phase = "cancelled"
        self.status = "cancelled (r: regenerate)"

    def show_result(self, result: TestResult) -> None:
        self.result = result
        self.status = ""

    def show_grade(self, grade: GradeEvent | None, history_count: int) -> None:
        self.grade = grade
        self.history_count = history_count
        if grade is not None:
            self.draft = PaneDraft(grade.format_ok, grade.note)
