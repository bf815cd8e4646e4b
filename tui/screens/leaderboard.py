"""The leaderboard: aggregate table, score bars with confidence intervals, agreement, votes.

Pushed from the grading screen (key ``L``). The numbers come from
``gradebench.engine.reporting.report.report_in_stages``, computed in a thread worker on its own
SQLite connection so the UI never waits on a query. The aggregate table and the
score bars are shown as soon as they are computed (``tables_shown`` counts that);
agreement, the per-difficulty bars and the side-by-side votes follow when the
rest of the report is ready (``loads`` counts complete reports). A timer polls a
cheap fingerprint of the grades and votes (their largest rowid) and recomputes
when a grade or a vote was added; ``refresh_data()`` does the same on demand.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from gradebench.engine.reporting.model import GroupRow, Report, ReportTables, Selection
from gradebench.engine.reporting.report_cache import cached_report_in_stages, grade_change_marker
from gradebench.engine.reporting.tables import format_value

BAR_WIDTH = 40
TIMING_COLUMNS = {"mean_ttft_seconds", "mean_tokens_per_second", "mean_seconds"}
POLL_SECONDS = 1.0
BAR_COLORS = ("dodger_blue2", "dark_orange", "green3", "red3", "turquoise2", "gold1", "orchid")


def _database_path(db: Any) -> Path:
    """The file behind a sqlite_utils Database or a sqlite3 connection."""
    from gradebench.engine.store.database import database_file

    path = database_file(getattr(db, "conn", db))
    if path is not None:
        return path
    raise ValueError("leaderboard: the database has no file (in-memory databases cannot be shared)")


def score_bars(rows: list[GroupRow], *, width: int = BAR_WIDTH, label_width: int = 28) -> Text:
    """One line per row: label, a bar of the mean score (0..1), the CI as whiskers, the figures.

    The bar is drawn in full blocks up to the mean; the confidence interval is
    marked with ``├`` and ``┤`` at its ends and ``─`` over the part the bar does not
    cover, so overlapping intervals between contenders are visible at a glance.
    """
    text = Text()
    for i, row in enumerate(rows):
        name = " / ".join(x for x in (row.contender, row.difficulty, row.tag) if x)
        text.append(f"{name[:label_width]:<{label_width}} ")
        if row.mean_score is None:
            text.append("(not graded yet)\n", style="dim")
            continue
        cells = [" "] * (width + 1)
        filled = round(row.mean_score * width)
        for x in range(filled):
            cells[x] = "█"
        low = round((row.ci_low or 0.0) * width)
        high = round((row.ci_high or 0.0) * width)
        for x in range(low, high + 1):
            if cells[x] == " ":
                cells[x] = "─"
        cells[low] = "├"
        cells[high] = "┤"
        color = BAR_COLORS[i % len(BAR_COLORS)]
        for cell in cells:
            text.append(cell, style=color if cell == "█" else "bold")
        text.append(f" {row.mean_score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}] n={row.graded}\n")
    return text


class LeaderboardScreen(Screen[None]):
    """Results so far; recomputed whenever a grade or vote lands in the database."""

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape,q", "close", "Back"),
        Binding("r", "refresh", "Refresh"),
        Binding("m", "toggle_combine", "Mean/majority/adjudicated"),
        Binding("d", "toggle_difficulty", "By difficulty"),
    ]

    DEFAULT_CSS = """
    LeaderboardScreen #lb-body { padding: 0 1; }
    LeaderboardScreen DataTable { height: auto; max-height: 20; margin-bottom: 1; }
    LeaderboardScreen .lb-title { text-style: bold; margin-top: 1; }
    LeaderboardScreen #lb-status { color: $text-muted; }
    """

    def __init__(
        self,
        db: Any = None,
        *,
        db_path: str | Path | None = None,
        selection: Selection | None = None,
        poll_seconds: float = POLL_SECONDS,
        stable: bool = False,
    ) -> None:
        super().__init__()
        self.stable = stable
        """Leave times, speeds and the clock out (deterministic screenshots)."""
        if db_path is None:
            if db is None:
                raise ValueError("LeaderboardScreen needs db or db_path")
            db_path = _database_path(db)
        self.db_path = Path(db_path)
        self.selection = selection or Selection()
        self.by_difficulty = False
        self.poll_seconds = poll_seconds
        self.report: Report | None = None
        self.load_seconds: float | None = None
        """Seconds the worker took for the last complete report."""
        self.loads = 0
        """Complete reports shown (table, bars, agreement, votes)."""
        self.table_seconds: float | None = None
        """Seconds from the last request until its aggregate table was shown."""
        self.tables_shown = 0
        """Aggregate tables shown (each request shows one, before or with its report)."""
        self._marker: tuple[int, ...] | None = None
        self._marker_conn: sqlite3.Connection | None = None

    def compose(self):
        yield Header()
        with VerticalScroll(id="lb-body"):
            yield Static("loading…", id="lb-status")
            yield Static("Results", classes="lb-title")
            yield DataTable(id="lb-table", cursor_type="row", zebra_stripes=True)
            yield Static("Mean score per contender, 95% CI", classes="lb-title")
            yield Static("", id="lb-bars")
            yield Static("Mean score per contender and difficulty", classes="lb-title")
            yield Static("", id="lb-difficulty-bars")
            yield Static("Agreement", classes="lb-title")
            yield Static("", id="lb-agreement")
            yield Static("Side-by-side votes", classes="lb-title")
            yield DataTable(id="lb-pairwise", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "gradebench"
        self.sub_title = "leaderboard"
        self.refresh_data()
        self.set_interval(self.poll_seconds, self._poll)

    def on_unmount(self) -> None:
        if self._marker_conn is not None:
            self._marker_conn.close()
            self._marker_conn = None

    # --- data ---

    def refresh_data(self) -> None:
        """Recompute the report in a worker; the newest request wins."""
        self._load(self.selection, self.by_difficulty)

    def _poll(self) -> None:
        if self._marker_conn is None:
            self._marker_conn = sqlite3.connect(str(self.db_path), check_same_thread=False)
        try:
            marker = grade_change_marker(self._marker_conn)
        except sqlite3.Error:
            return
        if self._marker is not None and marker != self._marker:
            self.refresh_data()
        self._marker = marker

    @work(thread=True, exclusive=True, group="leaderboard", exit_on_error=False)
    def _load(self, selection: Selection, by_difficulty: bool) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        started = time.perf_counter()
        staged = False  # the table of this request is on screen already
        conn = sqlite3.connect(str(self.db_path), check_same_thread=False)
        try:
            by = ("contender", "difficulty") if by_difficulty else ("contender",)
            for stage, marker in cached_report_in_stages(
                conn, str(self.db_path.resolve()), selection, by=by, bt_resamples=100
            ):
                if worker.is_cancelled:  # a newer request replaced this one
                    return
                elapsed = time.perf_counter() - started
                if isinstance(stage, Report):
                    self.app.call_from_thread(self._show, stage, marker, elapsed, staged)
                else:
                    self.app.call_from_thread(self._show_tables, stage, elapsed)
                    staged = True
        finally:
            conn.close()

    def on_worker_state_changed(self, event) -> None:  # Worker.StateChanged
        from textual.worker import WorkerState

        if event.worker.group == "leaderboard" and event.state == WorkerState.ERROR:
            self.query_one("#lb-status", Static).update(
                f"could not compute the leaderboard: {event.worker.error}"
            )

    def _status(self, tables: ReportTables | Report, done: str) -> None:
        s = tables.selection
        self.query_one("#lb-status", Static).update(
            f"suite {s.suite or 'all'} · reviewers {', '.join(s.reviewers) or 'all'} · "
            f"combined by {s.combine} (m) · "
            f"{'by difficulty' if self.by_difficulty else 'by contender'} (d) · {done}"
        )

    def _show_tables(self, tables: ReportTables, elapsed: float) -> None:
        """The aggregate table and score bars, while the rest is still computed."""
        self._status(tables, f"table{self._took(elapsed)}, computing agreement and votes…")
        self._fill_table(tables)
        self.query_one("#lb-bars", Static).update(score_bars(list(tables.contender_rows)))
        self.table_seconds = elapsed
        self.tables_shown += 1

    def _show(self, report: Report, marker: tuple[int, ...], elapsed: float, staged: bool) -> None:
        self.report = report
        self.load_seconds = elapsed
        self.loads += 1
        if self._marker is None:
            self._marker = marker
        when = "" if self.stable else f" · {time.strftime('%H:%M:%S')}"
        self._status(report, f"computed{self._took(elapsed)}{when}")
        if not staged:  # a remembered report comes whole, in one step
            self._fill_table(report)
            self.query_one("#lb-bars", Static).update(score_bars(list(report.contender_rows)))
            self.table_seconds = elapsed
            self.tables_shown += 1
        self.query_one("#lb-difficulty-bars", Static).update(
            score_bars(list(report.difficulty_rows))
        )
        self.query_one("#lb-agreement", Static).update(self._agreement_text(report))
        self._fill_pairwise(report)

    def _took(self, elapsed: float) -> str:
        return "" if self.stable else f" in {elapsed:.2f} s"

    def _fill_table(self, report: Report | ReportTables) -> None:
        from gradebench.engine.reporting.tables import report_columns

        table = self.query_one("#lb-table", DataTable)
        table.clear(columns=True)
        hidden = {"ci_low", "ci_high"} | (TIMING_COLUMNS if self.stable else set())
        columns = [c for c in report_columns(report) if c.key not in hidden]
        table.add_columns(
            *(c.header if c.key != "mean_score" else "Mean [95% CI]" for c in columns)
        )
        for row in report.rows:
            cells = []
            for column in columns:
                if column.key == "mean_score":
                    cells.append(
                        "-"
                        if row.mean_score is None
                        else f"{row.mean_score:.3f} [{row.ci_low:.2f}, {row.ci_high:.2f}]"
                    )
                else:
                    cells.append(format_value(column.value(row), column.kind))
            table.add_row(*cells)

    @staticmethod
    def _agreement_text(report: Report) -> str:
        a = report.agreement
        if not a.reviewers:
            return "no grades yet"
        lines = [f"reviewers: {', '.join(a.reviewers)}; graded by 2+: {a.items}"]
        for pair in a.cohen:
            lines.append(
                f"Cohen's kappa {pair.first}/{pair.second}: "
                f"{format_value(pair.kappa, 'score')} ({pair.items} answers)"
            )
        if a.items:
            lines.append(
                f"Fleiss' kappa {format_value(a.fleiss_kappa, 'score')} · "
                f"Krippendorff's alpha (ordinal) {format_value(a.krippendorff_alpha, 'score')}"
            )
        if a.auto_compared:
            lines.append(
                f"agrees with the tests: {a.auto_agree}/{a.auto_compared} "
                f"({100 * a.auto_agree / a.auto_compared:.1f}%) · gave credit despite failing "
                f"tests: {a.human_raised} · took credit from passing tests: {a.human_lowered}"
            )
        return "\n".join(lines)

    def _fill_pairwise(self, report: Report) -> None:
        table = self.query_one("#lb-pairwise", DataTable)
        table.clear(columns=True)
        table.add_columns("Contender", "Wins", "Ties", "Losses", "Bradley-Terry [95% CI]")
        for s in report.pairwise.standings:
            bt = "-" if s.strength is None else f"{s.strength:.3f} [{s.low:.3f}, {s.high:.3f}]"
            table.add_row(s.contender, str(s.wins), str(s.ties), str(s.losses), bt)

    # --- actions ---

    def action_close(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self.refresh_data()

    def action_toggle_combine(self) -> None:
        from dataclasses import replace

        rules = ("mean", "majority", "adjudicated")
        combine = rules[(rules.index(self.selection.combine) + 1) % len(rules)]
        self.selection = replace(self.selection, combine=combine)
        self.refresh_data()

    def action_toggle_difficulty(self) -> None:
        self.by_difficulty = not self.by_difficulty
        self.refresh_data()
