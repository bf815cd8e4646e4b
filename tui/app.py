"""The gradebench Textual app: session start, then the grading screen.

Everything the app needs is injected through the constructor (database path,
config, backend, suite, contenders), so tests drive the real app with a scripted
backend and a demo suite. The product passes the gpt4all backend.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from gradebench.engine.answers.pipeline import AnswerPipeline
from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.grading.reviewer_settings import last_reviewer
from gradebench.engine.grading.rubric import rubric_from_config
from gradebench.engine.problems.model import Problem
from gradebench.engine.store.database import open_db
from gradebench.engine.workflows.grading_session import (
    CONTENDER_BOUNDS,
    DEFAULT_CONTENDERS,
    DEFAULT_SUITE,
    GradingSession,
    SessionRequest,
    close_grading_session,
    open_grading_session,
)

GIL_SWITCH_SECONDS = 0.0005


class GradebenchApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "gradebench"
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]
    BINDINGS: ClassVar[list[Binding]] = [
        Binding("q", "quit", "quit"),
        Binding("L", "leaderboard", "leaderboard", key_display="L"),
    ]

    def __init__(
        self,
        *,
        db_path: str | Path,
        config: Config | None = None,
        backend: Any = None,
        suite: str | None = None,
        contenders: Iterable[Any] | None = None,
        reviewer: str | None = None,
        blind: bool = False,
        which: str = "all",
        subset: str = "",
        diff: tuple[str, str] | None = None,
        diff_contender: str | None = None,
        ask: bool = True,
        suite_loader: Any = None,
        stable_display: bool = False,
        seed: int | None = None,
        look_ahead: int | None = None,
        recheck_rate: float | None = None,
    ) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.config = config or Config()
        self.db = open_db(self.db_path)
        self.rubric = rubric_from_config(self.config)
        self.backend = backend
        self.stable_display = stable_display
        self.look_ahead = look_ahead
        """Problems prepared ahead; ``None``: ``[grading] look_ahead`` from the config."""
        self.rng = random.Random(seed) if seed is not None else random.SystemRandom()
        self.recheck_rate = recheck_rate
        """Chance of a recheck before the next problem; ``None``: ``[grading] recheck_rate``."""
        self.recheck_rng = (
            random.Random(f"recheck:{seed}") if seed is not None else random.SystemRandom()
        )
        self.suite_loader = suite_loader
        contender_list = list(contenders) if contenders is not None else list(DEFAULT_CONTENDERS)
        self.contender_choices = contender_list
        self.request = SessionRequest(
            suite=suite or DEFAULT_SUITE,
            contenders=[c if isinstance(c, str) else c.name for c in contender_list][
                : CONTENDER_BOUNDS[1]
            ],
            reviewer=reviewer or last_reviewer(self.db) or "",
            blind=blind,
            which=which,
            subset=subset,
            diff=diff,
            diff_contender=diff_contender,
        )
        self.ask = ask or not self.request.reviewer
        self.session: GradingSession | None = None
        self.pipeline: AnswerPipeline | None = None
        from gradebench.engine.generation.prompts import load_prompt_templates

        self.templates = load_prompt_templates(self.config)

    # --- starting a session ---

    def on_mount(self) -> None:
        # model threads need the GIL for a moment at every token; a short switch
        # interval keeps them from queueing behind a screen repaint
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        if self.ask:
            self.push_screen(self.session_screen(self.request))
        else:
            self.start_session(self.request)

    def load_problems(self, suite: str) -> list[Problem]:
        if self.suite_loader is not None:
            load = self.suite_loader(suite)
        else:
            from gradebench.engine.problems.registry import SuiteSources

            load = SuiteSources.from_config(self.config).load(suite)
        if not load.problems:
            raise UserError(f"suite {suite}: no problems loaded")
        return list(load.problems)

    def contender_objects(self, names: list[str]) -> list[Any]:
        by_name = {c.name: c for c in self.contender_choices if not isinstance(c, str)}
        if all(n in by_name for n in names):
            return [by_name[n] for n in names]
        from gradebench.engine.generation.registry import load_registry

        registry = load_registry(self.config, styles=self.templates.styles)
        return [by_name.get(n) or registry.contender(n) for n in names]

    def suite_names(self, current: str) -> list[str]:
        from gradebench.engine.problems.registry import SuiteSources

        names = SuiteSources.from_config(self.config).names()
        if current not in names:
            names.insert(0, current)
        return names

    def contender_names(self) -> list[str]:
        names = [c if isinstance(c, str) else c.name for c in self.contender_choices]
        try:
            from gradebench.engine.generation.registry import load_registry

            registry = load_registry(self.config, styles=self.templates.styles)
            names += [n for n in registry.contenders if n not in names]
        except UserError as exc:  # a bad config is reported, the defaults still work
            self.notify(str(exc), severity="error")
        return names

    def session_screen(self, request: SessionRequest) -> Screen:
        from gradebench.tui.screens.session import SessionScreen

        return SessionScreen(
            request,
            suite_names=self.suite_names(request.suite),
            contender_names=self.contender_names(),
            on_start=self.start_session,
        )

    def build_session(self, request: SessionRequest) -> GradingSession:
        """Open the session through the workflow (all its rules are checked there)."""
        from gradebench.engine.workflows.grading_session import check_request

        check_request(request)
        return open_grading_session(
            self.db,
            request,
            contenders=self.contender_objects(request.contenders),
            problems=self.load_problems(request.suite),
            templates=self.templates,
            rubric=self.rubric,
        )

    def start_session(self, request: SessionRequest) -> bool:
        """Build the session and show the grading screen; on bad input, say so and stay."""
        try:
            session = self.build_session(request)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            if not isinstance(self.screen, _session_screen_type()):
                self.push_screen(self.session_screen(request))
            return False
        if self.backend is None:
            from gradebench.engine.generation.registry import load_registry
            from gradebench.engine.generation.routing import RoutingBackend
            from gradebench.engine.generation.thread_budget import ThreadBudget

            registry = load_registry(self.config, styles=self.templates.styles)
            self.backend = RoutingBackend(ThreadBudget.for_machine(registry.max_threads))
        if self.session is not None:
            close_grading_session(self.db, self.session)
        self.session = session
        self.request = request
        self.pipeline = AnswerPipeline(
            self.db_path, self.backend, prompt_templates=self.templates, run_id=session.run_id
        )
        from gradebench.tui.screens.grading import GradingScreen

        self.switch_or_push(
            GradingScreen.for_rubric(session.rubric)(
                session,
                db=self.db,
                pipeline=self.pipeline,
                rng=self.rng,
                stable_display=self.stable_display,
                look_ahead=self.look_ahead_depth(),
                recheck_rate=self.configured_recheck_rate(),
                recheck_rng=self.recheck_rng,
            )
        )
        return True

    def look_ahead_depth(self) -> int:
        if self.look_ahead is not None:
            return self.look_ahead
        from gradebench.engine.workflows.look_ahead import look_ahead_depth

        return look_ahead_depth(self.config)

    def configured_recheck_rate(self) -> float:
        if self.recheck_rate is not None:
            return self.recheck_rate
        from gradebench.engine.grading.rechecks import recheck_rate

        return recheck_rate(self.config)

    def switch_or_push(self, screen: Screen) -> None:
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def export_screenshot(self, *, title: str | None = None, simplify: bool = True) -> str:
        """SVG of the screen; segments and background cells are merged so equal screens
        give equal files (styles that differ only in invisible metadata split runs)."""
        return merge_background_rects(super().export_screenshot(title=title, simplify=simplify))

    # --- app-wide actions ---

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leaderboard":
            if importlib.util.find_spec("gradebench.tui.screens.leaderboard") is None:
                return False
            presentation = getattr(self.screen, "presentation", None)
            if presentation is not None and not presentation.revealed:
                return None  # blind: results per name could tell who wrote the hidden answers
        return True

    def action_leaderboard(self) -> None:
        from gradebench.engine.reporting.model import Selection
        from gradebench.tui.screens.leaderboard import LeaderboardScreen

        suite = self.session.problems[0].suite if self.session else None
        self.push_screen(
            LeaderboardScreen(
                db_path=self.db_path, selection=Selection(suite=suite), stable=self.stable_display
            )
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        from gradebench.tui.screens.grading import GradingScreen

        if isinstance(screen, GradingScreen):
            for level, score in enumerate(self.rubric.levels):
                yield SystemCommand(
                    f"Score: {score.label} ({score.value:g})",
                    f"key {level + 1}: grade the focused answer",
                    _runner(screen, f"score({level})"),
                )
            from gradebench.tui.screens.grading import PALETTE

            for action, title, help_text in PALETTE:
                yield SystemCommand(title, help_text, _runner(screen, action))

    def on_unmount(self) -> None:
        if self.session is not None:
            close_grading_session(self.db, self.session)
        closer = getattr(self.backend, "close", None)
        if closer is not None:
            closer()


def _runner(screen: Screen, action: str):
    async def run() -> None:
        await screen.run_action(action)

    return run


def _session_screen_type() -> type:
    from gradebench.tui.screens.session import SessionScreen

    return SessionScreen


_RECT = re.compile(
    r'<rect fill="(?P<fill>[^"]+)" x="(?P<x>[\d.]+)" y="(?P<y>[\d.]+)" '
    r'width="(?P<width>[\d.]+)" height="(?P<height>[\d.]+)" shape-rendering="crispEdges"/>'
)


def merge_background_rects(svg: str) -> str:
    """Join runs of adjacent same-colour background cells of one row into one rect."""
    out: list[str] = []
    pending: dict[str, str] | None = None
    position = 0

    def flush() -> None:
        if pending is not None:
            out.append(
                f'<rect fill="{pending["fill"]}" x="{pending["x"]}" y="{pending["y"]}" '
                f'width="{float(pending["width"]):g}" height="{pending["height"]}" '
                'shape-rendering="crispEdges"/>'
            )

    for match in _RECT.finditer(svg):
        between = svg[position : match.start()]
        rect = match.groupdict()
        joinable = (
            pending is not None
            and not between
            and rect["fill"] == pending["fill"]
            and rect["y"] == pending["y"]
            and abs(float(pending["x"]) + float(pending["width"]) - float(rect["x"])) < 0.05
        )
        if joinable:
            pending["width"] = f"{float(pending['width']) + float(rect['width']):.4f}"
        else:
            flush()
            out.append(between)
            pending = rect
        position = match.end()
    flush()
    out.append(svg[position:])
    return "".join(out)
