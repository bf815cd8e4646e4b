"""The command line with data set files: global options after the subcommand, MBPP+ and
human-eval files in ``evaluate`` and ``problems``, ``suites add`` / ``problems suites``,
and subset options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.problems.suites.jsonl import read_jsonl
from gradebench.tui.cli.main import build_parser, run
from tests.conftest import HUMANEVAL_FORMAT_FILE


def test_global_options_are_accepted_after_the_subcommand_too():
    after = build_parser().parse_args(
        ["problems", "list", "--suite", "x", "--db", "a.db", "--config", "c.toml", "--data", "d"]
    )
    assert (after.db, after.config, after.data) == ("a.db", "c.toml", "d")
    before = build_parser().parse_args(["--db", "b.db", "evaluate", "s.jsonl", "--suite", "x"])
    assert before.db == "b.db" and before.data is None
    both = build_parser().parse_args(["--db", "b.db", "evaluate", "s", "--suite", "x", "--db", "c"])
    assert both.db == "c"


def test_evaluate_mbppplus_with_data_after_the_subcommand_and_an_id_subset(
    tmp_path: Path, mbppplus_path: Path, capsys
):
    rows = {row["task_id"]: row for row in read_jsonl(mbppplus_path)}
    samples = tmp_path / "samples.jsonl"
    lines = [
        {"task_id": "Mbpp/2", "completion": rows["Mbpp/2"]["canonical_solution"]},
        {"task_id": "Mbpp/3", "solution": "def is_not_prime(n):\n    return False\n"},
        {"task_id": "Mbpp/4", "solution": "def heap_queue_largest(nums, n):\n    return []\n"},
    ]
    samples.write_text("".join(json.dumps(line) + "\n" for line in lines))
    db = tmp_path / "run.db"
    code = run(
        [
            "evaluate",
            str(samples),
            "--suite",
            "mbpp+",
            "--data",
            str(mbppplus_path),
            "--db",
            str(db),
            "--ids",
            "Mbpp/2,Mbpp/3",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0 and db.exists()
    results = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["task_id"] for r in results] == ["Mbpp/2", "Mbpp/3"]
    assert results[0]["verdict"] == "pass" and results[0]["base_verdict"] == "pass"
    assert results[1]["verdict"] == "fail"
    assert "mbpp+ base + plus tests: pass@1 0.500" in captured.err


def test_problems_check_on_a_human_eval_file_runs_references_and_notes_stated_tests(
    tmp_path: Path, capsys
):
    code = run(["problems", "check", "--suite", str(HUMANEVAL_FORMAT_FILE)])
    out = capsys.readouterr().out
    assert code == 0
    assert "three_tasks/Mine/0  pass 3/3" in out
    assert "three_tasks/Mine/1" in out and "asserts state the expected outputs" in out
    assert "three_tasks/Mine/2  pass 4/4" in out


def test_evaluate_a_human_eval_file_with_completions(tmp_path: Path, capsys):
    samples = tmp_path / "s.jsonl"
    samples.write_text(
        json.dumps({"task_id": "Mine/1", "completion": "    return text.upper() + '!'\n"})
        + "\n"
        + json.dumps({"task_id": "Mine/0", "completion": "    return a - b\n"})
        + "\n"
    )
    assert run(["evaluate", str(samples), "--suite", str(HUMANEVAL_FORMAT_FILE)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["task_id"], r["verdict"]) for r in results] == [
        ("Mine/1", "pass"),
        ("Mine/0", "fail"),
    ]


def test_suites_add_then_problems_suites_lists_kind_count_file_and_sha256(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    assert run(["suites", "add", "mine", str(HUMANEVAL_FORMAT_FILE)]) == 0
    assert '[suites."mine"]' in (tmp_path / "gradebench.toml").read_text()
    capsys.readouterr()
    assert run(["problems", "suites"]) == 0
    lines = capsys.readouterr().out.splitlines()
    mine = next(line.split("\t") for line in lines if line.startswith("mine\t"))
    import hashlib

    digest = hashlib.sha256(HUMANEVAL_FORMAT_FILE.read_bytes()).hexdigest()
    assert mine == ["mine", "human-eval", "3", str(HUMANEVAL_FORMAT_FILE.resolve()), digest]
    assert any(line.startswith("lowcost60\tfiles\t60\t") for line in lines)
    assert run(["problems", "list", "--suite", "mine", "--ids", "Mine/2"]) == 0
    assert capsys.readouterr().out.startswith("mine/Mine/2\t")


def test_a_bad_subset_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        from gradebench.tui.cli.main import main

        main(["problems", "list", "--suite", "lowcost60", "--ids", "nothing-like-this"])
    assert caught.value.code != 0
    err = capsys.readouterr().err
    assert err == "gradebench: id 'nothing-like-this': no such problem in suite lowcost60\n"


def test_a_sample_of_lowcost60_is_the_same_for_the_same_seed(capsys):
    listed = []
    for _ in range(2):
        assert (
            run(["problems", "list", "--suite", "lowcost60", "--sample", "5", "--seed", "3"]) == 0
        )
        listed.append([line.split("\t")[0] for line in capsys.readouterr().out.splitlines()])
    assert listed[0] == listed[1] and len(listed[0]) == 5
    with pytest.raises(UserError, match="--sample: must be at least 1"):
        run(["problems", "list", "--suite", "lowcost60", "--sample", "0"])
