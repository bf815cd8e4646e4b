"""The code candidates of one answer, for a reviewer auditing the extraction: what the
extractor chose, each fenced block as written, the blocks joined, the code outside the
fences, and the raw answer. The same code under two names is offered once, under the
first name; empty candidates are left out (but the extractor's choice always comes first,
even when it found no code)."""

from __future__ import annotations

from dataclasses import dataclass

from gradebench.engine.answers.extract import extract_for_problem
from gradebench.engine.answers.fences import blank_out_blocks, find_fenced_blocks, normalise
from gradebench.engine.answers.pysource import longest_parseable_region
from gradebench.engine.problems.model import Problem

EXTRACTOR = "extractor"
"""The label of the extractor's own choice (always the first candidate)."""


@dataclass(frozen=True)
class CodeCandidate:
    label: str
    """``extractor``, ``block 2 (python)``, ``blocks joined``, ``unfenced``, ``raw answer``."""
    code: str


def code_candidates(answer: str, problem: Problem) -> list[CodeCandidate]:
    """Every candidate the extractor saw, the extractor's choice first."""
    text = normalise(answer)
    blocks = find_fenced_blocks(text)
    found = [CodeCandidate(EXTRACTOR, extract_for_problem(answer, problem).code)]
    for number, block in enumerate(blocks, start=1):
        found.append(CodeCandidate(f"block {number} ({block.lang or 'no label'})", block.code))
    if len(blocks) > 1:
        found.append(CodeCandidate("blocks joined", "\n\n".join(b.code for b in blocks)))
    outside = blank_out_blocks(text, blocks) if blocks else text
    region = longest_parseable_region(outside, problem.entry_point)
    if region is not None:
        found.append(CodeCandidate("unfenced", region))
    found.append(CodeCandidate("raw answer", text))
    seen = {found[0].code.strip()}
    unique = [found[0]]  # the extractor's choice, even when it found no code
    for candidate in found[1:]:
        key = candidate.code.strip()
        if key and key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique
