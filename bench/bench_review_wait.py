"""How long a reviewer waits for answers, with look-ahead off and on, in the same run.

Drives the real app (Pilot, the real gpt4all backend, the real default model, the two
default contenders on lowcost60) with a scripted reviewer: on each problem, once every
pane shows its verdict, it spends T seconds reading and grading (``--presses`` score keys
per pane spread over T, Tab between the panes), votes (``[``) and presses ``n``. Over ``--problems`` problems (>= 10) it
measures, per setting:

- wait per problem: from ``n`` until every pane shows its verdict (median / p95 / max);
- total session time, against the reviewer's own time (problems x T);
- score-key latency (median, p95), over all presses and over those made while look-ahead
  was generating or testing: from the key event until the pane holds the new grade.

T is measured first (one problem with look-ahead off: the per-problem generation and
test time G) and the settings run at T = G and T = 2G, each on a fresh database, look-ahead
off then on. Keys are posted as the terminal driver does (``Pilot.press`` would wait for
the app to go idle, which it never does while models run).

    .venv/bin/python bench/bench_review_wait.py --problems 10 --look-ahead 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from textual import events

from gradebench.engine.generation.thread_budget import ThreadBudget
from gradebench.tui.app import GradebenchApp
from gradebench.tui.widgets.answer_pane import AnswerPane

SUITE = "lowcost60"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def key(app: GradebenchApp, name: str, character: str | None) -> None:
    event = events.Key(name, character)
    event.set_sender(app)
    app.post_message(event)
    await asyncio.sleep(0)


def panes(app: GradebenchApp) -> list[AnswerPane]:
    return list(app.screen.query(AnswerPane))


def look_ahead_busy(app: GradebenchApp) -> bool:
    """Look-ahead is generating or testing an answer right now."""
    look_ahead = getattr(app.screen, "look_ahead", None)
    return look_ahead is not None and look_ahead.status().preparing > 0


async def until(predicate, timeout: float = 600.0, poll: float = 0.01) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there")
        await asyncio.sleep(poll)


async def session(
    problems: int, think: float, look_ahead: int, presses: int = 3
) -> dict[str, float | list]:
    from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend

    with tempfile.TemporaryDirectory() as tmp:
        backend = GPT4AllBackend(ThreadBudget.for_machine())
        app = GradebenchApp(
            db_path=Path(tmp) / "grades.db",
            backend=backend,
            suite=SUITE,
            reviewer="bench",
            ask=False,
            look_ahead=look_ahead,
            recheck_rate=0.0,  # the scripted reviewer goes straight on
        )
        waits: list[float] = []
        latencies: list[float] = []
        busy_latencies: list[float] = []
        async with app.run_test(size=(160, 45)):
            started = time.perf_counter()
            opened = started
            for n in range(problems):
                await until(
                    lambda: bool(panes(app)) and all(p.state.result is not None for p in panes(app))
                )
                waits.append(time.perf_counter() - opened)
                # The reviewer reads for T seconds and grades while reading: ``presses``
                # score keys per pane spread over T (changing their mind between 2 and 1),
                # so the presses fall while look-ahead prepares the next problems.
                steps = 2 * presses
                for step in range(steps):
                    await asyncio.sleep(think / (steps + 1))
                    pane_index = step // presses
                    if step == presses:
                        await key(app, "tab", "\t")
                    target = panes(app)[pane_index]
                    await until(lambda t=target: app.screen.current == t.index, 5)
                    before = target.state.history_count
                    busy = look_ahead_busy(app)
                    digit = "1" if (step % presses) == presses - 1 else "2"
                    pressed = time.perf_counter()
                    await key(app, digit, digit)
                    await until(
                        lambda t=target, b=before: t.state.history_count == b + 1, 10, 0.001
                    )
                    latencies.append(time.perf_counter() - pressed)
                    if busy:
                        busy_latencies.append(latencies[-1])
                await asyncio.sleep(think / (steps + 1))
                await key(app, "left_square_bracket", "[")
                if n + 1 < problems:
                    index = app.screen.index
                    opened = time.perf_counter()
                    await key(app, "n", "n")
                    await until(lambda i=index: app.screen.index == i + 1, 10)
            total = time.perf_counter() - started
        backend.close()
        return {
            "waits": waits,
            "latencies": latencies,
            "busy_latencies": busy_latencies,
            "total": total,
        }


def report(label: str, result: dict, problems: int, think: float) -> None:
    waits, latencies, total = result["waits"], result["latencies"], result["total"]
    own = problems * think
    print(
        f"{label:<26} wait median {statistics.median(waits):6.2f} s  p95 {percentile(waits, 0.95):6.2f} s"
        f"  max {max(waits):6.2f} s  |  total {total:6.1f} s vs reviewer {own:6.1f} s"
        f" ({total / own:4.2f}x)"
    )
    busy = result["busy_latencies"]
    line = (
        f"{'':<26} score key: {len(latencies)} presses, median"
        f" {statistics.median(latencies) * 1000:5.1f} ms, p95 {percentile(latencies, 0.95) * 1000:5.1f} ms"
    )
    if busy:
        line += (
            f"; {len(busy)} while look-ahead prepared: median"
            f" {statistics.median(busy) * 1000:5.1f} ms, p95 {percentile(busy, 0.95) * 1000:5.1f} ms"
        )
    print(line)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=10)
    parser.add_argument("--look-ahead", type=int, default=2)
    parser.add_argument("--think", type=float, default=None, help="T; default: measured G")
    parser.add_argument(
        "--presses", type=int, default=3, help="score keys per pane per problem, spread over T"
    )
    args = parser.parse_args()
    if args.think is None:
        first = await session(1, 0.0, 0)
        generation = first["waits"][0]
        print(
            f"per-problem generation + tests (look-ahead off, first problem): G = {generation:.1f} s"
        )
        thinks = [generation, 2 * generation]
    else:
        thinks = [args.think]
    for think in thinks:
        for depth in (0, args.look_ahead):
            result = await session(args.problems, think, depth, args.presses)
            report(f"T={think:4.1f} s look-ahead {depth}", result, args.problems, think)


if __name__ == "__main__":
    asyncio.run(main())
