"""Side by side: aggregate tokens/s of two contenders generating at once vs one at a time.

The two default contenders (SmolLM2 plain and cot) each answer the same prompt with
greedy sampling and a fixed token budget, first one after the other (each alone,
with every core of the budget), then both at once through the same backend (the
thread budget gives each its share). Same work both ways; the ratio is
aggregate throughput at once / one at a time (goal >= 1.0: running two side by
side must never be slower than running them in turn). Rounds alternate the order.

    .venv/bin/python bench/bench_side_by_side.py [--rounds 3] [--tokens 96] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradebench.engine.config import Config
from gradebench.engine.generation.backend import GenerationRequest, GenerationResult
from gradebench.engine.generation.default_model import installed_path
from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend
from gradebench.engine.generation.registry import GenerationParams, load_registry
from gradebench.engine.generation.thread_budget import ThreadBudget

PEAK_IN_USE = [0]
PROMPT = "Write a Python function is_palindrome(s) that ignores case and spaces."


def one_at_a_time(backend: GPT4AllBackend, requests: list[GenerationRequest]) -> tuple[int, float]:
    started = time.perf_counter()
    results = [backend.generate(r) for r in requests]
    return sum(r.tokens for r in results), time.perf_counter() - started


def at_once(
    backend: GPT4AllBackend, requests: list[GenerationRequest]
) -> tuple[int, float, list[GenerationResult]]:
    results: list[GenerationResult | None] = [None] * len(requests)
    gate = threading.Barrier(len(requests) + 1)

    def run(index: int) -> None:
        gate.wait()
        results[index] = backend.generate(requests[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    while any(t.is_alive() for t in threads):  # watch the budget while both run
        PEAK_IN_USE[0] = max(PEAK_IN_USE[0], backend.budget.in_use())
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    done = [r for r in results if r is not None]
    return sum(r.tokens for r in done), elapsed, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=None, help="budget (default: cores)")
    args = parser.parse_args()
    if not installed_path().is_file():
        sys.exit("default model missing: run `gradebench models install-default`")
    registry = load_registry(Config())
    params = GenerationParams(temperature=0.0, top_k=1, top_p=1.0, max_tokens=args.tokens)
    requests = [
        GenerationRequest.for_contender(replace(registry.contender(name), params=params), PROMPT)
        for name in ("smollm2-plain", "smollm2-cot")
    ]
    budget = ThreadBudget.for_machine(args.threads)
    backend = GPT4AllBackend(budget)
    warm = [replace(r, params=replace(params, max_tokens=2)) for r in requests]
    at_once(backend, warm)  # loads one instance per contender, reused below
    alone_rates: list[float] = []
    together_rates: list[float] = []
    for round_ in range(args.rounds):
        steps = ["alone", "together"] if round_ % 2 == 0 else ["together", "alone"]
        for step in steps:
            if step == "alone":
                tokens, seconds = one_at_a_time(backend, requests)
                alone_rates.append(tokens / seconds)
            else:
                tokens, seconds, _results = at_once(backend, requests)
                together_rates.append(tokens / seconds)
    alone = statistics.median(alone_rates)
    together = statistics.median(together_rates)
    print(
        f"side by side ({args.rounds} rounds, 2 contenders x {args.tokens} tokens, "
        f"budget {budget.total} thread(s))"
    )
    print(
        f"  one at a time ({budget.total} threads each): {alone:7.1f} tok/s  ({_fmt(alone_rates)})"
    )
    print(
        f"  both at once (peak threads in use: {PEAK_IN_USE[0]}): "
        f"{together:7.1f} tok/s  ({_fmt(together_rates)})"
    )
    print(f"  ratio at once / one at a time: {together / alone:.3f}  (goal >= 1.0)")
    backend.close()


def _fmt(rates: list[float]) -> str:
    return " ".join(f"{r:.1f}" for r in rates)


if __name__ == "__main__":
    main()
