"""Reports and raw grades as files: CSV, JSON, Markdown, LaTeX (booktabs), HTML.

``render_report`` turns an ``gradebench.engine.reporting.aggregate.Report`` into text in one of the
table formats; ``write_raw_grades`` streams every grade event (one row each, with
its problem, contender, model and prompt style) as CSV or JSON, so an export loses
nothing the database holds about a grade; ``read_raw_grades_csv`` reads such a
CSV back with its types. The HTML page is one self-contained file: inline CSS and
SVG charts drawn here, no script, no network.
"""

from __future__ import annotations

import csv
import html
import io
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import IO, Any

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.aggregate import (
    GroupRow,
    Report,
    ReportTables,
    Selection,
    check_selection,
    resolve_contenders,
    tune_for_reading,
)

TABLE_FORMATS = ("csv", "json", "md", "latex", "html")
RAW_FORMATS = ("csv", "json")


# --- columns ----------------------------------------------------------------------


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


def _display_table(report: Report) -> tuple[list[str], list[list[str]]]:
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


def _agreement_lines(report: Report) -> list[tuple[str, str]]:
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


def _pairwise_table(report: Report) -> tuple[list[str], list[list[str]]]:
    headers = ["Contender", "Wins", "Ties", "Losses", "Bradley-Terry [95% CI]"]
    rows = []
    for s in report.pairwise.standings:
        bt = "-" if s.strength is None else f"{s.strength:.3f} [{s.low:.3f}, {s.high:.3f}]"
        rows.append([s.contender, str(s.wins), str(s.ties), str(s.losses), bt])
    return headers, rows


def _pairs_table(report: Report) -> tuple[list[str], list[list[str]]]:
    headers = ["A", "B", "A wins", "B wins", "Ties", "Both bad"]
    rows = [
        [p.first, p.second, str(p.first_wins), str(p.second_wins), str(p.ties), str(p.both_bad)]
        for p in report.pairwise.pairs
    ]
    return headers, rows


def _settings_line(report: Report) -> str:
    s = report.selection
    parts = [
        f"suite: {s.suite or 'all'}",
        f"reviewers: {', '.join(s.reviewers) or 'all'}",
        f"reviewers combined by {s.combine}",
        f"grouped by {', '.join(report.by) or 'nothing'}",
        f"bootstrap seed {s.seed}",
    ]
    return "; ".join(parts)


# --- table formats ----------------------------------------------------------------------


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = report_columns(report)
    writer.writerow([c.key for c in columns])
    for row in report.rows:
        writer.writerow(["" if (v := c.value(row)) is None else v for c in columns])
    return buffer.getvalue()


def render_json(report: Report) -> str:
    payload = {
        "selection": asdict(report.selection),
        "by": list(report.by),
        "rows": [asdict(row) for row in report.rows],
        "agreement": asdict(report.agreement),
        "pairwise": asdict(report.pairwise),
        "contenders": [asdict(c) for c in report.contenders],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    aligns = [
        "---" if i == 0 or not rows or not _numeric(rows[0][i]) else "---:"
        for i in range(len(headers))
    ]
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "| " + " | ".join(aligns) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or (text[0] == "-" and text != "-") or text == "-")


def render_markdown(report: Report) -> str:
    headers, rows = _display_table(report)
    out = ["# gradebench results", "", _settings_line(report), "", _md_table(headers, rows), ""]
    out += ["## Agreement", "", _md_table(["Figure", "Value"], _agreement_lines(report)), ""]
    if report.pairwise.votes:
        out += ["## Side-by-side votes", "", f"{report.pairwise.votes} votes.", ""]
        out += [_md_table(*_pairwise_table(report)), "", _md_table(*_pairs_table(report)), ""]
    return "\n".join(out)


LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in text)


def _latex_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str, label: str
) -> str:
    spec = "l" * sum(1 for h in headers[:1]) + "r" * (len(headers) - 1)
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\small",
        rf"\caption{{{latex_escape(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in headers) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def render_latex(report: Report) -> str:
    """booktabs tables (``\\usepackage{booktabs}`` in the preamble), ready to \\input."""
    headers, rows = _display_table(report)
    # the key columns left-aligned, the figures right-aligned
    keys = sum(1 for key in report.by)
    table = _latex_table(headers, rows, f"Results ({_settings_line(report)}).", "tab:gradebench")
    if keys > 1:
        spec = "l" * keys + "r" * (len(headers) - keys)
        table = table.replace(
            rf"\begin{{tabular}}{{l{'r' * (len(headers) - 1)}}}", rf"\begin{{tabular}}{{{spec}}}"
        )
    out = ["% generated by gradebench; needs \\usepackage{booktabs}", table]
    if report.pairwise.standings:
        out.append(
            _latex_table(
                *_pairwise_table(report),
                f"Side-by-side votes ({report.pairwise.votes}).",
                "tab:gradebench-pairwise",
            )
        )
    return "\n\n".join(out) + "\n"


