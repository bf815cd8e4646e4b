"""The code candidates of an answer (what ``c`` cycles through) on any text a model can
write: never an exception, the extractor's choice first, no candidate twice, and every
candidate's code taken from the answer (or, for the extractor, from its rules)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gradebench.engine.answers.candidates import EXTRACTOR, code_candidates
from gradebench.engine.answers.fences import normalise
from gradebench.engine.problems.suites.files import load_directory
from tests.tui.helpers import DEMO_SUITE

PROBLEM = next(p for p in load_directory(DEMO_SUITE).problems if p.entry_point == "add")

PIECES = st.sampled_from(
    [
        "```python\n",
        "```\n",
        "~~~py\n",
        "```text\n",
        "def add(a, b):\n",
        "    return a + b\n",
        "    return a - b\n",
        "print(add(1, 2))\n",
        "Here is the code:\n",
        ">>> add(1, 2)\n",
        "\t\r\n",
        "\ufeff",
        "<|im_end|>",
        "x = [\n",
    ]
)
ANSWERS = st.one_of(st.text(max_size=300), st.lists(PIECES, max_size=25).map("".join))


@settings(max_examples=300, deadline=None)
@given(ANSWERS)
def test_candidates_of_any_answer(answer: str) -> None:
    candidates = code_candidates(answer, PROBLEM)
    assert candidates and candidates[0].label == EXTRACTOR
    labels = [c.label for c in candidates]
    assert len(labels) == len(set(labels))
    codes = [c.code.strip() for c in candidates]
    assert len(codes) == len(set(codes))
    text = normalise(answer)
    for candidate in candidates[1:]:
        assert candidate.code.strip()
        if candidate.label == "raw answer":
            assert candidate.code == text
        elif candidate.label.startswith("block"):
            # a block's lines are lines of the answer (dedented by its fence's indent)
            assert all(line.strip() in text for line in candidate.code.splitlines())
