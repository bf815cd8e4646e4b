"""The shapes every export format shares: columns, cell text, and the report's side tables.

``report_columns`` lists the main table's columns (group keys, then the figures that have
data); ``format_value`` is the human text of a cell; ``display_table`` is the main table as
human formats show it (mean and interval in one cell); ``agreement_lines``,
``pairwise_table`` and ``pairs_table`` are the agreement and side-by-side tables;
``settings_line`` says what the report was computed with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradebench.engine.grading.triage import REASON_LABELS
from gradebench.engine.reporting.model import GroupRow, Report, ReportTables


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    value: Callable[[GroupRow], Any]
    kind: str = "num"
    """``text``, ``int``, ``num`` (two decimals), ``share`` (percent), ``sec`` or ``score``."""


def report_columns(report: Report | ReportTables) -> list[Column]:
    """The columns of the main table: group keys, then the figures that have data."""
    columns: list[Column] = []
    if "contender" in report.by:
        columns.append(Column("contender", "Contender", lambda r: r.contender, "text"))
    if "difficulty" in report.by:
        columns.append(Column("difficulty", "Difficulty", lambda r: r.difficulty, "text"))
    if "tag" in report.by:
        columns.append(Column("tag", "Tag", lambda r: r.tag, "text"))
    columns += [
        Column("problems", "Problems", lambda r: r.problems, "int"),
        Column("graded", "Graded", lambda r: r.graded, "int"),
        Column("mean_score", "Mean score", lambda r: r.mean_score, "score"),
        Column("ci_low", "CI low", lambda r: r.ci_low),
        Column("ci_high", "CI high", lambda r: r.ci_high),
        Column("correct", "Correct", lambda r: r.correct, "share"),
        Column("partial", "Partial", lambda r: r.partial, "share"),
        Column("incorrect", "Incorrect", lambda r: r.incorrect, "share"),
        Column("format_rate", "Format ok", lambda r: r.format_rate, "share"),
    ]
    for k in report.ks:
        if k == 1 or any(row.pass_at_k(k) is not None for row in report.rows):
            columns.append(Column(f"pass_at_{k}", f"pass@{k}", _pass_getter(k), "share"))
    if any(row.base_pass_at_1 is not None for row in report.rows):
        columns += [
            Column("base_pass_at_1", "Base pass@1", lambda r: r.base_pass_at_1, "share"),
            Column("plus_pass_at_1", "Plus pass@1", lambda r: r.plus_pass_at_1, "share"),
        ]
    columns += [
        Column("mean_ttft_seconds", "TTFT (s)", lambda r: r.mean_ttft_seconds, "sec"),
        Column("mean_tokens_per_second", "Tokens/s", lambda r: r.mean_tokens_per_second),
        Column("mean_tokens", "Answer tokens", lambda r: r.mean_tokens, "int"),
        Column("mean_seconds", "Time/problem (s)", lambda r: r.mean_seconds, "sec"),
    ]
    return columns


def _pass_getter(k: int) -> Callable[[GroupRow], float | None]:
    return lambda row: row.pass_at_k(k)


def format_value(value: Any, kind: str) -> str:
    """Human text for a cell ('-' for no data)."""
    if value is None:
        return "-"
    if kind == "text":
        return str(value)
    if kind == "int":
        return f"{round(value):d}" if isinstance(value, float) else str(value)
    if kind == "share":
        return f"{100 * value:.1f}%"
    if kind == "sec":
        return f"{value:.2f}"
    if kind == "score":
        return f"{value:.3f}"
    return f"{value:.2f}"


def _score_with_ci(row: GroupRow) -> str:
    if row.mean_score is None:
        return "-"
    return f"{row.mean_score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]"


def display_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Headers and cells for human formats: mean and CI in one cell."""
    headers: list[str] = []
    getters: list[Callable[[GroupRow], str]] = []
    for column in report_columns(report):
        if column.key in ("ci_low", "ci_high"):
            continue
        if column.key == "mean_score":
            headers.append("Mean score [95% CI]")
            getters.append(_score_with_ci)
            continue
        headers.append(column.header)
        getters.append(lambda r, c=column: format_value(c.value(r), c.kind))
    return headers, [[get(row) for get in getters] for row in report.rows]


