"""The worked example study (``studies/lowcost-cpu.toml``) end to end on the real default
model, on a smaller subset of each suite: planned, run and interrupted twice, run to the
end, graded, reported in every format, and the report's footer checked against the
database."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from gradebench.engine.generation.gguf_info import read_gguf_info
from gradebench.engine.reporting.study_footer import data_hash
from tests.conftest import REPO

EXAMPLE = REPO / "studies" / "lowcost-cpu.toml"
FINISHED = "status IN ('done', 'max_tokens') AND superseded_at IS NULL"


def _small_example(humanevalplus_path: Path) -> tuple[str, str]:
    """The example with 2 + 1 + 1 problems and short answers, and a config for it."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in (
        ("sample = 6", "sample = 2"),
        ("sample = 3", "sample = 1"),
        ("max_tokens = 256", "max_tokens = 40"),
    ):
        assert old in text, f"the example study no longer has {old!r}: update this test"
        text = text.replace(old, new)
    config = f"[generation]\nmax_threads = 1\n[paths]\nhumanevalplus = '{humanevalplus_path}'\n"
    return text, config


def _command(db: Path, config: Path, *args: str | Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from gradebench.tui.cli.main import main; main()",
        "--db",
        str(db),
        "--config",
        str(config),
        "study",
        *map(str, args),
    ]


