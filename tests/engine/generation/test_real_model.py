"""The real default model through gpt4all (few tokens each; `make test` installs the model)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.generation.backend import GenerationRequest, Stream
from gradebench.engine.generation.default_model import (
    PRE_TOKENIZER,
    _sha256_file,
    installed_path,
    read_pre_tokenizer,
    read_stamp,
)
from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend
from gradebench.engine.generation.registry import ModelSpec, load_registry
from gradebench.engine.generation.thread_budget import ThreadBudget

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def backend():
    if not installed_path().is_file():
        pytest.fail(
            "default model missing: run `gradebench models install-default` (make test does)"
        )
    with GPT4AllBackend(ThreadBudget(1)) as real:
        yield real


def _request(max_tokens: int, style: str = "plain") -> GenerationRequest:
    contender = load_registry(Config()).contender(f"smollm2-{style}")
    contender = replace(contender, params=replace(contender.params, max_tokens=max_tokens))
    return GenerationRequest.for_contender(
        contender, "Write a Python function add(a, b) that returns a + b."
    )


def test_installed_default_model_carries_the_starcoder_pre_tokenizer_and_its_stamp() -> None:
    path = installed_path()
    assert read_pre_tokenizer(path) == PRE_TOKENIZER
    assert read_stamp(path) == _sha256_file(path)  # the stamp tells the truth about the file


def test_default_model_generates_a_short_answer_through_gpt4all(backend) -> None:
    chunks: list[str] = []
    result = backend.generate(_request(8), chunks.append)
    assert result.stop_reason in ("done", "max_tokens")
    assert 1 <= result.tokens <= 8
    assert result.text.strip()
    assert "".join(chunks) == result.text
    assert result.ttft_seconds is not None
    assert result.threads == 1


def test_the_loaded_model_is_reused_for_the_next_answer(backend) -> None:
    backend.generate(_request(2))
    loads = backend.pool.loads
    second = backend.generate(_request(2))
    assert backend.pool.loads == loads
    assert second.load_seconds == 0.0


def test_cancel_stops_the_real_model_mid_answer_and_frees_the_thread(backend) -> None:
    stream = Stream(backend, _request(400))
    for seen, _chunk in enumerate(stream, start=1):
        if seen == 3:
            stream.cancel()
    result = stream.wait(1.0)  # TimeoutError if the thread were still generating
    assert not stream.running
    assert result.stop_reason == "cancelled"
    assert 3 <= result.tokens < 400


def test_two_streams_on_the_same_file_run_at_once_on_separate_instances() -> None:
    with GPT4AllBackend(ThreadBudget(2)) as two:
        started = threading.Barrier(2, timeout=60)
        texts: dict[str, list[str]] = {"plain": [], "cot": []}

        def run(style: str):
            started.wait()
            return two.generate(_request(4, style), texts[style].append)

        results: dict[str, object] = {}
        threads = [
            threading.Thread(target=lambda s=s: results.__setitem__(s, run(s))) for s in texts
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(r.stop_reason in ("done", "max_tokens") for r in results.values())
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
    repo = Path(__file__).resolve().parents[3]
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
