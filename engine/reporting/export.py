"""Which table formats a report exports to, and the renderer of each.

``render_report`` turns a ``gradebench.engine.reporting.model.Report`` into text in one of
``TABLE_FORMATS`` (the renderers live in ``gradebench.engine.reporting.formats``, one module
per format); raw grade events are exported by ``gradebench.engine.reporting.raw_grades``.
"""

from __future__ import annotations

from collections.abc import Callable

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.formats.csv_table import render_csv
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


def render_report(report: Report, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise UserError(f"--format: unknown format {fmt!r} (choose from {', '.join(RENDERERS)})")
    return RENDERERS[fmt](report)
