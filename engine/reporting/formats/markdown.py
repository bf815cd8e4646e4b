"""The report as Markdown: settings, the results table, agreement and side-by-side votes."""

from __future__ import annotations

from collections.abc import Sequence

from gradebench.engine.reporting.model import Report
from gradebench.engine.reporting.tables import (
    agreement_lines,
    display_table,
    disputes_table,
    extraction_table,
    numeric,
    pairs_table,
    pairwise_table,
    reviewer_table,
    settings_line,
)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    aligns = [
        "---" if i == 0 or not rows or not numeric(rows[0][i]) else "---:"
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(report: Report) -> str:
    headers, rows = display_table(report)
    out = ["# gradebench results", "", settings_line(report), "", _md_table(headers, rows), ""]
    out += ["## Agreement", "", _md_table(["Figure", "Value"], agreement_lines(report)), ""]
    if report.reviewers:
        out += ["## Reviewers", "", _md_table(*reviewer_table(report)), ""]
    if report.disputed_tests:
        out += ["## Disputed tests", "", _md_table(*disputes_table(report)), ""]
    if report.extraction:
        out += ["## Extraction audits", "", _md_table(*extraction_table(report)), ""]
    if report.pairwise.votes:
        out += ["## Side-by-side votes", "", f"{report.pairwise.votes} votes.", ""]
        out += [_md_table(*pairwise_table(report)), "", _md_table(*pairs_table(report)), ""]
    return "\n".join(out)
