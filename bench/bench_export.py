"""Exports and the leaderboard at scale: 100,000 generations, 300,000 grade events.

Usage: ``.venv/bin/python bench/bench_export.py [--generations N] [--grade-events N]``

Builds (once, cached under the temp dir) a synthetic database with the real
schema, then times every export format and the leaderboard screen opening until
its aggregate table is shown (and, apart, until agreement and votes are filled
too: the screen computes those after showing the table). Each time is printed
with its ratio to the goal (exports <= 3 s, leaderboard <= 1 s) and to a peer
measured in the same run: a bare
``SELECT * FROM grade_events`` written out with the csv module, the least any
export of the grades has to do. Wall time on a shared machine moves with the
load, so CPU time of this process and the load average are printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_db import make_synthetic_db

from gradebench.engine.reporting.export import TABLE_FORMATS, render_report
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.raw_grades import write_raw_grades
from gradebench.engine.reporting.report import build_report
from gradebench.engine.reporting.report_cache import forget_cached_reports
from gradebench.engine.store.database import open_db

EXPORT_LIMIT = 3.0
SCREEN_LIMIT = 1.0


def cached_db(generations: int, grade_events: int) -> Path:
    generator = (Path(__file__).parent / "synthetic_db.py").read_bytes()
    key = hashlib.sha256(generator).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / "gradebench-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"synthetic-{generations}-{grade_events}-{key}.db"
    if not path.exists():
        print(f"building {path.name} (cached for later runs)…", flush=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        for leftover in folder.glob(partial.name + "*"):
            leftover.unlink()
        make_synthetic_db(partial, generations=generations, grade_events=grade_events)
        partial.rename(path)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    open_db(path).conn.close()  # a file cached by an older schema gets the new migrations
    return path


def timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def peer_dump(path: Path, out: Path) -> None:
    conn = sqlite3.connect(str(path))
    with out.open("w", newline="") as stream:
        writer = csv.writer(stream)
        cursor = conn.execute("SELECT * FROM grade_events")
        writer.writerow([d[0] for d in cursor.description])
        writer.writerows(cursor)
    conn.close()


def export_table(path: Path, fmt: str, by: tuple[str, ...], out: Path) -> None:
    conn = sqlite3.connect(str(path))
    out.write_text(render_report(build_report(conn, Selection(), by=by), fmt))
    conn.close()


def export_raw(path: Path, fmt: str, out: Path) -> None:
    conn = sqlite3.connect(str(path))
    with out.open("w", newline="", encoding="utf-8") as stream:
        write_raw_grades(conn, Selection(), fmt, stream)
    conn.close()


@dataclass(frozen=True)
class ScreenTimes:
    opened: float
    """Seconds from starting the app until the leaderboard shows its aggregate table."""
    opened_cpu: float
    """CPU seconds of the process (all threads) meanwhile."""
    complete: float
    """Seconds until agreement, per-difficulty bars and votes are filled too."""
    complete_cpu: float
    worker: float
    """The worker's own seconds for the complete report."""


def open_leaderboard(path: Path, *, app_running: bool = False) -> ScreenTimes:
    """Time the leaderboard until its table is shown, then until the whole screen is.

    ``app_running=False``: from starting a Textual app that opens the leaderboard at
    once (Textual's own start-up included). ``app_running=True``: the app is already up
    and idle, as when a reviewer presses ``L`` on the grading screen; timed from the
    moment the screen is pushed."""
    from textual.app import App

    from gradebench.tui.screens.leaderboard import LeaderboardScreen

    class Host(App[None]):
        def on_mount(self) -> None:
            if not app_running:
                self.push_screen(self.board)

    async def run() -> ScreenTimes:
        host = Host()
        host.board = LeaderboardScreen(db_path=path, poll_seconds=3600)
        started, cpu = time.perf_counter(), time.process_time()
        async with host.run_test(size=(160, 60)):  # no Pilot polling: it costs CPU
            if app_running:
                await asyncio.sleep(0.3)  # the app settles
                started, cpu = time.perf_counter(), time.process_time()
                host.push_screen(host.board)
            while host.board.tables_shown < 1:
                await asyncio.sleep(0.01)
            opened, opened_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert host.board.query_one("#lb-table").row_count > 0
            while host.board.loads < 1:
                await asyncio.sleep(0.01)
            complete, complete_cpu = time.perf_counter() - started, time.process_time() - cpu
        return ScreenTimes(opened, opened_cpu, complete, complete_cpu, host.board.load_seconds)

    return asyncio.run(run())