# --- HTML and its SVG charts ----------------------------------------------------------------

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
            f"<td>{html.escape(c)}</td>" if _numeric(c) else f'<td class="t">{html.escape(c)}</td>'
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: Report) -> str:
    headers, rows = _display_table(report)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gradebench results</title>",
        f"<style>{HTML_STYLE}</style></head><body>",
        "<h1>gradebench results</h1>",
        f'<p class="settings">{html.escape(_settings_line(report))}</p>',
        '<section id="charts">',
        svg_score_chart(report.contender_rows, "Mean score per contender (95% CI)"),
        svg_score_chart(report.difficulty_rows, "Mean score per contender and difficulty"),
        "</section>",
        "<h2>Results</h2>",
        _html_table(headers, rows),
        "<h2>Agreement</h2>",
        _html_table(["Figure", "Value"], _agreement_lines(report)),
    ]
    if report.pairwise.votes:
        out += [
            "<h2>Side-by-side votes</h2>",
            f"<p>{report.pairwise.votes} votes.</p>",
            _html_table(*_pairwise_table(report)),
            _html_table(*_pairs_table(report)),
        ]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


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


# --- raw grades ------------------------------------------------------------------------

RAW_COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (name, SQL expression, type for reading back: text | int | real)
    ("grade_id", "ge.id", "text"),
    ("generation_id", "ge.generation_id", "text"),
    ("problem_id", "g.problem_id", "text"),
    ("suite", "p.suite", "text"),
    ("difficulty", "p.difficulty", "text"),
    ("contender_id", "g.contender_id", "text"),
    ("contender", "c.name", "text"),
    ("model_sha256", "c.model_sha256", "text"),
    ("model", "m.name", "text"),
    ("prompt_style", "c.prompt_style", "text"),
    ("sample_index", "g.sample_index", "int"),
    ("reviewer", "ge.reviewer", "text"),
    ("created_at", "ge.created_at", "text"),
    ("score", "ge.score", "real"),
    ("format_ok", "ge.format_ok", "int"),
    ("suggested_score", "ge.suggested_score", "real"),
    ("note", "ge.note", "text"),
    ("rubric", "ge.rubric", "text"),
    ("replaces_id", "ge.replaces_id", "text"),
    ("blind", "ge.blind", "int"),
    ("run_id", "ge.run_id", "text"),
    ("generation_superseded_at", "g.superseded_at", "text"),
)
NOT_NULL_TEXT = frozenset({"note", "rubric"})
"""Text columns that are never NULL: an empty CSV cell is the empty string there."""


def _raw_filters(
    conn: sqlite3.Connection, selection: Selection, suite: str
) -> tuple[str, list[Any]]:
    """WHERE clause and parameters of a selection; ``suite`` is the SQL naming the suite."""
    check_selection(conn, selection)
    clauses: list[str] = []
    params: list[Any] = []
    if selection.suite is not None:
        clauses.append(f"{suite} = ?")
        params.append(selection.suite)
    if selection.problem_ids is not None:
        problem_id = suite.removesuffix(".suite") + ".id"
        clauses.append(f"{problem_id} IN ({','.join('?' * len(selection.problem_ids))})")
        params.extend(selection.problem_ids)
    if selection.reviewers:
        clauses.append(f"ge.reviewer IN ({','.join('?' * len(selection.reviewers))})")
        params.extend(selection.reviewers)
    if selection.contenders:
        _, chosen = resolve_contenders(conn, selection.contenders)
        clauses.append(f"g.contender_id IN ({','.join('?' * len(chosen))})")
        params.extend(c.id for c in chosen)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    return where, params


def _raw_query(
    conn: sqlite3.Connection, selection: Selection, select: str
) -> tuple[str, list[Any]]:
    where, params = _raw_filters(conn, selection, "p.suite")
    sql = f"""
        SELECT {select}
        FROM grade_events ge
        JOIN generations g ON g.id = ge.generation_id
        JOIN problems p ON p.id = g.problem_id
        JOIN contenders c ON c.id = g.contender_id
        LEFT JOIN models m ON m.sha256 = c.model_sha256
        {where}
    """
    return sql, params


def _csv_cell_sql(expr: str, kind: str) -> str:
    """SQL for one CSV cell: NULL is empty, text is quoted, reals keep every bit."""
    if kind == "text":
        return f"""COALESCE('"' || replace({expr}, '"', '""') || '"', '')"""
    if kind == "real":  # '!' lifts SQLite's 16-digit limit: 20 digits read back exactly
        return f"COALESCE(printf('%!.20g', {expr}), '')"
    return f"COALESCE(CAST({expr} AS TEXT), '')"


