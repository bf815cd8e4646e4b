"""The report's tables as CSV, machine-readable values (empty: no data): the results (one
row per group), the agreement figures (one row per figure, with adjudication counts) or
the reviewers (one row each: pace, position bias, rechecks). One table per file."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import fields

from gradebench.engine.reporting.model import (
    DisputedTestRow,
    ExtractionAudit,
    Report,
    ReviewerStats,
)
from gradebench.engine.reporting.tables import report_columns


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = report_columns(report)
    writer.writerow([c.key for c in columns])
    for row in report.rows:
        writer.writerow(["" if (v := c.value(row)) is None else v for c in columns])
    return buffer.getvalue()


CSV_TABLES = ("results", "agreement", "reviewers", "extraction", "disputes")


def render_csv_agreement(report: Report) -> str:
    """Every agreement figure as (figure, value): kappas, disputed and adjudicated answers,
    reasons, agreement with the tests."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    a = report.agreement
    writer.writerow(["figure", "value"])
    writer.writerow(["reviewers", ";".join(a.reviewers)])
    writer.writerow(["answers_graded_by_two_or_more", a.items])
    for pair in a.cohen:
        writer.writerow(
            [f"cohen_kappa:{pair.first}/{pair.second}", "" if pair.kappa is None else pair.kappa]
        )
        writer.writerow([f"cohen_items:{pair.first}/{pair.second}", pair.items])
    writer.writerow(["fleiss_kappa", "" if a.fleiss_kappa is None else a.fleiss_kappa])
    writer.writerow(
        ["krippendorff_alpha", "" if a.krippendorff_alpha is None else a.krippendorff_alpha]
    )
    writer.writerow(["disputed", a.disputed])
    writer.writerow(["adjudicated", a.adjudicated])
    writer.writerow(["votes_disputed", a.votes_disputed])
    writer.writerow(["votes_adjudicated", a.votes_adjudicated])
    writer.writerow(["inconclusive_runs", a.inconclusive_runs])
    writer.writerow(["inconclusive_left", a.inconclusive_left])
    for code, count in a.reasons:
        writer.writerow([f"reason:{code}", count])
    writer.writerow(["auto_compared", a.auto_compared])
    writer.writerow(["auto_agree", a.auto_agree])
    writer.writerow(["human_raised", a.human_raised])
    writer.writerow(["human_lowered", a.human_lowered])
    return buffer.getvalue()


def _dataclass_rows(kind: type, items: Sequence[object]) -> str:
    """A header of ``kind``'s field names, then one row per item (empty: None)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = [f.name for f in fields(kind)]
    writer.writerow(names)
    for item in items:
        writer.writerow(["" if (v := getattr(item, n)) is None else v for n in names])
    return buffer.getvalue()


def render_csv_reviewers(report: Report) -> str:
    """One row per reviewer with every ``ReviewerStats`` field."""
    return _dataclass_rows(ReviewerStats, report.reviewers)


def render_csv_extraction(report: Report) -> str:
    """One row per contender and extraction method: audited, changed."""
    return _dataclass_rows(ExtractionAudit, report.extraction)


def render_csv_disputes(report: Report) -> str:
    """One row per disputed test: problem, test, reasons, answers it alone fails."""
    return _dataclass_rows(DisputedTestRow, report.disputed_tests)
