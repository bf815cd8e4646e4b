"""One contender's column: the streaming answer, then its code, test result and grade."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from gradebench.engine.grading.rubric import Rubric
from gradebench.engine.grading.triage import REASON_LABELS
from gradebench.tui.widgets.pane_state import PaneState

OUTPUT_CAP = 400
TITLE_SECONDS = 1.0
"""While streaming, the token count and rate in the border change at most this often:
a border change repaints the whole column, the streamed text only its own view."""
VERDICT_STYLES = {
    "pass": "bold black on green",
    "fail": "bold white on red",
    "error": "bold white on dark_red",
    "timeout": "bold black on yellow",
    "inconclusive": "bold black on bright_white",
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


class AnswerPane(Vertical, can_focus=True):
    """A focusable column that renders one ``PaneState``.

    The grading screen owns the decisions: it changes ``state`` and asks for a render
    (``render_all``, or ``flush`` for streamed text). The answer scrolls; the test
    result and the grade stay in view below it.
    """

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("up", "scroll_answer(-1)", "Scroll up", show=False),
        Binding("down", "scroll_answer(1)", "Scroll down", show=False),
        Binding("pageup", "scroll_answer(-10)", "Page up", show=False),
        Binding("pagedown", "scroll_answer(10)", "Page down", show=False),
    ]

    def __init__(
        self, index: int, *, rubric: Rubric, stable: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id, classes="answer-pane")
        self.index = index
        self.rubric = rubric
        self.state = PaneState()
        self.stable = stable
        """Hide rates and run times (deterministic screenshots)."""
        self.hide_timing = False
        """Blind and not yet revealed: no speed, token count or time may tell contenders apart."""
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

    def show(self, state: PaneState | None = None) -> None:
        """Render ``state`` (or the current one) in full."""
        if state is not None:
            self.state = state
        self.set_class(self.state.streaming, "-streaming")
        self.unflushed = False
        self.render_all()
        if self.state.streaming and self.is_mounted:
            self._paint_stream()

    def add_text(self, text: str, tokens: int, rate: float | None) -> None:
        """A batch of tokens from the worker: kept until the screen's next ``flush``."""
        self.state.add_text(text, tokens, rate)
        self.unflushed = True

    def flush(self) -> None:
        """Repaint the streaming view once (no layout pass: the view has a fixed size)."""
        if not self.unflushed or not self.state.streaming:
            return
        self.unflushed = False
        self._paint_stream()
        now = time.monotonic()
        if self.stable or now - self.title_shown >= TITLE_SECONDS:
            self.title_shown = now
            self._render_title()

    # --- rendering ---

    def _paint_stream(self) -> None:
        """The streaming view: the last lines of the text so far, or the pane's status
        (``waiting…``, or blind mode's "answers appear together") before any text."""
        stream = self.query_one(f"#stream-{self.index}", Static)
        text = self.state.text
        if not text and self.state.status:
            stream.update(Text(self.state.status, style="italic dim"), layout=False)
            return
        size = stream.content_size
        stream.update(Text(tail_lines(text, size.width, size.height)), layout=False)

    def render_all(self) -> None:
        if not self.is_mounted:
            return
        self._render_title()
        self.query_one(f"#answer-{self.index}", Static).update(self._answer_renderable())
        self.query_one(f"#result-{self.index}", Static).update(self._result_renderable())
        self._render_grade()

    def _render_title(self) -> None:
        state = self.state
        self.border_title = state.label
        if self.hide_timing:
            # speed identifies a model on a CPU; the marker is the same for every pane
            self.border_subtitle = "prepared ahead" if state.prepared else ""
            return
        rate = "-" if state.rate is None or self.stable else f"{state.rate:.1f}"
        marker = " · prepared ahead" if state.prepared else ""
        self.border_subtitle = f"{state.tokens} tok · {rate} tok/s{marker}"

    def _answer_renderable(self) -> RenderableType:
        state = self.state
        answer = state.answer
        if answer is None:
            text = Text(state.text)
            if state.status:
                text.append(("\n" if state.pieces else "") + state.status, style="italic dim")
            return text
        parts: list[RenderableType] = []
        if answer.code:
            parts.append(Text(f"extracted code ({answer.extract_method})", style="bold"))
            for note in answer.extract_notes:
                parts.append(Text(f"  note: {note}", style="italic"))
            parts.append(Syntax(answer.code, "python", theme="ansi_dark", word_wrap=True))
        elif answer.status in ("done", "max_tokens"):
            parts.append(Text("no code found in the answer", style="bold red"))
        parts.append(Text("answer", style="bold"))
        parts.append(Text(answer.raw_answer or "(empty)", style="dim"))
        if state.status:
            parts.append(Text(state.status, style="italic"))
        return Group(*parts)

    def _result_renderable(self) -> RenderableType:
        result = self.state.result
        if result is None:
            return Text("")
        text = Text()
        text.append(f" {result.verdict.upper()} ", style=VERDICT_STYLES.get(result.verdict, "bold"))
        text.append(f"  {result.passed}/{result.total} tests")
        if not self.stable and not self.hide_timing:
            text.append(f"  {result.seconds:.2f} s")
        if self.state.contested:
            text.append(f"  ·  without disputed tests: {self.state.contested}", style="bold")
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
        state = self.state
        rubric = self.rubric
        text = Text()
        suggested = state.result.suggested_score if state.result else None
        text.append("suggested: ")
        text.append("-" if suggested is None else f"{suggested:g}", style="bold cyan")
        text.append("   score: ")
        if state.grade is None:
            text.append("ungraded", style="bold yellow")
        else:
            text.append(
                f"{state.grade.score:g} ({rubric.label(state.grade.score)})", style="bold green"
            )
        if rubric.format_flag:
            flag = state.draft.format_ok
            text.append("   format: ")
            text.append("-" if flag is None else ("yes" if flag else "no"), style="bold")
        reason = state.grade.rubric.get("reason") if state.grade is not None else None
        if reason:
            text.append(f"\nwhy it differs from the tests: {REASON_LABELS.get(reason, reason)}")
        if state.draft.note:
            text.append(f"\nnote: {cap(state.draft.note, 200)}", style="italic")
        if state.history_count > 1:
            text.append(f"\n{state.history_count} grade events (h: history)", style="dim")
        self.query_one(f"#grade-{self.index}", Static).update(text)
