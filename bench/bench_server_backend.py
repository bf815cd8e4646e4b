"""Through a server: gradebench's ``openai`` backend vs a bare httpx SSE loop, and two
requests in flight vs one at a time.

Starts real ``python -m llama_cpp.server`` processes on 127.0.0.1 serving the default
model's original GGUF (1 thread each by default), then:

1. **Streaming overhead**: the same request (same prompt, greedy, ``max_tokens``) sent by
   ``OpenAIBackend.generate`` and by the thinnest httpx loop (``client.stream`` +
   ``iter_lines`` + ``json.loads`` per event), rounds interleaved with the order swapped
   every round; medians of decode tokens/s (after the first token), the ratio (goal
   >= 0.97) and the paired per-round ratio.
2. **--parallel 2**: llama-cpp-python's server runs one request at a time (it has no
   slots option; ``llama-server`` has ``--parallel``), so "a server with two slots" is
   measured as two server processes behind two endpoints. Aggregate tokens/s of two
   answers in flight at once (one per server, as ``generate --parallel 2`` keeps them)
   ÷ the same two answers one after the other. For reference, two answers in flight to
   ONE llama_cpp.server process are measured too (they queue: ~1.0 expected).

The machine's load average is printed: the figures move with it.

    .venv/bin/python bench/bench_server_backend.py [--rounds 5] [--tokens 96] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from gradebench.engine.generation.backend import GenerationRequest, GenerationResult
from gradebench.engine.generation.chat import render_prompt
from gradebench.engine.generation.default_model import original_path
from gradebench.engine.generation.openai_backend import OpenAIBackend, request_body
from gradebench.engine.generation.registry import GenerationParams
from tests.backends import openai_model
from tests.llama_server import LlamaServer

PROMPT = "Write a very long essay about the history of computing."


def make_request(base_url: str, tokens: int) -> GenerationRequest:
    model = openai_model(base_url)
    params = replace(GenerationParams(), temperature=0.0, top_k=1, top_p=1.0, max_tokens=tokens)
    messages = model.messages(PROMPT)
    return GenerationRequest(model, render_prompt(model, messages), params, "bench", messages)


def bare_loop(client: httpx.Client, request: GenerationRequest) -> tuple[int, float, float]:
    """The thinnest streaming client: POST, read lines, decode each data event, count."""
    assert request.model.endpoint is not None
    url = f"{request.model.endpoint.base_url}/chat/completions"
    started = time.perf_counter()
    first = None
    tokens = 0
    with client.stream("POST", url, json=request_body(request)) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            choices = chunk.get("choices") or [{}]
            if choices[0].get("delta", {}).get("content"):
                tokens += 1
                if first is None:
                    first = time.perf_counter()
    finished = time.perf_counter()
    assert first is not None
    return tokens, first - started, finished - started


def rate(tokens: int, ttft: float, total: float) -> float:
    return (tokens - 1) / (total - ttft)


def via_backend(backend: OpenAIBackend, request: GenerationRequest) -> GenerationResult:
    result = backend.generate(request)
    assert result.stop_reason in ("done", "max_tokens"), result.error
    assert result.ttft_seconds is not None
    return result


def overhead(server: LlamaServer, rounds: int, tokens: int) -> None:
    request = make_request(server.base_url, tokens)
    client = httpx.Client(timeout=600)
    backend = OpenAIBackend()
    via_backend(backend, request)  # warm-up: first prompt evaluation, connections
    bare_loop(client, request)
    rates: dict[str, list[float]] = {"bare": [], "gradebench": []}
    counts: dict[str, set[int]] = {"bare": set(), "gradebench": set()}
    for round_ in range(rounds):
        order = ["bare", "gradebench"] if round_ % 2 == 0 else ["gradebench", "bare"]
        for name in order:
            if name == "bare":
                n, ttft, total = bare_loop(client, request)
            else:
                result = via_backend(backend, request)
                n, ttft, total = result.tokens, result.ttft_seconds or 0.0, result.total_seconds
            rates[name].append(rate(n, ttft, total))
            counts[name].add(n)
    med = {name: statistics.median(values) for name, values in rates.items()}
    paired = statistics.median(
        g / b for g, b in zip(rates["gradebench"], rates["bare"], strict=True)
    )
    print(f"1. streaming overhead ({rounds} interleaved rounds, greedy, <= {tokens} tokens)")
    for name, label in (("bare", "bare httpx SSE loop"), ("gradebench", "gradebench openai")):
        shown = " ".join(f"{r:.1f}" for r in rates[name])
        print(
            f"  {label:20s}: {med[name]:6.1f} tok/s (median; per round {shown}; "
            f"tokens {sorted(counts[name])})"
        )
    print(f"  ratio gradebench / bare : {med['gradebench'] / med['bare']:.3f}  (goal >= 0.97)")
    print(f"        paired per round  : {paired:.3f}")
    client.close()
    backend.close()


def two_at_once(backend: OpenAIBackend, requests: list[GenerationRequest]) -> tuple[int, float]:
    results: list[GenerationResult] = []
    started = time.perf_counter()
    threads = [
        threading.Thread(target=lambda r=r: results.append(via_backend(backend, r)))
        for r in requests
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(r.tokens for r in results), time.perf_counter() - started


def one_by_one(backend: OpenAIBackend, requests: list[GenerationRequest]) -> tuple[int, float]:
    started = time.perf_counter()
    tokens = sum(via_backend(backend, r).tokens for r in requests)
    return tokens, time.perf_counter() - started


def parallel(servers: list[LlamaServer], rounds: int, tokens: int) -> None:
    cases = {
        "two servers": [make_request(s.base_url, tokens) for s in servers],
        "one server": [make_request(servers[0].base_url, tokens)] * 2,
    }
    print(f"2. --parallel 2 ({rounds} interleaved rounds, aggregate tokens/s incl. TTFT)")
    for label, requests in cases.items():
        backend = OpenAIBackend(concurrency=2)  # what `generate --parallel 2` builds
        one_by_one(backend, requests)  # warm-up
        at_once: list[float] = []
        serial: list[float] = []
        for round_ in range(rounds):
            runs = [("at once", two_at_once), ("serial", one_by_one)]
            for name, run in runs if round_ % 2 == 0 else runs[::-1]:
                n, seconds = run(backend, requests)
                (at_once if name == "at once" else serial).append(n / seconds)
        a, s = statistics.median(at_once), statistics.median(serial)
        print(
            f"  {label:11s}: two in flight {a:6.1f} tok/s, one at a time {s:6.1f} tok/s, "
            f"ratio {a / s:.3f}"
        )
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1, help="threads per server process")
    args = parser.parse_args()
    if not original_path().is_file():
        sys.exit("default model missing: run `gradebench models install-default`")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    servers = [LlamaServer(original_path(), threads=args.threads).start() for _ in range(2)]
    try:
        overhead(servers[0], args.rounds, args.tokens)
        parallel(servers, args.rounds, args.tokens)
    finally:
        for server in servers:
            server.stop()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