def _finished(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as conn:
        try:
            return conn.execute(f"SELECT count(*) FROM generations WHERE {FINISHED}").fetchone()[0]
        except sqlite3.OperationalError:  # not created yet
            return 0


def _interrupt_after(command: list[str], db: Path, answers: int) -> tuple[int, int]:
    """Start ``study run``, press Ctrl-C once ``answers`` answers are stored; (exit code,
    answers stored when it ended)."""
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while _finished(db) < answers and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, process.communicate()[1][-600:]
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    return process.returncode, _finished(db)


def test_the_example_study_interrupted_twice_makes_exactly_the_planned_answers_and_reports_them(
    tmp_path: Path, humanevalplus_path: Path, cli
) -> None:
    study_text, config_text = _small_example(humanevalplus_path)
    study = tmp_path / "lowcost-cpu.toml"
    study.write_text(study_text, encoding="utf-8")
    config = tmp_path / "gradebench.toml"
    config.write_text(config_text, encoding="utf-8")
    db = tmp_path / "study.db"

    options = ("--db", db, "--config", config, "study")
    plan = cli(*options, "plan", study)
    assert plan.code == 0, plan.err
    assert "total: 8 answers planned, 0 present, 8 to make" in plan.out

    run = _command(db, config, "run", study)
    first_code, after_first = _interrupt_after(run, db, 1)
    second_code, after_second = _interrupt_after(run, db, after_first + 1)
    assert (first_code, second_code) == (130, 130)
    assert 1 <= after_first < after_second < 8
    finish = subprocess.run(run, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert finish.returncode == 0, finish.stderr[-800:]
    assert f"{8 - after_second} answers to make" in finish.stderr

    sha = hashlib.sha256(study_text.encode("utf-8")).hexdigest()
    with sqlite3.connect(db) as conn:
        current = conn.execute(
            f"SELECT problem_id, contender_id, sample_index FROM generations WHERE {FINISHED}"
        ).fetchall()
        untested = conn.execute(
            f"SELECT count(*) FROM generations g WHERE {FINISHED} AND NOT EXISTS"
            " (SELECT 1 FROM execution_latest l WHERE l.generation_id = g.id)"
        ).fetchone()[0]
        study_runs = conn.execute(
            "SELECT count(*) FROM runs WHERE study_sha256 = ?", (sha,)
        ).fetchone()[0]
        stored_text = conn.execute("SELECT text FROM studies WHERE sha256 = ?", (sha,)).fetchone()
        resources = conn.execute(
            f"SELECT min(cpu_seconds), min(peak_rss_bytes) FROM generations WHERE {FINISHED}"
        ).fetchone()
    assert len(current) == 8 and len(set(current)) == 8
    assert untested == 0
    assert study_runs >= 3  # one per (model, suite) batch of each of the three processes
    assert stored_text == (study_text,)
    assert resources[0] > 0 and resources[1] > 50 * 2**20

    again = cli(*options, "plan", study)
    assert "total: 8 answers planned, 8 present, 0 to make" in again.out

    scores = _grade_lowcost60(db)
    reports = {
        fmt: cli(*options, "report", study, "--format", fmt)
        for fmt in ("md", "latex", "html", "csv", "json")
    }
    assert all(r.code == 0 for r in reports.values()), {f: r.err for f, r in reports.items()}
    reports = {fmt: r.out for fmt, r in reports.items()}
    markdown = reports["md"]
    for section in (
        "# Study: lowcost-cpu",
        "## Results per contender, suite and difficulty",
        "## Paired comparisons on the same problems",
    ):
        assert section in markdown
    assert markdown.count("Reproducibility:") == 2  # under every table
    assert reports["latex"].count(r"\begin{table}") == 2
    assert reports["html"].count("<table>") == 2
    rows = list(csv.reader(io.StringIO(reports["csv"])))
    assert rows[0][:4] == ["Suite", "Contender", "T", "Difficulty"]

    document = json.loads(reports["json"])
    overall = {
        (r["suite"], r["contender"]): r for r in document["rows"] if r["difficulty"] == "all"
    }
    assert set(overall) == {
        (suite, contender)
        for suite in ("lowcost60", "humaneval", "humaneval+")
        for contender in ("smollm2-135m-plain", "smollm2-135m-cot")
    }
    plain, cot = (
        overall["lowcost60", "smollm2-135m-plain"],
        overall["lowcost60", "smollm2-135m-cot"],
    )
    assert plain["score"]["mean"] == sum(scores["plain"]) / 2
    assert cot["score"]["mean"] == sum(scores["cot"]) / 2
    assert overall["humaneval", "smollm2-135m-plain"]["graded"] == 0  # not graded by hand
    assert plain["peak_rss_bytes"] > 50 * 2**20 and plain["cpu_seconds"] > 0
    compared = next(
        c for c in document["comparisons"] if c["suite"] == "lowcost60" and c["kind"] == "prompt"
    )
    assert compared["difference"]["problems"] == 2
    assert compared["difference"]["difference"] == (sum(scores["plain"]) - sum(scores["cot"])) / 2
    assert compared["tested"] == 2
    everything = next(c for c in document["comparisons"] if c["suite"] == "all")
    assert everything["tested"] == 4

    _check_footer(db, document["footer"], sha)


def _grade_lowcost60(db: Path) -> dict[str, list[float]]:
    """Grade the lowcost60 answers: plain 1 and 0.5, cot 0 and 0.5 (by problem order)."""
    from gradebench.engine.grading.grades import record_grade
    from gradebench.engine.store.database import open_db

    given = {"plain": [1.0, 0.5], "cot": [0.0, 0.5]}
    handle = open_db(db)
    try:
        rows = handle.conn.execute(
            f"""SELECT g.id, c.prompt_style FROM generations g
                JOIN contenders c ON c.id = g.contender_id
                WHERE {FINISHED.replace("status", "g.status").replace("superseded_at", "g.superseded_at")}
                  AND g.problem_id LIKE 'lowcost60/%' ORDER BY g.problem_id"""
        ).fetchall()
        seen = {"plain": 0, "cot": 0}
        for generation_id, style in rows:
            record_grade(
                handle,
                generation_id=generation_id,
                reviewer="ann",
                score=given[style][seen[style]],
                format_ok=True,
            )
            seen[style] += 1
    finally:
        handle.conn.close()
    assert seen == {"plain": 2, "cot": 2}
    return given


def _check_footer(db: Path, footer: dict[str, str], sha: str) -> None:
    with sqlite3.connect(db) as conn:
        model_sha, model_path = conn.execute("SELECT sha256, path FROM models").fetchone()
        hosts = [json.loads(h) for (h,) in conn.execute("SELECT host FROM runs").fetchall()]
        templates = conn.execute("SELECT DISTINCT prompt_style, prompt_template FROM contenders")
        templates = templates.fetchall()
        contents = {
            suite: conn.execute(
                "SELECT p.id, p.content_sha256 FROM problems p WHERE p.suite = ? AND EXISTS"
                " (SELECT 1 FROM generations g WHERE g.problem_id = p.id)",
                (suite,),
            ).fetchall()
            for suite in ("lowcost60", "humaneval", "humaneval+")
        }
    assert footer["study file"] == f"sha256 {sha}"
    assert footer["gradebench"] == hosts[0]["gradebench"]
    quantization = read_gguf_info(Path(model_path)).file_type
    assert f"sha256 {model_sha}" in footer["models"]
    assert f"quantization {quantization}" in footer["models"] and quantization == "Q4_1"
    assert "backend gpt4all 2.8.2" in footer["models"]
    for style, template in templates:
        assert (
            f"{style} {hashlib.sha256(template.encode()).hexdigest()[:12]}"
            in footer["prompt templates"]
        )
    for suite, rows in contents.items():
        assert (
            f"{suite}: {len(rows)} problems, sha256 {data_hash(rows)[:16]}" in footer["data sets"]
        )
    assert footer["seed"].startswith("7 ")
    assert "memory 4 GiB" in footer["sandbox"] and "no network" in footer["sandbox"]
    assert f"{hosts[0]['cpu_model']}, {hosts[0]['cpu_count']} cores" in footer["machine"]