def agreement_lines(report: Report) -> list[tuple[str, str]]:
    a = report.agreement
    lines = [
        ("Reviewers", ", ".join(a.reviewers) or "-"),
        ("Answers graded by two or more reviewers", str(a.items)),
    ]
    for pair in a.cohen:
        lines.append(
            (
                f"Cohen's kappa {pair.first} / {pair.second} ({pair.items} answers)",
                format_value(pair.kappa, "score"),
            )
        )
    lines += [
        ("Fleiss' kappa", format_value(a.fleiss_kappa, "score")),
        ("Krippendorff's alpha (ordinal)", format_value(a.krippendorff_alpha, "score")),
        ("Answers whose reviewers gave different scores", str(a.disputed)),
        ("Answers with an adjudicated final grade", str(a.adjudicated)),
        ("Answer pairs whose reviewers voted differently", str(a.votes_disputed)),
        ("Answer pairs with an adjudicated final vote", str(a.votes_adjudicated)),
        ("Test runs starved by generation beside them (inconclusive)", str(a.inconclusive_runs)),
        ("Answers still inconclusive (not rerun yet)", str(a.inconclusive_left)),
    ]
    lines += [
        (f"Why a grade differs from the tests: {REASON_LABELS.get(code, code)}", str(count))
        for code, count in a.reasons
    ]
    if a.auto_compared:
        lines += [
            (
                "Reviewer agrees with the tests",
                f"{a.auto_agree} of {a.auto_compared} ({100 * a.auto_agree / a.auto_compared:.1f}%)",
            ),
            ("Tests failed, reviewer gave credit", str(a.human_raised)),
            ("Tests passed, reviewer took credit away", str(a.human_lowered)),
        ]
    return lines


def reviewer_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Per reviewer: answers graded, votes, left-pane share, pace and its drift, rechecks
    and their agreement with the first grades."""
    headers = [
        "Reviewer",
        "Answers graded",
        "Votes",
        "Left-pane share",
        "s per answer",
        "Drift (s)",
        "Rechecks",
        "Same on recheck",
        "Intra-rater kappa",
    ]

    def number(value: float | None, pattern: str) -> str:
        return "-" if value is None else pattern.format(value)

    rows = [
        [
            r.reviewer,
            str(r.graded),
            str(r.votes),
            number(r.left_share, "{:.2f}"),
            number(r.seconds_per_answer, "{:.1f}"),
            number(r.pace_drift, "{:+.1f}"),
            str(r.rechecks),
            number(r.recheck_same, "{:.2f}"),
            number(r.recheck_kappa, "{:.2f}"),
        ]
        for r in report.reviewers
    ]
    return headers, rows


def extraction_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """Per contender and extraction method: answers whose code candidates a reviewer
    looked at, and how often they took another than the extractor's (the measured
    extraction error rate)."""
    headers = ["Contender", "Extraction method", "Audited", "Changed", "Changed share"]
    rows = [
        [
            e.contender,
            e.method,
            str(e.audited),
            str(e.changed),
            f"{e.changed / e.audited:.2f}" if e.audited else "-",
        ]
        for e in report.extraction
    ]
    return headers, rows


def disputes_table(report: Report) -> tuple[list[str], list[list[str]]]:
    """The disputed tests: problem, test, who disputes it and why, and the answers this
    test alone fails (they pass without it)."""
    headers = ["Problem", "Test", "Disputed by", "Answers it alone fails"]
    rows = [
        [d.problem_id, str(d.test_index), d.reasons, str(d.answers_changed)]
        for d in report.disputed_tests
    ]
    return headers, rows


def pairwise_table(report: Report) -> tuple[list[str], list[list[str]]]:
    headers = ["Contender", "Wins", "Ties", "Losses", "Bradley-Terry [95% CI]"]
    rows = []
    for s in report.pairwise.standings:
        bt = "-" if s.strength is None else f"{s.strength:.3f} [{s.low:.3f}, {s.high:.3f}]"
        rows.append([s.contender, str(s.wins), str(s.ties), str(s.losses), bt])
    return headers, rows


def pairs_table(report: Report) -> tuple[list[str], list[list[str]]]:
    headers = ["A", "B", "A wins", "B wins", "Ties", "Both bad"]
    rows = [
        [p.first, p.second, str(p.first_wins), str(p.second_wins), str(p.ties), str(p.both_bad)]
        for p in report.pairwise.pairs
    ]
    return headers, rows


def settings_line(report: Report) -> str:
    s = report.selection
    parts = [
        f"suite: {s.suite or 'all'}",
        f"reviewers: {', '.join(s.reviewers) or 'all'}",
        f"reviewers combined by {s.combine}",
        f"tests: {s.tests}"
        + (
            f" ({len(report.disputed_tests)} disputed, {report.contested_changed} verdicts differ)"
            if report.disputed_tests
            else ""
        ),
        f"grouped by {', '.join(report.by) or 'nothing'}",
        f"bootstrap seed {s.seed}",
    ]
    return "; ".join(parts)


def numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text != "-") or text == "-")
