"""A temperature sweep with several samples on a suite given by its folder, on the real
default model: one contender per temperature, pass@k per k where every problem has k
samples, the best temperature per k, and rows named by the suite the database knows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gradebench.engine.reporting.stats import pass_at_k

STUDY = """
[study]
name = "sweep"
samples = 2
seed = 1
ks = [1, 2]
temperatures = [0.2, 0.8]

[[contenders]]
model = "smollm2-135m"
prompt_style = "plain"
max_tokens = 32

[[suites]]
name = "{suite}"
sample = 2
"""


def test_a_sweep_reports_each_temperature_its_pass_at_k_and_the_best_temperature(
    tmp_path: Path, demo_suite_dir: Path, cli
) -> None:
    study = tmp_path / "sweep.toml"
    study.write_text(STUDY.format(suite=demo_suite_dir), encoding="utf-8")
    config = tmp_path / "gradebench.toml"
    config.write_text("[generation]\nmax_threads = 1\n", encoding="utf-8")
    options = ("--db", tmp_path / "sweep.db", "--config", config, "study")

    run = cli(*options, "run", study)
    assert run.code == 0, run.err
    assert "made 8 answers (0 error)" in run.err
    report = cli(*options, "report", study, "--format", "json")
    assert report.code == 0, report.err
    document = json.loads(report.out)

    overall = {r["contender"]: r for r in document["rows"] if r["difficulty"] == "all"}
    assert set(overall) == {"smollm2-135m-plain@t0.2", "smollm2-135m-plain@t0.8"}
    assert {r["suite"] for r in document["rows"]} == {"demo"}  # the suite's own name
    assert {r["temperature"] for r in overall.values()} == {0.2, 0.8}

    import sqlite3

    with sqlite3.connect(tmp_path / "sweep.db") as conn:
        verdicts = conn.execute(
            """SELECT c.name, g.problem_id, l.verdict = 'pass' FROM generations g
               JOIN contenders c ON c.id = g.contender_id
               JOIN execution_latest l ON l.generation_id = g.id
               WHERE g.superseded_at IS NULL"""
        ).fetchall()
    assert len(verdicts) == 8
    best: dict[int, float] = {}
    for name, row in overall.items():
        by_problem: dict[str, list[int]] = {}
        for contender, problem, passed in verdicts:
            if contender == name:
                by_problem.setdefault(problem, []).append(passed)
        assert sorted(len(v) for v in by_problem.values()) == [2, 2]
        for item in row["pass_at"]:
            expected = np.mean([pass_at_k(2, sum(v), item["k"]) for v in by_problem.values()])
            assert item["value"] == expected and item["problems"] == 2
            best[item["k"]] = max(best.get(item["k"], -1.0), expected)
    chosen = {b["k"]: b for b in document["best_temperatures"]}
    assert set(chosen) == {1, 2}
    for k, entry in chosen.items():
        assert entry["contender"] == "smollm2-135m-plain" and entry["value"] == best[k]
        assert entry["temperature"] in (0.2, 0.8)
    temperatures = cli(*options, "report", study, "--format", "csv", "--table", "temperatures")
    assert temperatures.code == 0 and temperatures.out.startswith("Suite,Contender,k,Temperature")
