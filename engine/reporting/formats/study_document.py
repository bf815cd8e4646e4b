"""A study report in Markdown, LaTeX, HTML, CSV or JSON, each table followed by the
reproducibility footer (CSV: one table per file, the footer as ``#`` lines after it;
JSON: every figure unrounded, with the footer once)."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
import math
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.formats.html_page import HTML_STYLE, _html_table
from gradebench.engine.reporting.formats.latex import _latex_table, latex_escape
from gradebench.engine.reporting.formats.markdown import _md_table
from gradebench.engine.reporting.study_report import StudyReport
from gradebench.engine.reporting.study_tables import STUDY_CSV_TABLES, TextTable, study_tables

STUDY_FORMATS = ("md", "latex", "html", "csv", "json")


def _heading(report: StudyReport) -> str:
    suites = ", ".join(f"{s.name} ({len(s.problem_ids)} problems)" for s in report.suites)
    return f"Study {report.name}: {len(report.contenders)} contenders on {suites}."


def _markdown(report: StudyReport) -> str:
    out = [f"# Study: {report.name}", ""]
    if report.description:
        out += [report.description, ""]
    out += [_heading(report), ""]
    footer = "\n".join(f"- {label}: {value}" for label, value in report.footer.facts)
    for table in study_tables(report):
        shown = _md_table(table.headers, table.rows) if table.rows else table.empty
        out += [f"## {table.title}", "", shown, ""]
        out += [f"*{table.note}*", "", "Reproducibility:", "", footer, ""]
    return "\n".join(out)


def _latex(report: StudyReport) -> str:
    out = [f"% gradebench study report: {latex_escape(report.name)}"]
    footer = "\n".join(
        rf"\item {latex_escape(label)}: {latex_escape(value)}"
        for label, value in report.footer.facts
    )
    for table in study_tables(report):
        body = (
            _latex_table(table.headers, table.rows, table.title, f"tab:{report.name}-{table.key}")
            if table.rows
            else rf"\paragraph{{{latex_escape(table.title)}}} {latex_escape(table.empty)}"
        )
        out += [
            body,
            r"\begin{footnotesize}",
            latex_escape(table.note),
            r"\begin{itemize}",
            footer,
            r"\end{itemize}",
            r"\end{footnotesize}",
            "",
        ]
    return "\n".join(out)


def _html(report: StudyReport) -> str:
    footer = "".join(
        f"<li>{html.escape(label)}: {html.escape(value)}</li>"
        for label, value in report.footer.facts
    )
    parts = [
        "<!doctype html>",
        f'<html><head><meta charset="utf-8"><title>Study {html.escape(report.name)}</title>',
        f"<style>{HTML_STYLE} .footer {{ color: #555; font-size: 0.8em; }}</style></head><body>",
        f"<h1>Study: {html.escape(report.name)}</h1>",
    ]
    if report.description:
        parts.append(f"<p>{html.escape(report.description)}</p>")
    parts.append(f'<p class="settings">{html.escape(_heading(report))}</p>')
    for table in study_tables(report):
        parts += [
            f"<h2>{html.escape(table.title)}</h2>",
            _html_table(table.headers, table.rows)
            if table.rows
            else f"<p>{html.escape(table.empty)}</p>",
            f'<p class="settings">{html.escape(table.note)}</p>',
            f'<ul class="footer">{footer}</ul>',
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def _csv(report: StudyReport, name: str) -> str:
    if name not in STUDY_CSV_TABLES:
        raise UserError(f"--table: {name!r} is not one of {', '.join(STUDY_CSV_TABLES)}")
    tables: dict[str, TextTable] = {t.key: t for t in study_tables(report)}
    if name not in tables:
        raise UserError(f"--table: this study has no {name} table (no temperature sweep)")
    table = tables[name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.headers)
    writer.writerows(table.rows)
    for label, value in report.footer.facts:
        buffer.write(f"# {label}: {value}\n")
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    """Dataclasses as dicts, NaN as null."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _json(report: StudyReport) -> str:
    document = _plain(report)
    document["footer"] = dict(report.footer.facts)
    return json.dumps(document, indent=2)


def render_study(report: StudyReport, fmt: str, table: str = "results") -> str:
    """The report in ``fmt`` (one of ``STUDY_FORMATS``)."""
    if fmt == "md":
        return _markdown(report)
    if fmt == "latex":
        return _latex(report)
    if fmt == "html":
        return _html(report)
    if fmt == "csv":
        return _csv(report, table)
    if fmt == "json":
        return _json(report)
    raise UserError(f"--format: {fmt!r} is not one of {', '.join(STUDY_FORMATS)}")
