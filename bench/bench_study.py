"""`gradebench study report` on 100,000 answers: every format, against `gradebench export`.

Usage: ``.venv/bin/python bench/bench_study.py [--rounds N] [--profile]``

Takes the synthetic database of ``bench_export.py`` (100,000 answers: 2,500 problems x 8
contenders x 5 samples, 300,000 grade events; built once and cached under the temp dir)
and times the real command, ``gradebench study report FILE --format F``, from start to
exit, for every format. The study is made to match the database, in a temp folder:

- a suite folder ``problems/synthetic/`` with one problem file per synthetic problem
  (same ids, difficulties and tags), found through ``paths.problems`` of a config there;
- four "model files" (a GGUF magic and a few bytes: the report never loads a model, it
  registers each contender by hashing its file) in that config, and a study file with
  each model's ``plain`` and ``cot`` contenders, 5 samples, pass@1 and pass@5, graded
  by hand;
- a copy of the database whose answers are moved to the contender ids those
  contenders register under (the synthetic ids are made up, the study's are hashes
  of what shapes the answers): an ``UPDATE`` of ``generations.contender_id``, nothing
  else changes.

The peer, measured in the same rounds (interleaved) on the same copy: the console
command ``gradebench export --format md`` (the leaderboard table with its bootstrap
intervals), whose goal is the same 3 s. Each figure is the median over the rounds,
with the CPU time of the child process; the study's time is printed with its ratio to
the peer and to the goal, and judged twice: as a console command, and in process (one
``report_study`` plus the slowest rendering), which is how ``bench_export.py`` times the
exports' 3 s goal. In process, the same run also splits one report into
reading the study (config, models, suite files), ``report_study`` and rendering each
format. ``--profile`` prints cProfile's top functions of one in-process report.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_export import cached_db

GOAL = 3.0
FORMATS = ("md", "latex", "html", "csv", "json")
MODELS = 4
STYLES = ("plain", "cot")


@dataclass(frozen=True)
class Setup:
    folder: Path
    config: Path
    study: Path
    db: Path


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of plain text is a TOML basic string


def write_suite(conn: sqlite3.Connection, folder: Path) -> int:
    """One problem file per synthetic problem; the suite's name is the folder's."""
    folder.mkdir(parents=True)
    rows = conn.execute(
        "SELECT id, title, difficulty, entry_point, statement, tags FROM problems"
        " WHERE suite = 'synthetic' ORDER BY id"
    ).fetchall()
    for pid, title, difficulty, entry, statement, tags in rows:
        tag_list = ", ".join(_toml_string(t) for t in json.loads(tags))
        (folder / f"{pid.split('/', 1)[1]}.toml").write_text(
            f"title = {_toml_string(title)}\n"
            f"difficulty = {_toml_string(difficulty)}\n"
            f"tags = [{tag_list}]\n"
            f"statement = {_toml_string(statement)}\n"
            f"entry_point = {_toml_string(entry)}\n"
            f'signature = "def {entry}(x):"\n'
            f'reference = "def {entry}(x):\\n    return x\\n"\n'
            "\n[[tests]]\n"
            'args = "(1,)"\n',
            encoding="utf-8",
        )
    return len(rows)


def prepare(source: Path, folder: Path) -> Setup:
    """The config, models, suite, study file and re-keyed database copy (see the docstring)."""
    from gradebench.engine.config import load_config
    from gradebench.engine.generation.contender_rows import register_contender
    from gradebench.engine.generation.prompts import load_prompt_templates
    from gradebench.engine.generation.registry import load_registry
    from gradebench.engine.store.database import open_db
    from gradebench.engine.workflows.study_file import read_study

    conn = sqlite3.connect(str(source))
    write_suite(conn, folder / "problems" / "synthetic")
    conn.close()
    models = folder / "models"
    models.mkdir()
    config_lines = ['[paths]\nproblems = "problems"\n']
    study_lines = [
        "[study]",
        'name = "synthetic"',
        'description = "The 100k-answer synthetic database of bench/synthetic_db.py."',
        "samples = 5",
        "seed = 7",
        "ks = [1, 5]",
        "",
    ]
    for m in range(MODELS):
        (models / f"model-{m}.gguf").write_bytes(b"GGUF" + f"synthetic model {m}\n".encode())
        config_lines.append(f'[models.model-{m}]\npath = "models/model-{m}.gguf"\n')
        study_lines += [
            "[[contenders]]",
            f'model = "model-{m}"',
            f"prompt_styles = {json.dumps(list(STYLES))}",
            "temperature = 0.2",
            "",
        ]
    study_lines += [
        "[[suites]]",
        'name = "synthetic"',
        "",
        "[grading]",
        'by_hand = ["synthetic"]',
        "reviewers = 1",
        "",
    ]
    config = folder / "gradebench.toml"
    config.write_text("\n".join(config_lines), encoding="utf-8")
    study_path = folder / "synthetic-study.toml"
    study_path.write_text("\n".join(study_lines), encoding="utf-8")

    db_path = folder / "study.db"
    shutil.copyfile(source, db_path)
    loaded = load_config(str(config))
    templates = load_prompt_templates(loaded)
    registry = load_registry(loaded, styles=templates.styles)
    study = read_study(study_path, registry, templates.styles)
    db = open_db(db_path)
    try:
        moves = []
        for entry in study.contenders:
            contender = entry.contender
            seat = register_contender(db, contender, templates.template(contender.prompt_style))
            old = db.conn.execute(
                "SELECT id FROM contenders WHERE name = ? AND id != ?", (contender.name, seat.id)
            ).fetchone()
            if old is None:
                raise SystemExit(f"bench_study: no synthetic contender named {contender.name}")
            moves.append((seat.id, old[0]))
        with db.conn:
            db.conn.executemany(
                "UPDATE generations SET contender_id = ? WHERE contender_id = ?", moves
            )
            db.conn.executemany("DELETE FROM contenders WHERE id = ?", [(o,) for _, o in moves])
    finally:
        db.conn.close()
    return Setup(folder, config, study_path, db_path)


def gradebench_command() -> list[str]:
    script = Path(sys.executable).parent / "gradebench"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "gradebench.tui.cli.main"]


def run_console(setup: Setup, args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``gradebench`` command, from start to exit."""
    command = [*gradebench_command(), "--config", str(setup.config), "--db", str(setup.db), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=setup.folder)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"bench_study: {' '.join(command)} failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def in_process(setup: Setup, profile: bool) -> dict[str, float]:
    """One report in process, split into its parts (seconds)."""
    from gradebench.engine.config import load_config
    from gradebench.engine.generation.prompts import load_prompt_templates
    from gradebench.engine.generation.registry import load_registry
    from gradebench.engine.problems.registry import SuiteSources
    from gradebench.engine.reporting.formats.study_document import render_study
    from gradebench.engine.store.database import open_db
    from gradebench.engine.workflows.study import report_study, resolve_slices
    from gradebench.engine.workflows.study_file import read_study

    parts: dict[str, float] = {}
    started = time.perf_counter()
    config = load_config(str(setup.config))
    templates = load_prompt_templates(config)
    registry = load_registry(config, styles=templates.styles)
    study = read_study(setup.study, registry, templates.styles)
    sources = SuiteSources.from_config(config)
    parts["config and study file"] = time.perf_counter() - started
    started = time.perf_counter()
    resolve_slices(study, sources)
    parts["  (loading the suite's 2,500 files: only for a sampled subset)"] = (
        time.perf_counter() - started
    )
    db = open_db(setup.db)
    try:
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = report_study(db, study, sources, templates)
        if profiler is not None:
            profiler.disable()
        parts["report_study"] = time.perf_counter() - started
    finally:
        db.conn.close()
    for fmt in FORMATS:
        started = time.perf_counter()
        render_study(report, fmt)
        parts[f"render_study {fmt}"] = time.perf_counter() - started
    print(
        f"in process: {len(report.rows)} rows, {len(report.comparisons)} comparisons,"
        f" {len(report.footer.facts)} footer facts"
    )
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    return parts


