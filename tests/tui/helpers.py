"""Shared pieces for the Pilot tests: a scripted app on the demo suite, a host for the
leaderboard screen and its table rows, and the one ``wait_until``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable

from gradebench.engine.generation.registry import Contender, GenerationParams, ModelSpec
from gradebench.tui.screens.leaderboard import LeaderboardScreen
from tests.fakes import FakeBackend

DEMO_SUITE = Path(__file__).resolve().parent.parent / "data" / "problems" / "demo"

ANSWERS = {
    # the prompt holds the statement; each demo problem gets a right and a wrong answer
    "sum of the integers": "```python\ndef add(a, b):\n    return a + b\n```\n",
}


def fake_model(tmp_path: Path) -> ModelSpec:
    path = tmp_path / "fake-model.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return ModelSpec(name="fake", path=path, prompt_template="%1")


def contenders(tmp_path: Path, count: int = 2) -> list[Contender]:
    model = fake_model(tmp_path)
    styles = ["plain", "cot", "plain", "cot"]
    return [
        Contender(
            name=f"model-{chr(ord('x') + i)}" if i < 3 else "model-w",
            model=model,
            prompt_style=styles[i],
            params=GenerationParams(max_tokens=400, temperature=0.1 * i),
        )
        for i in range(count)
    ]


def make_app(tmp_path: Path, backend: FakeBackend | None = None, **options):
    from gradebench.tui.app import GradebenchApp

    settings = {
        "db_path": tmp_path / "grades.db",
        "backend": backend or FakeBackend(answers=dict(ANSWERS)),
        "suite": str(DEMO_SUITE),
        "contenders": contenders(tmp_path),
        "reviewer": "tess",
        "ask": False,
        "stable_display": True,
        "seed": 7,
        "look_ahead": 0,  # today's behaviour unless a test turns look-ahead on
        "recheck_rate": 0.0,  # no answer shown again unless a test asks for rechecks
    }
    settings.update(options)
    return GradebenchApp(**settings)


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until ``predicate()`` holds; fail with a clear message on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)
        await asyncio.sleep(0)


class LeaderboardHost(App[None]):
    def __init__(self, screen: LeaderboardScreen) -> None:
        super().__init__()
        self.leaderboard = screen

    def on_mount(self) -> None:
        self.push_screen(self.leaderboard)


def table_rows(screen: LeaderboardScreen, selector: str = "#lb-table") -> list[list[str]]:
    table = screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
