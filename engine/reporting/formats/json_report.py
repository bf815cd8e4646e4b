"""The whole report as JSON: selection, grouping, rows, agreement, votes and contenders."""

from __future__ import annotations

import json
from dataclasses import asdict

from gradebench.engine.reporting.model import Report


def render_json(report: Report) -> str:
    payload = {
        "selection": asdict(report.selection),
        "by": list(report.by),
        "rows": [asdict(row) for row in report.rows],
        "agreement": asdict(report.agreement),
        "pairwise": asdict(report.pairwise),
        "contenders": [asdict(c) for c in report.contenders],
        "reviewers": [asdict(r) for r in report.reviewers],
        "extraction": [asdict(e) for e in report.extraction],
        "disputed_tests": [asdict(d) for d in report.disputed_tests],
        "contested_changed": report.contested_changed,
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