def line(label: str, wall: float, cpu: float | None, limit: float, peer: float) -> str:
    cpu_text = f"cpu {cpu:6.2f} s" if cpu is not None else " " * 12
    return (
        f"{label:<34} {wall:6.2f} s  {cpu_text}  {wall / limit:5.2f}x of the {limit:g} s goal"
        f"  {wall / peer:5.1f}x the peer"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--grade-events", type=int, default=300_000)
    args = parser.parse_args()
    path = cached_db(args.generations, args.grade_events)
    work = Path(tempfile.mkdtemp(prefix="gradebench-export-"))
    conn = sqlite3.connect(str(path))
    counts = {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("generations", "grade_events", "votes")
    }
    conn.close()
    print(
        f"database: {counts['generations']} generations, {counts['grade_events']} grade events,"
        f" {counts['votes']} votes; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    peer_dump(path, work / "warm.csv")  # page cache warm for everyone alike
    peer, peer_cpu = timed(lambda: peer_dump(path, work / "peer.csv"))
    print(line("peer: SELECT * grade_events -> csv", peer, peer_cpu, EXPORT_LIMIT, peer))
    worst = 0.0
    for fmt in TABLE_FORMATS:
        for by in (("contender",), ("contender", "difficulty"), ("contender", "tag")):
            if by != ("contender",) and fmt not in ("md", "csv"):
                continue
            out = work / f"table-{'-'.join(by)}.{fmt}"
            wall, cpu = timed(lambda fmt=fmt, by=by, out=out: export_table(path, fmt, by, out))
            worst = max(worst, wall / EXPORT_LIMIT)
            print(line(f"export --format {fmt} --by {','.join(by)}", wall, cpu, EXPORT_LIMIT, peer))
    for fmt in ("csv", "json"):
        out = work / f"raw.{fmt}"
        wall, cpu = timed(lambda fmt=fmt, out=out: export_raw(path, fmt, out))
        worst = max(worst, wall / EXPORT_LIMIT)
        print(line(f"export --format {fmt} --raw", wall, cpu, EXPORT_LIMIT, peer))
    cold = open_leaderboard(path)
    print(line("leaderboard opened, table shown", cold.opened, cold.opened_cpu, SCREEN_LIMIT, peer))
    print(
        line(
            "  ... agreement and votes filled", cold.complete, cold.complete_cpu, SCREEN_LIMIT, peer
        )
    )
    print(f"  of which computing the whole report in the worker: {cold.worker:.2f} s")
    forget_cached_reports()  # a first opening again, now from a running app
    pressed = open_leaderboard(path, app_running=True)
    print(
        line(
            "leaderboard from a running app (L)",
            pressed.opened,
            pressed.opened_cpu,
            SCREEN_LIMIT,
            peer,
        )
    )
    print(
        line(
            "  ... agreement and votes filled",
            pressed.complete,
            pressed.complete_cpu,
            SCREEN_LIMIT,
            peer,
        )
    )
    warm = open_leaderboard(path)
    print(
        line(
            "leaderboard reopened, data unchanged", warm.opened, warm.opened_cpu, SCREEN_LIMIT, peer
        )
    )
    print(
        f"worst export {worst:.2f}x of its goal; leaderboard {cold.opened / SCREEN_LIMIT:.2f}x"
        f" opened with the app's start, {pressed.opened / SCREEN_LIMIT:.2f}x from a running app,"
        f" {warm.opened / SCREEN_LIMIT:.2f}x reopened;"
        f" load average now {os.getloadavg()[0]:.1f}"
    )
    print(f"outputs in {work}")


if __name__ == "__main__":
    main()
