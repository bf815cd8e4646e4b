"""The CI policy plugin (tests/ci_policy.py): under CI=true a skip fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.ci_policy import CI_SKIP_MESSAGE
from tests.conftest import REPO


def _run_probe(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import pytest\n\n"
        "def test_runs():\n    assert True\n\n"
        "def test_skips():\n    pytest.skip('no browser here')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.ci_policy",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(probe),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_skip_fails_the_run_under_ci_true_with_its_reason(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed" in result.stdout
    assert f"{CI_SKIP_MESSAGE}: Skipped: no browser here" in result.stdout


def test_outside_ci_a_skip_stays_a_skip(tmp_path: Path) -> None:
    result = _run_probe(tmp_path, None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout


def test_pytest_runs_with_strict_markers_and_the_skip_summary() -> None:
    import tomllib

    addopts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"][
        "addopts"
    ].split()
    assert "--strict-markers" in addopts and "-ra" in addopts
