"""The real default model through gpt4all: what the backend contract suite
(test_backend_contract.py) does not cover — the model pool, the installed file, a broken
file, a prompt longer than the context, kill -9 during a batch (`make test` installs the model)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.generation.backend import GenerationRequest, GenerationResult
from gradebench.engine.generation.default_model import (
    PRE_TOKENIZER,
    installed_path,
    read_pre_tokenizer,
    read_stamp,
)
from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend
from gradebench.engine.generation.registry import ModelSpec, load_registry
from gradebench.engine.generation.thread_budget import BudgetEvent, ThreadBudget
from tests.backends import LONG_PROMPT
from tests.conftest import REPO

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def backend():
    if not installed_path().is_file():
        pytest.fail(
            "default model missing: run `gradebench models install-default` (make test does)"
        )
    with GPT4AllBackend(ThreadBudget(1)) as real:
        yield real


def _request(
    max_tokens: int,
    style: str = "plain",
    message: str = "Write a Python function add(a, b) that returns a + b.",
) -> GenerationRequest:
    contender = load_registry(Config()).contender(f"smollm2-{style}")
    contender = replace(contender, params=replace(contender.params, max_tokens=max_tokens))
    return GenerationRequest.for_contender(contender, message)


def test_installed_default_model_carries_the_starcoder_pre_tokenizer_and_its_stamp() -> None:
    path = installed_path()
    assert read_pre_tokenizer(path) == PRE_TOKENIZER
    # the stamp tells the truth about the file (hashlib, not the product's hash helper)
    assert read_stamp(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_loaded_model_is_reused_for_the_next_answer(backend) -> None:
    backend.generate(_request(2))
    loads = backend.pool.loads
    second = backend.generate(_request(2))
    assert backend.pool.loads == loads
    assert second.load_seconds == 0.0


def test_two_streams_on_the_same_file_run_at_once_on_separate_instances() -> None:
    events: list[BudgetEvent] = []
    with GPT4AllBackend(ThreadBudget(2, observer=events.append)) as two:
        first_text = threading.Event()
        cancel_long = threading.Event()
        results: dict[str, GenerationResult] = {}

        def run_long() -> None:
            results["plain"] = two.generate(
                _request(1500, "plain", LONG_PROMPT), lambda _chunk: first_text.set(), cancel_long
            )

        long_one = threading.Thread(target=run_long)
        long_one.start()
        try:
            assert first_text.wait(300), "the first stream produced no text"
            results["cot"] = two.generate(_request(4, "cot"))  # while the first still streams
        finally:
            cancel_long.set()
            long_one.join(300)
        assert not long_one.is_alive(), "the first stream did not stop after cancel"
    assert results["cot"].stop_reason == "max_tokens" and results["cot"].tokens == 4
    assert results["plain"].stop_reason == "cancelled", "the first ended before the second ran"
    order = [(e.kind, e.label) for e in events]
    assert order.index(("granted", "smollm2-cot")) < order.index(("released", "smollm2-plain"))
    assert two.pool.loads == 2
    assert two.budget.in_use() == 0


def test_a_truncated_gguf_is_one_clear_error_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(installed_path().read_bytes()[:1_000_000])
    model = ModelSpec(name="broken", path=broken)
    with GPT4AllBackend(ThreadBudget(1)) as real, pytest.raises(UserError, match=r"broken\.gguf"):
        real.generate(GenerationRequest(model=model, prompt_text="hi", params=model.params))


def test_kill_9_during_gradebench_generate_then_rerun_leaves_one_answer_per_pair(
    tmp_path: Path, demo_suite_dir: Path
) -> None:
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    config = tmp_path / "gradebench.toml"
    config.write_text(
        "[generation]\nmax_threads = 1\n"
        "[contenders.smol-short]\nmodel = 'smollm2-135m'\nprompt_style = 'plain'\nmax_tokens = 40\n"
    )
    db_path = tmp_path / "kill.db"
    command = [
        sys.executable,
        "-c",
        "from gradebench.tui.cli.main import main; main()",
        "--db",
        str(db_path),
        "--config",
        str(config),
        "generate",
        "--suite",
        str(demo_suite_dir),
        "--contender",
        "smol-short",
        "--no-evaluate",
    ]
    repo = REPO
    first = subprocess.Popen(command, cwd=repo, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
            try:
                with sqlite3.connect(db_path, timeout=5) as peek:
                    statuses = [r[0] for r in peek.execute("SELECT status FROM generations")]
            except sqlite3.OperationalError:
                continue
            finished = {"done", "max_tokens"} & set(statuses)
            if "streaming" in statuses and finished:
                break
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    assert first.returncode == -signal.SIGKILL, "the batch finished before it could be killed"
    second = subprocess.run(command, cwd=repo, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    with sqlite3.connect(db_path) as db:
        current = db.execute(
            "SELECT problem_id, status FROM generations WHERE superseded_at IS NULL"
        ).fetchall()
        interrupted = db.execute(
            "SELECT status, error FROM generations WHERE superseded_at IS NOT NULL"
        ).fetchall()
    assert len(current) == 3
    assert len({p for p, _ in current}) == 3
    assert all(status in ("done", "max_tokens") for _, status in current)
    assert len(interrupted) == 1
    assert interrupted[0][0] == "cancelled" and interrupted[0][1].startswith("interrupted")


def test_a_prompt_longer_than_the_context_ends_with_stop_reason_error(backend) -> None:
    request = _request(8)
    too_long = replace(request, prompt_text="word " * 3000)
    result = backend.generate(too_long)
    assert result.stop_reason == "error"
    assert "context window" in (result.error or "")
    assert result.tokens == 0


def test_gradebench_generate_starts_where_the_last_reviewer_resumes_grading(
    tmp_path: Path, demo_suite_dir: Path, cli
) -> None:
    import sqlite3

    from gradebench.engine.grading.grades import record_grade
    from gradebench.engine.grading.reviewer_settings import remember_reviewer
    from gradebench.engine.problems.suites.files import load_directory
    from gradebench.engine.store.database import open_db

    ids = [p.id for p in load_directory(demo_suite_dir).problems]
    config = tmp_path / "gradebench.toml"
    config.write_text(
        "[generation]\nmax_threads = 1\n"
        "[contenders.smol-short]\nmodel = 'smollm2-135m'\nprompt_style = 'plain'\nmax_tokens = 8\n"
    )
    db_path = tmp_path / "order.db"
    common = ["--db", db_path, "--config", config, "generate", "--suite", demo_suite_dir]
    first = cli(*common, "--contender", "smol-short", "--problems", ids[0], "--no-evaluate")
    assert first.code == 0, first.err
    db = open_db(db_path)
    (answer,) = [r[0] for r in db.execute("SELECT id FROM generations")]
    record_grade(db, generation_id=answer, reviewer="ann", score=1.0)
    remember_reviewer(db, "ann")
    db.conn.close()
    rest = cli(*common, "--contender", "smol-short", "--samples", "2", "--no-evaluate")
    assert rest.code == 0, rest.err
    assert f"starting at {ids[1]}, where ann resumes grading" in rest.err
    with sqlite3.connect(db_path) as peek:
        made = peek.execute(
            "SELECT problem_id, sample_index FROM generations WHERE id != ? ORDER BY rowid",
            [answer],
        ).fetchall()
    # ann's next problems first, then the one she graded (its second sample), wrapping round
    assert made == [
        *[(i, 0) for i in ids[1:]],
        *[(i, 1) for i in ids[1:]],
        (ids[0], 1),
    ]


def test_three_gradebench_generate_processes_racing_on_the_same_pairs_make_one_answer_each(
    tmp_path: Path, demo_suite_dir: Path
) -> None:
    """Each process plans every pair; a pair another one is streaming is left to it (its
    claim), so the three share the work: one answer per pair, nothing superseded."""
    import sqlite3
    import subprocess
    import sys

    config = tmp_path / "gradebench.toml"
    config.write_text(
        "[generation]\nmax_threads = 1\n"
        "[contenders.smol-short]\nmodel = 'smollm2-135m'\nprompt_style = 'plain'\nmax_tokens = 24\n"
    )
    db_path = tmp_path / "race.db"
    command = [
        sys.executable,
        "-c",
        "from gradebench.tui.cli.main import main; main()",
        "--db",
        str(db_path),
        "--config",
        str(config),
        "generate",
        "--suite",
        str(demo_suite_dir),
        "--contender",
        "smol-short",
    ]
    racers = [
        subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    ends = [racer.communicate(timeout=600) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0, 0], [e[1][-400:] for e in ends]
    with sqlite3.connect(db_path) as db:
        rows = db.execute(
            "SELECT problem_id, status, superseded_at, run_id FROM generations"
        ).fetchall()
        runs = db.execute("SELECT COUNT(*) FROM runs WHERE kind = 'generate'").fetchone()[0]
        tested = db.execute("SELECT COUNT(DISTINCT generation_id) FROM executions").fetchone()[0]
    assert runs == 3
    assert len(rows) == 3 and len({problem for problem, *_ in rows}) == 3
    assert all(status in ("done", "max_tokens") and sup is None for _p, status, sup, _r in rows)
    assert tested == 3
