"""A ``StudyReport`` as titled tables of text cells, the same for every output format.

The results table (one row per suite x contender x difficulty), the paired comparisons,
and, for a temperature sweep, the best temperature per k. Cells are plain text with the
units in the headers; "-" marks what cannot be computed (not graded, not measured, too
few samples for the k).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradebench.engine.reporting.study_report import StudyReport, StudyRow

DASH = "-"


@dataclass(frozen=True)
class TextTable:
    key: str
    """Short name (``results``, ``comparisons``, ``temperatures``): CSV's ``--table``."""
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""
    empty: str = "Nothing to show."
    """Printed instead of a table without rows."""


def _share(value: float | None) -> str:
    return DASH if value is None else f"{100 * value:.0f}%"


def _number(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _interval(
    mean: float | None, low: float | None, high: float | None, percent: bool, problems: int = 2
) -> str:
    if mean is None or low is None or high is None:
        return DASH
    if problems < 2:  # one problem: resampling problems cannot say how far the mean may be
        return f"{100 * mean:.0f}%" if percent else f"{mean:.2f}"
    if percent:
        return f"{100 * mean:.0f}% [{100 * low:.0f}, {100 * high:.0f}]"
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def _memory(value: int | None) -> str:
    return DASH if value is None else f"{value / 2**20:.0f}"


def _results_row(row: StudyRow, ks: tuple[int, ...]) -> tuple[str, ...]:
    cells = [row.suite, row.contender, f"{row.temperature:g}", row.difficulty, str(row.problems)]
    cells.append(
        _interval(
            row.pass_ci.mean if row.pass_ci else None,
            row.pass_ci.low if row.pass_ci else None,
            row.pass_ci.high if row.pass_ci else None,
            percent=True,
            problems=row.pass_ci.problems if row.pass_ci else 0,
        )
    )
    cells += [_share(row.pass_at_k(k)) for k in ks if k != 1]
    score = row.score
    cells += [
        f"{row.graded}",
        _interval(
            score.mean if score else None,
            score.low if score else None,
            score.high if score else None,
            percent=False,
            problems=score.problems if score else 0,
        ),
        "/".join(_share(v) for v in (row.correct, row.partial, row.incorrect))
        if row.graded
        else DASH,
        _share(row.format_rate),
        _number(row.ttft_seconds),
        _number(row.tokens_per_second, 1),
        _number(row.seconds_per_answer, 1),
        _number(row.cpu_seconds, 1),
        _memory(row.peak_rss_bytes),
    ]
    return tuple(cells)


def results_table(report: StudyReport) -> TextTable:
    headers = ["Suite", "Contender", "T", "Difficulty", "Problems", "pass@1 [95% CI]"]
    headers += [f"pass@{k}" for k in report.ks if k != 1]
    headers += [
        "Graded",
        "Human score [95% CI]",
        "Correct/partial/incorrect",
        "Format",
        "TTFT (s)",
        "Tokens/s",
        "s/answer",
        "CPU s/answer",
        "Peak RSS (MiB)",
    ]
    return TextTable(
        "results",
        "Results per contender, suite and difficulty",
        tuple(headers),
        tuple(_results_row(row, report.ks) for row in report.rows),
        "Intervals: percentile bootstrap resampling problems (all samples of a problem"
        " together). pass@k only where every problem has k samples; T is the temperature.",
        "No answer of the study's contenders to its problems yet (`gradebench study run`).",
    )


def comparisons_table(report: StudyReport) -> TextTable:
    rows = []
    for c in report.comparisons:
        d = c.difference
        rows.append(
            (
                c.suite,
                "prompt style" if c.kind == "prompt" else "model",
                c.a,
                c.b,
                str(c.tested),
                f"{c.only_a}/{c.only_b}",
                DASH if c.mcnemar_p is None else f"{c.mcnemar_p:.3f}",
                str(d.problems) if d else "0",
                DASH if d is None else f"{d.difference:+.2f} [{d.low:+.2f}, {d.high:+.2f}]",
            )
        )
    return TextTable(
        "comparisons",
        "Paired comparisons on the same problems",
        (
            "Suite",
            "Compares",
            "A",
            "B",
            "Problems tested",
            "Pass only A/only B",
            "McNemar exact p",
            "Problems graded",
            "Score A-B [95% CI]",
        ),
        tuple(rows),
        "McNemar's exact test on the first sample's pass/fail of the problems both were"
        " tested on; score difference: mean over problems graded for both of A's mean human"
        " score minus B's, paired bootstrap over problems.",
        "No two contenders differ only in prompt style or only in model (at one temperature).",
    )


def temperatures_table(report: StudyReport) -> TextTable | None:
    if not report.best_temperatures:
        return None
    return TextTable(
        "temperatures",
        "Best temperature for each k",
        ("Suite", "Contender", "k", "Temperature", "pass@k"),
        tuple(
            (b.suite, b.contender, str(b.k), f"{b.temperature:g}", _share(b.value))
            for b in report.best_temperatures
        ),
        "pass@k reported at the temperature that maximises it, per k.",
    )


def study_tables(report: StudyReport) -> list[TextTable]:
    tables = [results_table(report), comparisons_table(report)]
    swept = temperatures_table(report)
    if swept is not None:
        tables.append(swept)
    return tables


STUDY_CSV_TABLES = ("results", "comparisons", "temperatures")
