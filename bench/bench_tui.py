"""Responsiveness of the grading app while two real default-model streams run.

Usage: ``.venv/bin/python bench/bench_tui.py [--rounds 3] [--presses 60] [--problem N]``

1. Streaming throughput: the two default contenders answer the same lowcost60
   problem (a) straight through the gpt4all backend, two threads, no UI ("bare"), and
   (b) inside the app, headless, both panes streaming. Rounds alternate bare/app on
   the same loaded models. Reported: median decode tok/s per stream of each, and
   app / bare (goal >= 0.95: tokens are batched every ~40 ms, never one refresh per
   token).
2. Score-key latency: the app shows the two default contenders' stored answers while
   two default-model streams run through the same backend in background threads
   (restarted as they end); the left answer is scored again and again (keys 1/2/3).
   Each press is timed from the key to the grade event being committed in SQLite
   (checked through a second connection) and shown in the pane. Reported: p50 / p95
   / max over the presses (goal: p95 <= 50 ms), all taken while both streams ran.

Exit status 1 when a goal is missed. Needs the default model
(``gradebench models install-default``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.answering import AnswerPipeline, Seat
from engine.config import Config
from engine.generate import GenerationRequest, GPT4AllBackend
from engine.models import load_registry, register_contender
from engine.prompts import PromptTemplates, build_prompt
from engine.scheduler import ThreadBudget
from engine.store import open_db
from engine.suites import load_suite
from tui.app import DEFAULT_CONTENDERS, GradebenchApp
from tui.widgets.answer_pane import AnswerPane

SUITE = "lowcost60"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def bare_round(backend, contenders, problem) -> list[float]:
    """Both default contenders at once, straight through the backend."""
    templates = PromptTemplates()
    results = [None, None]

    def run(i: int) -> None:
        message = build_prompt(problem, contenders[i].prompt_style, templates)
        request = GenerationRequest.for_contender(contenders[i], message)
        results[i] = backend.generate(request, lambda _text: None, threading.Event())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r.tokens_per_second for r in results if r is not None and r.tokens > 1]


async def app_round(backend, contenders, problem_index: int, folder: Path) -> list[float]:
    """Both default contenders at once, streaming into the app's panes."""
    app = GradebenchApp(
        db_path=folder / "throughput.db",
        backend=backend,
        suite=SUITE,
        contenders=contenders,
        reviewer="bench",
        ask=False,
    )
    rates: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        if problem_index:
            screen.show_problem(problem_index)
        while not all(p.answer is not None for p in screen.query(AnswerPane)):
            await asyncio.sleep(0.05)
        rates = [
            p.answer.tokens_per_second
            for p in screen.query(AnswerPane)
            if p.answer.tokens > 1 and p.answer.tokens_per_second
        ]
        await pilot.pause()
    app.backend = None  # the backend is shared across rounds; keep it open
    return rates


