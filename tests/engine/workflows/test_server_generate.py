"""``gradebench generate`` with server contenders, against real ``llama_cpp.server`` processes:
mixed with local contenders of both local backends in one run, ``--parallel``, the API key
never stored or shown, and a server killed mid-answer (``error`` kept, the next run redoes it).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.llama_server import LlamaServer, default_gguf, server_model_toml

SECRET = "sk-gradebench-test-0123456789"


def all_text_in_database(db_path: Path) -> str:
    """Every value of every table, as text."""
    with sqlite3.connect(db_path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        parts = [repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')]
    return "\n".join(parts)


def current_rows(db_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db_path) as conn:
        return list(
            conn.execute(
                "SELECT c.name, g.problem_id, g.status FROM generations g "
                "JOIN contenders c ON c.id = g.contender_id WHERE g.superseded_at IS NULL "
                "ORDER BY c.name, g.problem_id"
            )
        )


def test_generate_runs_all_three_backends_in_one_run_and_never_stores_the_key(
    cli, tmp_path: Path, llama_server, demo_suite_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVED_KEY", SECRET)
    config = tmp_path / "gradebench.toml"
    config.write_text(
        "[generation]\nmax_threads = 1\n"
        + server_model_toml("served", llama_server.base_url, api_key_env="SERVED_KEY")
        + "[contenders.served-short]\nmodel = 'served'\nmax_tokens = 24\n"
        "[contenders.gpt4all-short]\nmodel = 'smollm2-135m'\nmax_tokens = 24\n"
        "[contenders.llamacpp-short]\nmodel = 'smollm2-135m-llamacpp'\nmax_tokens = 24\n"
    )
    db_path = tmp_path / "grades.db"
    args = ["--config", config, "--db", db_path, "generate", "--suite", demo_suite_dir]
    contenders = ["--contender", "served-short", "--contender", "gpt4all-short"]
    contenders += ["--contender", "llamacpp-short", "--limit", "2", "--parallel", "2"]
    result = cli(*args, *contenders)
    assert result.code in (0, 1), result.err  # 1: some answer's tests failed, not an error
    rows = current_rows(db_path)
    assert sorted({name for name, _, _ in rows}) == [
        "gpt4all-short",
        "llamacpp-short",
        "served-short",
    ]
    assert len(rows) == 6
    assert {status for _, _, status in rows} <= {"done", "max_tokens"}, (rows, result.err)
    stored = all_text_in_database(db_path)
    assert SECRET not in stored
    assert SECRET not in result.out + result.err
    listing = cli("--config", config, "models", "list")
    assert "served\topenai" in listing.out and SECRET not in listing.out + listing.err
    log = tmp_path / "gradebench.log"
    assert not log.exists() or SECRET not in log.read_text()
    with sqlite3.connect(db_path) as conn:
        (location, template) = conn.execute(
            "SELECT path, chat_template FROM models WHERE name = 'served'"
        ).fetchone()
    assert llama_server.base_url in location and '"reported_model":"smollm2-served"' in template


def test_a_server_killed_mid_answer_leaves_error_and_the_next_run_redoes_it(
    cli, tmp_path: Path, demo_suite_dir: Path
) -> None:
    server = LlamaServer(default_gguf(), log_path=tmp_path / "server.log").start()
    config = tmp_path / "gradebench.toml"
    db_path = tmp_path / "grades.db"
    killed = threading.Event()

    def kill_when_streaming() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(db_path, timeout=5) as peek:
                    texts = [
                        r[0]
                        for r in peek.execute(
                            "SELECT raw_answer FROM generations WHERE status = 'streaming'"
                        )
                    ]
            except sqlite3.OperationalError:
                texts = []
            if any(texts):
                server.kill()
                killed.set()
                return
            time.sleep(0.01)

    try:
        config.write_text(
            server_model_toml("served", server.base_url)
            + "[contenders.served-long]\nmodel = 'served'\nmax_tokens = 2000\n"
        )
        args = ["--config", config, "--db", db_path, "generate", "--suite", demo_suite_dir]
        args += ["--contender", "served-long", "--limit", "1", "--no-evaluate"]
        watcher = threading.Thread(target=kill_when_streaming)
        watcher.start()
        first = cli(*args)
        watcher.join()
        assert killed.is_set(), "the answer ended before the server could be killed"
        assert first.code == 1
        assert server.base_url in first.err
        (row,) = current_rows(db_path)
        assert row[2] == "error"
        with sqlite3.connect(db_path) as conn:
            (text, error) = conn.execute(
                "SELECT raw_answer, error FROM generations WHERE superseded_at IS NULL"
            ).fetchone()
        assert text and error.startswith(server.base_url)  # the text so far is kept

        server = LlamaServer(default_gguf(), port=server.port, log_path=server.log_path).start()
        second = cli(*args)
        assert second.code == 0, second.err
        (row,) = current_rows(db_path)
        assert row[2] in ("done", "max_tokens")
        with sqlite3.connect(db_path) as conn:
            statuses = [r[0] for r in conn.execute("SELECT status FROM generations")]
        assert sorted(statuses) == sorted(["error", row[2]])  # the error row kept, superseded
    finally:
        server.stop()
