"""``gradebench merge`` of a 300,000-grade-event database into another of the same size,
against copying the same rows with the sqlite3 shell (``.dump`` piped into the target).

Two synthetic files (``bench/synthetic_db.py``) share problems, contenders and models; each
has its own run, 100,000 answers with their test runs, 300,000 grade events and its votes.
Three timings, each on a fresh copy of the target, in the same run:

- peer: ``sqlite3 B.db '.dump runs generations executions grade_events votes' | sqlite3 T.db``
  (the same rows inserted through the same indexes and triggers; no checks, no matching);
- ``gradebench merge B.db --into T.db`` (the console command: start-up, checks, one
  transaction) where B's answers are to other samples (nothing to settle);
- the same where B answered the same (problem, contender, sample) pairs: all 100,000 pairs
  hold two current answers and the merge settles every one.

    .venv/bin/python bench/bench_merge.py [--grade-events 300000] [--generations 100000]

Goal (issue 15): the merge in <= 10 s here. The figures are wall times of one run each.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_db import make_synthetic_db

GRADEBENCH = Path(sys.executable).parent / "gradebench"
PEER_TABLES = "runs generations executions grade_events votes"


def count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def fresh_copy(source: Path, folder: Path, name: str) -> Path:
    target = folder / name
    conn = sqlite3.connect(source)
    out = sqlite3.connect(target)
    conn.backup(out)
    out.close()
    conn.close()
    return target


def timed(command: str | list[str], *, shell: bool = False) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, shell=shell, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0 and not shell:
        sys.exit(f"bench_merge: {command[0]} failed: {done.stderr.strip()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--grade-events", type=int, default=300_000)
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        sys.exit("bench_merge: the sqlite3 shell is the peer; install it (apt-get install sqlite3)")
    with tempfile.TemporaryDirectory(prefix="gradebench-bench-merge-") as tmp:
        folder = Path(tmp)
        sizes = {"generations": args.generations, "grade_events": args.grade_events}
        started = time.perf_counter()
        target = make_synthetic_db(folder / "a.db", **sizes)
        other = make_synthetic_db(folder / "b.db", **sizes, id_prefix="b-", sample_offset=100)
        same_pairs = make_synthetic_db(folder / "c.db", **sizes, id_prefix="c-")
        print(
            f"built three files of {count(target, 'grade_events'):,} grade events"
            f" in {time.perf_counter() - started:.0f} s"
        )

        peer_target = fresh_copy(target, folder, "peer.db")
        peer = timed(f"sqlite3 {other} '.dump {PEER_TABLES}' | sqlite3 {peer_target}", shell=True)
        peer_events = count(peer_target, "grade_events")

        merge_target = fresh_copy(target, folder, "merge.db")
        merge = timed([str(GRADEBENCH), "merge", str(other), "--into", str(merge_target)])
        merge_events = count(merge_target, "grade_events")
        again = timed([str(GRADEBENCH), "merge", str(other), "--into", str(merge_target)])

        doubled_target = fresh_copy(target, folder, "doubled.db")
        doubled = timed([str(GRADEBENCH), "merge", str(same_pairs), "--into", str(doubled_target)])
        superseded = count(doubled_target, "generations WHERE superseded_at IS NOT NULL")

    expected = 2 * args.grade_events
    print(f"peer (.dump | sqlite3):          {peer:6.2f} s  -> {peer_events:,} grade events")
    print(
        f"gradebench merge:                {merge:6.2f} s  -> {merge_events:,} grade events"
        f"  ({merge / peer:.2f}x the peer)"
    )
    print(f"gradebench merge, again:         {again:6.2f} s  (adds nothing)")
    print(
        f"merge, every pair answered twice:{doubled:6.2f} s  ({superseded:,} answers"
        " superseded by the rule)"
    )
    if merge_events != expected or peer_events != expected:
        sys.exit(f"bench_merge: expected {expected:,} grade events after each copy")


if __name__ == "__main__":
    main()
