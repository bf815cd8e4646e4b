"""The structure the architecture promises: engine/ layers and the UI boundary (import-linter
contracts in pyproject.toml), one top-level import name, packages all listed, and a command
line whose start loads only what the command needs."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

HEAVY = ("textual", "gpt4all", "numpy", "llama_cpp", "httpx")


def test_import_linter_contracts_hold():
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: " in result.stdout and " broken" in result.stdout
    assert " 0 broken" in result.stdout


def test_every_package_folder_is_listed_for_installation():
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        "gradebench." + ".".join(init.parent.relative_to(REPO).parts)
        for top in ("engine", "tui")
        for init in (REPO / top).rglob("__init__.py")
    }
    assert found == listed


def test_outside_the_checkout_only_the_gradebench_name_imports(tmp_path):
    """Installed, the code is gradebench.engine / gradebench.tui; no top-level engine or tui."""
    code = (
        "import importlib.util as u;"
        "print(u.find_spec('engine') is None, u.find_spec('tui') is None,"
        " u.find_spec('gradebench.engine') is not None, u.find_spec('gradebench.tui') is not None)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    shown = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["True", "True", "True", "True"]


def _loaded_at_exit(argv: list[str], cwd: Path) -> tuple[list[str], subprocess.CompletedProcess]:
    code = (
        "import atexit, sys\n"
        f"HEAVY = {HEAVY!r}\n"
        "atexit.register(lambda: print('LOADED', *[m for m in HEAVY if m in sys.modules]))\n"
        "from gradebench.tui.cli.main import main\n"
        f"sys.argv = ['gradebench', *{argv!r}]\n"
        "main()\n"
    )
    shown = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True)
    lines = [line for line in shown.stdout.splitlines() if line.startswith("LOADED")]
    assert len(lines) == 1, shown.stdout + shown.stderr
    return lines[0].split()[1:], shown


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["problems", "list", "--suite", "lowcost60"], ["prompts", "styles"]],
    ids=["help", "problems-list", "prompts-styles"],
)
def test_the_command_line_loads_no_ui_model_or_numpy_for_commands_that_need_none(argv, tmp_path):
    loaded, shown = _loaded_at_exit(argv, tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert loaded == []


def test_sql_is_written_only_in_the_store_layer():
    """Every statement sent to SQLite lives in engine/store/ (one owner for SQL): no
    module elsewhere calls a connection's execute, executemany or sqlite-utils' query,
    or indexes a database by table name."""
    import re

    sql_call = re.compile(r"\.(execute|executemany|executescript)\(|\bdb\.query\(|\bdb\[[\"']")
    offenders = []
    for folder in ("engine", "tui"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.is_relative_to(REPO / "engine" / "store"):
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if sql_call.search(line):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
