"""Streaming overhead: tokens/s through GPT4AllBackend vs a bare gpt4all callback loop.

Same model file (the installed default), same prompt, same thread count, greedy
sampling (temperature 0) so both produce the same tokens; rounds alternate between
the two so background load hits both alike. The bare loop is the thinnest use of
gpt4all there is: ``LLModel.prompt_model`` with a callback that only counts. Prints
decode tokens/s of each and the ratio backend / bare (goal: >= 0.97).

    .venv/bin/python bench/bench_streaming.py [--rounds 5] [--tokens 128] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradebench.engine.config import Config
from gradebench.engine.generation.backend import GenerationRequest
from gradebench.engine.generation.default_model import installed_path
from gradebench.engine.generation.gpt4all_backend import N_BATCH, GPT4AllBackend
from gradebench.engine.generation.registry import GenerationParams, load_registry
from gradebench.engine.generation.thread_budget import ThreadBudget

PROMPT = "Write a Python function that returns the n-th Fibonacci number, with a docstring."


class _Borrowed:
    def __init__(self, backend: GPT4AllBackend, model, threads: int) -> None:
        self.backend, self.model_spec, self.threads = backend, model, threads

    def run(self, fn):
        instance, _ = self.backend.pool.checkout(self.model_spec)
        try:
            instance.model.set_thread_count(self.threads)
            return fn(instance)
        finally:
            self.backend.pool.checkin(self.model_spec, instance)


def bare_loop(borrowed: _Borrowed, request: GenerationRequest) -> tuple[int, float]:
    """(tokens, decode seconds) from gpt4all directly."""
    return borrowed.run(lambda instance: _bare(instance, request))


def _bare(instance, request: GenerationRequest) -> tuple[int, float]:
    params = request.params
    stamps: list[float] = []

    def count(token_id: int, text: str) -> bool:
        stamps.append(time.perf_counter())
        return True

    instance.model.prompt_model(
        request.prompt_text,
        "%1",
        count,
        n_predict=params.max_tokens,
        temp=params.temperature,
        top_k=params.top_k,
        top_p=params.top_p,
        repeat_penalty=params.repeat_penalty,
        repeat_last_n=params.repeat_last_n,
        n_batch=N_BATCH,
        reset_context=True,
        special=True,
    )
    return len(stamps), stamps[-1] - stamps[0]


def through_backend(backend: GPT4AllBackend, request: GenerationRequest) -> tuple[int, float]:
    stamps: list[float] = []
    pieces: list[str] = []

    def on_text(chunk: str) -> None:  # what a real consumer does: keep the text
        pieces.append(chunk)
        stamps.append(time.perf_counter())

    result = backend.generate(request, on_text)
    return result.tokens, stamps[-1] - stamps[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not installed_path().is_file():
        sys.exit("default model missing: run `gradebench models install-default`")
    contender = load_registry(Config()).contender("smollm2-plain")
    params = GenerationParams(temperature=0.0, top_k=1, top_p=1.0, max_tokens=args.tokens)
    request = GenerationRequest.for_contender(replace(contender, params=params), PROMPT)

    backend = GPT4AllBackend(ThreadBudget(args.threads))
    backend.preload(request.model)
    # The bare loop borrows the backend's one pooled instance: both sides run the very same
    # loaded model (the runs are sequential, so it is never used by both at once).
    bare = _Borrowed(backend, request.model, args.threads)
    bare_loop(bare, replace(request, params=replace(params, max_tokens=4)))  # warm both
    through_backend(backend, replace(request, params=replace(params, max_tokens=4)))

    bare_rates: list[float] = []
    backend_rates: list[float] = []
    for round_ in range(args.rounds):
        order = [("bare", True), ("backend", False)]
        if round_ % 2:
            order.reverse()
        for _name, is_bare in order:
            tokens, seconds = (
                bare_loop(bare, request) if is_bare else through_backend(backend, request)
            )
            (bare_rates if is_bare else backend_rates).append((tokens - 1) / seconds)
    bare_median = statistics.median(bare_rates)
    backend_median = statistics.median(backend_rates)
    paired = statistics.median(b / a for a, b in zip(bare_rates, backend_rates, strict=True))
    print(
        f"streaming overhead ({args.rounds} rounds x {args.tokens} tokens, {args.threads} thread(s), "
        f"model {installed_path().name})"
    )
    print(f"  bare gpt4all loop : {bare_median:7.1f} tok/s (median; {_fmt(bare_rates)})")
    print(f"  GPT4AllBackend    : {backend_median:7.1f} tok/s (median; {_fmt(backend_rates)})")
    print(f"  ratio backend/bare: {backend_median / bare_median:.3f}  (goal >= 0.97)")
    print(f"  paired ratio (median of per-round ratios): {paired:.3f}")
    backend.close()


def _fmt(rates: list[float]) -> str:
    return " ".join(f"{r:.1f}" for r in rates)


if __name__ == "__main__":
    main()
