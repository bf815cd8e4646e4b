"""Disagreement triage: where a reviewer's grade and the test verdict disagree, and why.

A grade disagrees with the tests when it gives credit to code that fails them (score above
0, verdict not ``pass``) or takes credit from code that passes them (score below 1,
verdict ``pass``). The reviewer can say why with one of ``REASONS``; the reason travels
with the grade (a new grade event, same score, ``rubric.reason``), so it is append-only
like every grade, and the exports count the reasons per contender.
"""

from __future__ import annotations

REASONS: tuple[tuple[str, str], ...] = (
    ("weak_tests", "weak tests"),
    ("disputed_test", "disputed test"),
    ("wrong_extraction", "wrong extraction"),
    ("timeout_under_load", "timeout under load"),
    ("ambiguous_statement", "ambiguous statement"),
    ("format_only", "format only"),
    ("other", "other (see the note)"),
)
"""(code, label), in key order 1..7."""

REASON_LABELS = dict(REASONS)
SCORE_EPS = 1e-9


def disagreement(score: float | None, verdict: str | None) -> str | None:
    """How a grade disagrees with the tests, or None when it does not (or cannot tell)."""
    if score is None or verdict is None:
        return None
    if verdict != "pass" and score > SCORE_EPS:
        return "credit given to failing code"
    if verdict == "pass" and score < 1 - SCORE_EPS:
        return "credit taken from passing code"
    return None