async def latency_run(backend, contenders, problem, folder: Path, presses: int) -> list[float]:
    """Score a stored answer over and over while two default-model streams run.

    The two streams run straight through the backend in background threads and are
    restarted as soon as they end, so every timed press happens while both stream.
    """
    db_path = folder / "latency.db"
    db = open_db(db_path)
    templates = PromptTemplates()
    pipeline = AnswerPipeline(db_path, backend, prompt_templates=templates)
    for contender in contenders[:2]:
        template = templates.template(contender.prompt_style)
        registered = register_contender(db, contender, template)
        seat = Seat(registered.id, contender.name, contender, template)
        answer = pipeline.generate(problem, seat, lambda _text: None, threading.Event())
        pipeline.evaluate(problem, answer)
    stop = threading.Event()
    streaming = [0, 0]

    def stream_forever(i: int) -> None:
        message = build_prompt(problem, contenders[i].prompt_style, templates)
        request = GenerationRequest.for_contender(contenders[i], message)

        def on_text(_text: str) -> None:
            streaming[i] += 1

        while not stop.is_set():
            backend.generate(request, on_text, stop)

    threads = [threading.Thread(target=stream_forever, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    watcher = open_db(db_path)
    app = GradebenchApp(
        db_path=db_path,
        backend=backend,
        suite=SUITE,
        contenders=contenders[:2],
        reviewer="bench",
        ask=False,
    )
    timings: list[float] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            target = screen.query(AnswerPane).first()
            while target.answer is None or min(streaming) == 0:
                await asyncio.sleep(0.02)
            keys = "123"
            while len(timings) < presses:
                before = watcher.execute("SELECT count(*) FROM grade_events").fetchone()[0]
                tokens_before = list(streaming)
                started = time.perf_counter()
                await pilot.press(keys[len(timings) % 3])
                committed = watcher.execute("SELECT count(*) FROM grade_events").fetchone()[0]
                shown = target.grade is not None and target.history_count == before + 1
                elapsed = time.perf_counter() - started
                if committed != before + 1 or not shown:
                    raise SystemExit(f"press {len(timings)}: grade not committed/shown")
                await asyncio.sleep(0.1)  # a fast reviewer, not a key-repeat flood
                if all(now > was for now, was in zip(streaming, tokens_before, strict=True)):
                    timings.append(elapsed)  # both streams produced tokens around this press
            print(
                f"score key -> committed + shown, {len(timings)} presses while 2 streams ran: "
                f"p50 {percentile(timings, 0.5) * 1000:.1f} ms, "
                f"p95 {percentile(timings, 0.95) * 1000:.1f} ms, "
                f"max {max(timings) * 1000:.1f} ms (goal p95 <= 50)",
                flush=True,
            )
            app.backend = None  # shared with the background streams: not closed by the app
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    app.backend = None
    return timings


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (0: skip)")
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--problem", type=int, default=0, help="index in lowcost60")
    parser.add_argument(
        "--max-tokens", type=int, default=160, help="answer length cap, same for bare and app"
    )
    args = parser.parse_args()

    registry = load_registry(Config())
    defaults = [
        replace(c, params=replace(c.params, max_tokens=args.max_tokens))
        for c in (registry.contender(n) for n in DEFAULT_CONTENDERS)
    ]
    problems = list(load_suite(SUITE).problems)
    problem = problems[args.problem]
    budget = ThreadBudget.for_machine(registry.max_threads)
    print(f"machine: {budget.total} thread(s) in the budget; problem {problem.id}")
    backend = GPT4AllBackend(budget)
    try:
        bare_round(backend, defaults, problem)  # warm-up: load both model instances
        bare: list[float] = []
        app: list[float] = []
        with tempfile.TemporaryDirectory() as tmp:
            for round_index in range(args.rounds):
                folder = Path(tmp) / f"round{round_index}"
                folder.mkdir()
                bare += bare_round(backend, defaults, problem)
                app += await app_round(backend, defaults, args.problem, folder)
                print(
                    f"round {round_index + 1}: bare {statistics.median(bare):.1f} tok/s, "
                    f"app {statistics.median(app):.1f} tok/s (medians so far)"
                )
            folder = Path(tmp) / "latency"
            folder.mkdir()
            timings = await latency_run(backend, defaults, problem, folder, args.presses)
    finally:
        backend.close()

    ratio = statistics.median(app) / statistics.median(bare) if app and bare else float("nan")
    p95 = percentile(timings, 0.95) * 1000
    print(
        f"streaming: bare median {statistics.median(bare or [0]):.1f} tok/s ({len(bare)} streams), "
        f"in app {statistics.median(app or [0]):.1f} tok/s ({len(app)} streams), "
        f"app/bare = {ratio:.3f} (goal >= 0.95)"
    )
    ok = ratio >= 0.95 and p95 <= 50 and len(timings) >= 50
    print("OK" if ok else "GOAL MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