def load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--grade-events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per command (median)")
    parser.add_argument("--profile", action="store_true", help="cProfile one in-process report")
    parser.add_argument("--keep", action="store_true", help="keep the database copy")
    args = parser.parse_args()
    source = cached_db(args.generations, args.grade_events)
    folder = Path(tempfile.mkdtemp(prefix="gradebench-study-"))
    os.environ["GRADEBENCH_CACHE_DIR"] = str(folder / "cache")  # the model files' hashes
    started = time.perf_counter()
    setup = prepare(source, folder)
    conn = sqlite3.connect(str(setup.db))
    answers = conn.execute("SELECT count(*) FROM generations").fetchone()[0]
    events = conn.execute("SELECT count(*) FROM grade_events").fetchone()[0]
    conn.close()
    print(
        f"study set up in {time.perf_counter() - started:.1f} s: {answers} answers,"
        f" {events} grade events, 2,500 problems x 8 contenders x 5 samples"
    )
    print(f"load average at the start: {load()} ({os.cpu_count()} cores)")

    commands: dict[str, list[str]] = {
        "peer: export --format md": ["export", "--format", "md", "-o", "export.md"],
    }
    for fmt in FORMATS:
        commands[f"study report --format {fmt}"] = [
            "study",
            "report",
            str(setup.study),
            "--format",
            fmt,
            "-o",
            f"study.{fmt}",
        ]
    run_console(setup, commands["peer: export --format md"])  # page cache warm for everyone
    walls: dict[str, list[float]] = {label: [] for label in commands}
    cpus: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(args.rounds):
        for label, command in commands.items():
            wall, cpu = run_console(setup, command)
            walls[label].append(wall)
            cpus[label].append(cpu)
    peer = statistics.median(walls["peer: export --format md"])
    worst = 0.0
    print(f"\nconsole commands, median of {args.rounds} interleaved rounds (wall, child CPU):")
    for label in commands:
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        spread = ", ".join(f"{w:.2f}" for w in walls[label])
        if label.startswith("study"):
            worst = max(worst, wall)
        print(
            f"  {label:<28} {wall:6.2f} s  cpu {cpu:6.2f} s  {wall / peer:5.2f}x the peer"
            f"  {wall / GOAL:5.2f}x of the {GOAL:g} s goal  (rounds: {spread})"
        )
    print("\nin process, one report:")
    parts = in_process(setup, args.profile)
    for label, seconds in parts.items():
        print(f"  {label:<58} {seconds:6.2f} s")
    verdict = "met" if worst <= GOAL else "missed"
    inside = parts["report_study"] + max(
        (v for k, v in parts.items() if k.startswith("render_study")), default=0.0
    )
    print(
        f"\nslowest study report {worst:.2f} s as a console command, {worst / peer:.2f}x the"
        f" peer ({peer:.2f} s): goal <= {GOAL:g} s {verdict}; in process (as bench_export"
        f" times the exports) {inside:.2f} s: goal {'met' if inside <= GOAL else 'missed'};"
        f" load average now: {load()}"
    )
    if not args.keep:
        setup.db.unlink()
    print(f"outputs in {folder}")


if __name__ == "__main__":
    main()
