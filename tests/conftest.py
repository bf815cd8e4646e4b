"""Shared fixtures: an isolated database, config dir and data dir for every test; one way
to run the ``gradebench`` command (in-process or as a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property-based tests run a bounded, seeded set of examples: the same in every run and
# on CI (a test that needs fewer, such as one per child process, says so itself).
# The autouse environment fixture below is the same for every example: safe to share.
settings.register_profile(
    "gradebench",
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.load_profile("gradebench")

from tests.ci_policy import pytest_runtest_makereport  # noqa: E402, F401  (a hook: CI fails on skips)

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_HUMANEVALPLUS = (
    REPO.parent / "shared" / "data" / "humanevalplus" / "HumanEvalPlus-v0.1.10.jsonl.gz"
)
SHARED_MBPPPLUS = REPO.parent / "shared" / "data" / "mbppplus" / "MbppPlus-v0.2.0.jsonl.gz"
HUMANEVAL_FORMAT_FILE = TEST_DATA / "humaneval_format" / "three_tasks.jsonl"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config or writes ./grades.db."""
    monkeypatch.setenv("GRADEBENCH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("GRADEBENCH_CONFIG", raising=False)
    monkeypatch.setenv("GRADEBENCH_DB", str(tmp_path / "grades.db"))
    monkeypatch.setenv("GRADEBENCH_CACHE_DIR", str(tmp_path / "cache"))  # model sha256 cache
    monkeypatch.setenv("GRADEBENCH_LOG", str(tmp_path / "gradebench.log"))  # internal errors


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "grades.db"


@pytest.fixture
def db(db_path: Path):
    from gradebench.engine.store.database import open_db

    database = open_db(db_path)
    yield database
    database.conn.close()


@pytest.fixture
def demo_suite_dir() -> Path:
    return TEST_DATA / "problems" / "demo"


@pytest.fixture
def humanevalplus_path() -> Path:
    if not SHARED_HUMANEVALPLUS.exists():
        pytest.fail(
            f"HumanEval+ data missing: {SHARED_HUMANEVALPLUS} (../shared must be beside the checkout)"
        )
    return SHARED_HUMANEVALPLUS


@pytest.fixture
def llamacpp_backend():
    """The real llama.cpp backend with a one-thread budget (for backend-generic tests:
    requests for ``smollm2-llamacpp-*`` contenders run the original SmolLM2 GGUF)."""
    from gradebench.engine.generation.default_model import original_path
    from gradebench.engine.generation.llamacpp_backend import LlamaCppBackend
    from gradebench.engine.generation.thread_budget import ThreadBudget

    if not original_path().is_file():
        pytest.fail("original default GGUF missing: run `gradebench models install-default`")
    with LlamaCppBackend(ThreadBudget(1)) as backend:
        yield backend


@pytest.fixture(scope="session")
def llama_server():
    """The session's real OpenAI-compatible server (``python -m llama_cpp.server`` on
    127.0.0.1, a free port, serving the default model's original GGUF), killed at the end."""
    from tests.llama_server import shared_server, stop_shared_server

    yield shared_server()
    stop_shared_server()


@pytest.fixture(scope="session")
def mbppplus_path() -> Path:
    if not SHARED_MBPPPLUS.exists():
        pytest.fail(
            f"MBPP+ data missing: {SHARED_MBPPPLUS} (../shared must be beside the checkout)"
        )
    return SHARED_MBPPPLUS


@dataclass(frozen=True)
class CliResult:
    """How one ``gradebench`` command ended."""

    code: int
    out: str
    err: str


class Cli:
    """Runs the ``gradebench`` command: ``cli(*args)`` in this process (through ``main``, so
    exit codes and one-line errors are the real ones), ``cli.subprocess(*args)`` as the
    installed console script in a child process."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys

    def __call__(self, *args: str | Path) -> CliResult:
        from gradebench.tui.cli.main import main

        self._capsys.readouterr()  # only this command's output
        with pytest.raises(SystemExit) as exited:
            main([str(a) for a in args])
        out, err = self._capsys.readouterr()
        code = exited.value.code
        return CliResult(code if isinstance(code, int) else 1, out, err)

    @staticmethod
    def subprocess(
        *args: str | Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 600,
    ) -> CliResult:
        """``env`` replaces the environment (default: this test's, already isolated)."""
        done = subprocess.run(
            [str(GRADEBENCH_COMMAND), *map(str, args)],
            cwd=cwd or REPO,
            env=dict(os.environ if env is None else env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(done.returncode, done.stdout, done.stderr)


GRADEBENCH_COMMAND = Path(sys.executable).parent / "gradebench"
"""The console script installed beside this Python (``pip install -e .``)."""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)
