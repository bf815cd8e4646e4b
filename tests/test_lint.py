"""ruff, as configured in pyproject.toml, is part of the test suite."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_ruff_check_passes():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_engine_never_imports_textual():
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "engine").rglob("*.py")
        if "import textual" in path.read_text() or "from textual" in path.read_text()
    ]
    assert offenders == []


def test_no_test_module_imports_another_test_module():
    """Shared pieces live in conftest.py files and helper modules (tests/seed.py,
    tests/fakes.py, tests/tui/helpers.py...), never in a test_*.py another one imports."""
    import ast

    offenders = []
    for path in (REPO / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"):
                    offenders.append(f"{path.relative_to(REPO)} imports {name}")
        for line in path.read_text(encoding="utf-8").splitlines():  # scripts in strings too
            stripped = line.strip()
            if stripped.startswith("from tests.") and ".test_" in stripped.split(" import ")[0]:
                offenders.append(f"{path.relative_to(REPO)}: {stripped}")
    assert sorted(set(offenders)) == []
