"""The results table as CSV: one row per group, machine-readable values (empty: no data)."""

from __future__ import annotations

import csv
import io

from gradebench.engine.reporting.model import Report
from gradebench.engine.reporting.tables import report_columns


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = report_columns(report)
    writer.writerow([c.key for c in columns])
    for row in report.rows:
        writer.writerow(["" if (v := c.value(row)) is None else v for c in columns])
    return buffer.getvalue()