def _csv_cells_sql(columns: Sequence[tuple[str, str, str]], renamed: dict[str, str]) -> str:
    return " || ',' || ".join(
        _csv_cell_sql(renamed.get(expr, expr), kind) for _, expr, kind in columns
    )


_RAW_NAMES = [name for name, _, _ in RAW_COLUMNS]
PROBLEM_COLUMNS = slice(_RAW_NAMES.index("problem_id"), _RAW_NAMES.index("difficulty") + 1)
"""problem_id, suite, difficulty: the same for every grade of a problem."""
CONTENDER_COLUMNS = slice(_RAW_NAMES.index("contender_id"), _RAW_NAMES.index("prompt_style") + 1)
"""contender_id .. prompt_style: the same for every grade of a contender."""


def _raw_csv_query(conn: sqlite3.Connection, selection: Selection) -> tuple[str, list[Any]]:
    """One CSV line per grade event, oldest first, built by SQLite.

    The cells that come from a problem or a contender are quoted once per problem
    and contender (two small materialised tables) and pasted into each line, which
    is a third less work than quoting them on every one of the lines.
    """
    problem_cells = _csv_cells_sql(RAW_COLUMNS[PROBLEM_COLUMNS], {"g.problem_id": "p.id"})
    contender_cells = _csv_cells_sql(RAW_COLUMNS[CONTENDER_COLUMNS], {"g.contender_id": "c.id"})
    head = _csv_cells_sql(RAW_COLUMNS[: PROBLEM_COLUMNS.start], {})
    tail = _csv_cells_sql(RAW_COLUMNS[CONTENDER_COLUMNS.stop :], {})
    where, params = _raw_filters(conn, selection, "pd.suite")
    sql = f"""
        WITH pd AS MATERIALIZED (
            SELECT p.id AS id, p.suite AS suite, {problem_cells} AS cells FROM problems p
        ),
        cd AS MATERIALIZED (
            SELECT c.id AS id, {contender_cells} AS cells
            FROM contenders c LEFT JOIN models m ON m.sha256 = c.model_sha256
        )
        SELECT {head} || ',' || pd.cells || ',' || cd.cells || ',' || {tail}
        FROM grade_events ge
        JOIN generations g ON g.id = ge.generation_id
        JOIN pd ON pd.id = g.problem_id
        JOIN cd ON cd.id = g.contender_id
        {where}
        ORDER BY ge.created_at, ge.rowid
    """
    return sql, params


def write_raw_grades(conn: sqlite3.Connection, selection: Selection, fmt: str, out: IO[str]) -> int:
    """Every grade event matching the selection, oldest first; returns how many.

    Both formats are read in creation order straight from the ``grade_events_created``
    index (migration m003), so no sort of the 300,000 joined rows is needed.
    """
    if fmt not in RAW_FORMATS:
        raise UserError(f"--format: raw grades export as csv or json, not {fmt!r}")
    tune_for_reading(conn)
    if fmt == "csv":
        # SQLite builds each CSV line (RFC 4180 quoting) so Python only writes strings
        sql, params = _raw_csv_query(conn, selection)
        cursor = conn.execute(sql, params)
        out.write(",".join(name for name, _, _ in RAW_COLUMNS) + "\n")
        count = 0
        while batch := cursor.fetchmany(10_000):
            out.write("\n".join(row[0] for row in batch) + "\n")
            count += len(batch)
        return count
    # JSON objects are built by SQLite itself (json_object keeps NULLs, numbers and text)
    pairs = ", ".join(f"'{name}', {expr}" for name, expr, _ in RAW_COLUMNS)
    sql, params = _raw_query(conn, selection, f"json_object({pairs})")
    cursor = conn.execute(sql + " ORDER BY ge.created_at, ge.rowid", params)
    out.write("[")
    count = 0
    while batch := cursor.fetchmany(10_000):
        out.write(("," if count else "") + "\n" + ",\n".join(row[0] for row in batch))
        count += len(batch)
    out.write("\n]\n")
    return count


def read_raw_grades_csv(stream: IO[str]) -> list[dict[str, Any]]:
    """A raw-grades CSV back as typed rows (empty cell: NULL, except note and rubric)."""
    types = {name: kind for name, _, kind in RAW_COLUMNS}
    rows = []
    for record in csv.DictReader(stream):
        row: dict[str, Any] = {}
        for name, text in record.items():
            kind = types.get(name, "text")
            if text == "" and name not in NOT_NULL_TEXT:
                row[name] = None
            elif kind == "int":
                row[name] = int(text)
            elif kind == "real":
                row[name] = float(text)
            else:
                row[name] = text
        rows.append(row)
    return rows
