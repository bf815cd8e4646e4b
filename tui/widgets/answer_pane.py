"""One contender's column: the streaming answer, then its code, test result and grade."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from gradebench.engine.answers.pipeline import Answer, TestResult
from gradebench.engine.grading.events import GradeEvent, Rubric

OUTPUT_CAP = 400
TITLE_SECONDS = 1.0
"""While streaming, the token count and rate in the border change at most this often:
a border change repaints the whole column, the streamed text only its own view."""
VERDICT_STYLES = {
    "pass": "bold black on green",
    "fail": "bold white on red",
    "error": "bold white on dark_red",
    "timeout": "bold black on yellow",
    "memory": "bold black on yellow",
    "syntax": "bold white on magenta",
    "no_code": "bold white on grey37",
}


def cap(text: str, limit: int = OUTPUT_CAP) -> str:
    return text if len(text) <= limit else text[:limit] + f"… (+{len(text) - limit} chars)"


def tail_lines(text: str, width: int, height: int) -> str:
    """The last ``height`` screen lines of ``text`` wrapped at ``width`` (cheap, no Rich)."""
    if width <= 0 or height <= 0:
        return ""
    rows: list[str] = []
    for line in reversed(text.split("\n")):
        chunks = [line[i : i + width] for i in range(0, len(line), width)] or [""]
        rows[:0] = chunks
        if len(rows) >= height:
            break
    return "\n".join(rows[-height:])


@dataclass
class PaneDraft:
    """What the reviewer set before (or besides) a score: the format flag and the note."""

    format_ok: bool | None = None
    note: str = ""


class AnswerPane(Vertical, can_focus=True):
    """A focusable column; the grading screen feeds it tokens, results and grades.

    The answer scrolls; the test result and the grade stay in view below it.
    """

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "scroll_answer(-1)", "Scroll up", show=False),
        Binding("down", "scroll_answer(1)", "Scroll down", show=False),
        Binding("pageup", "scroll_answer(-10)", "Page up", show=False),
        Binding("pagedown", "scroll_answer(10)", "Page down", show=False),
    ]

    def __init__(self, index: int, *, rubric: Rubric, id: str | None = None) -> None:
        super().__init__(id=id, classes="answer-pane")
        self.index = index
        self.rubric = rubric
        self.label = ""
        self.pieces: list[str] = []
        self.tokens = 0
        self.rate: float | None = None
        self.streaming = False
        self.answer: Answer | None = None
        self.result: TestResult | None = None
        self.grade: GradeEvent | None = None
        self.history_count = 0
        self.draft = PaneDraft()
        self.status = ""
        self.stable = False
        self.unflushed = False
        self.title_shown = 0.0

    def compose(self):
        # while streaming: a fixed-size view of the answer's tail, updated without a
        # layout pass; once the answer ends: the whole answer in a scrolling view
        yield Static(id=f"stream-{self.index}", classes="answer-stream")
        with VerticalScroll(classes="answer-scroll", can_focus=False):
            yield Static(id=f"answer-{self.index}", classes="answer-text")
        yield Static(id=f"result-{self.index}", classes="answer-result")
        yield Static(id=f"grade-{self.index}", classes="answer-grade")

    def action_scroll_answer(self, lines: int) -> None:
        scroll = self.query_one(".answer-scroll", VerticalScroll)
        scroll.scroll_to(y=scroll.scroll_y + lines, animate=False)

    # --- state changes, each followed by one render ---

    def reset(self, label: str) -> None:
        self.set_class(False, "-streaming")
        self.label = label
        self.pieces = []
        self.tokens = 0
        self.rate = None
        self.streaming = False
        self.answer = None
        self.result = None
        self.grade = None
        self.history_count = 0
        self.draft = PaneDraft()
        self.status = ""
        self.render_all()

    def start_stream(self) -> None:
        self.set_class(True, "-streaming")
        self.pieces = []
        self.tokens = 0
        self.rate = None
        self.answer = None
        self.result = None
        self.streaming = True
        self.status = "waiting for the model…"
        self.render_all()

    def add_text(self, text: str, tokens: int, rate: float | None) -> None:
        """A batch of tokens from the worker: kept until the screen's next ``flush``."""
        self.pieces.append(text)
        self.tokens = tokens
        self.rate = rate
        self.status = "streaming"
        self.unflushed = True

    def flush(self) -> None:
        """Repaint the streaming view once (no layout pass: the view has a fixed size)."""
        if not self.unflushed or not self.streaming:
            return
        self.unflushed = False
        stream = self.query_one(f"#stream-{self.index}", Static)
        size = stream.content_size
        stream.update(Text(tail_lines("".join(self.pieces), size.width, size.height)), layout=False)
        now = time.monotonic()
        if now - self.title_shown >= TITLE_SECONDS:
            self.title_shown = now
            self._render_title()

    def settle(self, answer: Answer) -> None:
        """The answer ended: show it once, in full, with its extracted code highlighted."""
        self.set_class(False, "-streaming")
        self.streaming = False
        self.answer = answer
        self.tokens = answer.tokens
        self.rate = answer.tokens_per_second
        self.pieces = [answer.raw_answer]
        if answer.status in ("done", "max_tokens"):
            self.status = "running tests…" if self.result is None else ""
        else:
            self.status = answer.status + (f": {answer.error}" if answer.error else "")
        self.render_all()

    def stop_stream(self, status: str) -> None:
        self.set_class(False, "-streaming")
        self.streaming = False
        self.status = status
        self.render_all()

    def show_result(self, result: TestResult) -> None:
        self.result = result
        self.status = ""
        self.render_all()

    def show_grade(self, grade: GradeEvent | None, history_count: int) -> None:
        self.grade = grade
        self.history_count = history_count
        if grade is not None:
            self.draft = PaneDraft(grade.format_ok, grade.note)
        self._render_grade()

    # --- rendering ---

    def render_all(self) -> None:
        if not self.is_mounted:
            return
        self._render_title()
        self.query_one(f"#answer-{self.index}", Static).update(self._answer_renderable())
        self.query_one(f"#result-{self.index}", Static).update(self._result_renderable())
        self._render_grade()

    def _render_title(self) -> None:
        self.border_title = self.label
        rate = "-" if self.rate is None or self.stable else f"{self.rate:.1f}"
        self.border_subtitle = f"{self.tokens} tok · {rate} tok/s"

    def _answer_renderable(self) -> RenderableType:
        if self.answer is None:
            text = Text("".join(self.pieces))
            if self.status:
                text.append(("\n" if self.pieces else "") + self.status, style="italic dim")
            return text
        parts: list[RenderableType] = []
        if self.answer.code:
            parts.append(Text(f"extracted code ({self.answer.extract_method})", style="bold"))
            for note in self.answer.extract_notes:
                parts.append(Text(f"  note: {note}", style="italic"))
            parts.append(Syntax(self.answer.code, "python", theme="ansi_dark", word_wrap=True))
        elif self.answer.status in ("done", "max_tokens"):
            parts.append(Text("no code found in the answer", style="bold red"))
        parts.append(Text("answer", style="bold"))
        parts.append(Text(self.answer.raw_answer or "(empty)", style="dim"))
        if self.status:
            parts.append(Text(self.status, style="italic"))
        return Group(*parts)

    def _result_renderable(self) -> RenderableType:
        result = self.result
        if result is None:
            return Text("")
        text = Text()
        text.append(f" {result.verdict.upper()} ", style=VERDICT_STYLES.get(result.verdict, "bold"))
        text.append(f"  {result.passed}/{result.total} tests")
        if not self.stable:
            text.append(f"  {result.seconds:.2f} s")
        if result.first_failure:
            failure = result.first_failure
            test = failure.get("test")
            text.append("\nfirst failure" + (f": test {test}" if test is not None else ""))
            for key, style in (("input", ""), ("expected", "green"), ("actual", "red")):
                if failure.get(key) not in (None, ""):
                    text.append(f"\n  {key + ':':<9} {cap(str(failure[key]), 120)}", style=style)
            if failure.get("message"):
                text.append(f"\n  {cap(str(failure['message']), 200)}", style="yellow")
        if result.stdout.strip():
            text.append(f"\nstdout: {cap(result.stdout.strip())}", style="dim")
        if result.stderr.strip():
            text.append(f"\nstderr: {cap(result.stderr.strip())}", style="dim red")
        return text

    def _render_grade(self) -> None:
        if not self.is_mounted:
            return
        rubric = self.rubric
        text = Text()
        suggested = self.result.suggested_score if self.result else None
        text.append("suggested: ")
        text.append("-" if suggested is None else f"{suggested:g}", style="bold cyan")
        text.append("   score: ")
        if self.grade is None:
            text.append("ungraded", style="bold yellow")
        else:
            text.append(
                f"{self.grade.score:g} ({rubric.label(self.grade.score)})", style="bold green"
            )
        if rubric.format_flag:
            flag = self.draft.format_ok
            text.append("   format: ")
            text.append("-" if flag is None else ("yes" if flag else "no"), style="bold")
        if self.draft.note:
            text.append(f"\nnote: {cap(self.draft.note, 200)}", style="italic")
        if self.history_count > 1:
            text.append(f"\n{self.history_count} grade events (h: history)", style="dim")
        self.query_one(f"#grade-{self.index}", Static).update(text)
