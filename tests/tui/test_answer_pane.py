"""What an answer pane shows of a finished answer."""

from __future__ import annotations

from rich.console import Console

from gradebench.engine.answers.pipeline import Answer
from gradebench.engine.grading.rubric import Rubric
from gradebench.tui.widgets.answer_pane import AnswerPane


def _shown(answer: Answer) -> str:
    pane = AnswerPane(0, rubric=Rubric())
    pane.state.answer = answer
    console = Console(record=True, width=100)
    console.print(pane._answer_renderable())
    return console.export_text()


def _answer(**fields) -> Answer:
    base = dict(
        generation_id="g",
        problem_id="p",
        contender_id="c",
        raw_answer="    return a + b",
        code="def add(a, b):\n    return a + b\n",
        extract_method="signature-completion",
        status="done",
        tokens=5,
        tokens_per_second=None,
        total_seconds=None,
    )
    return Answer(**{**base, **fields})


def test_the_extractors_repairs_are_shown_under_the_extracted_code():
    shown = _shown(
        _answer(extract_notes=("the block is a function body; put the signature in front",))
    )
    lines = shown.splitlines()
    assert lines[0] == "extracted code (signature-completion)"
    assert lines[1].strip() == "note: the block is a function body; put the signature in front"


def test_an_answer_without_repairs_shows_no_note():
    assert "note:" not in _shown(_answer(extract_method="fenced"))
