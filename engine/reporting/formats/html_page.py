"""The report as one self-contained HTML page: inline CSS and SVG charts drawn here, no
script, no network."""

from __future__ import annotations

import html
from collections.abc import Sequence

from gradebench.engine.reporting.model import GroupRow, Report
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

HTML_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child, td.t { text-align: left; }
th { border-bottom: 2px solid #444; }
.settings { color: #666; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; }
"""

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")


def svg_score_chart(rows: Sequence[GroupRow], title: str) -> str:
    """Horizontal bars of mean score (0..1) with 95% CI whiskers, one per row."""
    label_width, bar_width, row_height, top = 220, 420, 26, 30
    shown = [r for r in rows if r.mean_score is not None]
    height = top + row_height * max(len(shown), 1) + 30
    width = label_width + bar_width + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="0" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_width + tick * bar_width
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{tick:g}</text>'
        )
    for i, row in enumerate(shown):
        y = top + i * row_height
        name = " / ".join(x for x in (row.contender, row.difficulty, row.tag) if x)
        color = PALETTE[i % len(PALETTE)]
        mean, low, high = row.mean_score or 0.0, row.ci_low or 0.0, row.ci_high or 0.0
        x_low, x_high = label_width + low * bar_width, label_width + high * bar_width
        mid = y + row_height / 2 - 2
        parts.append(
            f'<text x="{label_width - 6}" y="{mid + 4:.1f}" text-anchor="end">{html.escape(name)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{mean * bar_width:.1f}" '
            f'height="{row_height - 10}" fill="{color}"/>'
            f'<line x1="{x_low:.1f}" y1="{mid:.1f}" x2="{x_high:.1f}" y2="{mid:.1f}" stroke="#000"/>'
            f'<line x1="{x_low:.1f}" y1="{mid - 5:.1f}" x2="{x_low:.1f}" y2="{mid + 5:.1f}" stroke="#000"/>'
            f'<line x1="{x_high:.1f}" y1="{mid - 5:.1f}" x2="{x_high:.1f}" y2="{mid + 5:.1f}" stroke="#000"/>'
            f'<text x="{label_width + bar_width + 8}" y="{mid + 4:.1f}">{mean:.3f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(c)}</td>" if numeric(c) else f'<td class="t">{html.escape(c)}</td>'
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    headers, rows = display_table(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gradebench results</title>",
        f"<style>{HTML_STYLE}</style></head><body>",
        "<h1>gradebench results</h1>",
        f'<p class="settings">{html.escape(settings_line(report))}</p>',
        '<section id="charts">',
        svg_score_chart(report.contender_rows, "Mean score per contender (95% CI)"),
        svg_score_chart(report.difficulty_rows, "Mean score per contender and difficulty"),
        "</section>",
        "<h2>Results</h2>",
        _html_table(headers, rows),
        "<h2>Agreement</h2>",
        _html_table(["Figure", "Value"], agreement_lines(report)),
    ]
    if report.reviewers:
        out += ["<h2>Reviewers</h2>", _html_table(*reviewer_table(report))]
    if report.disputed_tests:
        out += ["<h2>Disputed tests</h2>", _html_table(*disputes_table(report))]
    if report.extraction:
        out += ["<h2>Extraction audits</h2>", _html_table(*extraction_table(report))]
    if report.pairwise.votes:
        out += [
            "<h2>Side-by-side votes</h2>",
            f"<p>{report.pairwise.votes} votes.</p>",
            _html_table(*pairwise_table(report)),
            _html_table(*pairs_table(report)),
        ]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
