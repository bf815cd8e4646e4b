"""Which table formats a report exports to, and the renderer of each.

``render_report`` turns a ``gradebench.engine.reporting.model.Report`` into text in one of
``TABLE_FORMATS`` (the renderers live in ``gradebench.engine.reporting.formats``, one module
per format); raw grade events are exported by ``gradebench.engine.reporting.raw_grades``.
"""

from __future__ import annotations

from collections.abc import Callable

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.formats.csv_table import (
    CSV_TABLES,
    render_csv,
    render_csv_agreement,
    render_csv_disputes,
    render_csv_extraction,
    render_csv_reviewers,
)
from gradebench.engine.reporting.formats.html_page import render_html
from gradebench.engine.reporting.formats.json_report import render_json
from gradebench.engine.reporting.formats.latex import render_latex
from gradebench.engine.reporting.formats.markdown import render_markdown
from gradebench.engine.reporting.model import Report

TABLE_FORMATS = ("csv", "json", "md", "latex", "html")


RENDERERS: dict[str, Callable[[Report], str]] = {
    "csv": render_csv,
    "json": render_json,
    "md": render_markdown,
    "latex": render_latex,
    "html": render_html,
}


CSV_RENDERERS: dict[str, Callable[[Report], str]] = {
    "results": render_csv,
    "agreement": render_csv_agreement,
    "reviewers": render_csv_reviewers,
    "extraction": render_csv_extraction,
    "disputes": render_csv_disputes,
}


def render_report(report: Report, fmt: str, table: str = "results") -> str:
    """``report`` as ``fmt``; CSV holds one table per file, chosen by ``table``."""
    if fmt not in RENDERERS:
        raise UserError(f"--format: unknown format {fmt!r} (choose from {', '.join(RENDERERS)})")
    if table not in CSV_TABLES:
        raise UserError(f"--table: unknown table {table!r} (choose from {', '.join(CSV_TABLES)})")
    if fmt == "csv":
        return CSV_RENDERERS[table](report)
    if table != "results":
        raise UserError(f"--table: only CSV holds one table per file; {fmt} has them all")
    return RENDERERS[fmt](report)
