"""Backends side by side: gradebench's llama.cpp backend vs a bare llama-cpp-python loop,
and vs gradebench's gpt4all backend, on the default model.

Same weights, same prompt text (the chat rendered from the GGUF's template, which for
SmolLM2 is byte-identical to the gpt4all built-in's), greedy sampling, the same thread
count (1 by default); the bare loop borrows the backend's loaded instance, so the same
loaded model runs both. llama.cpp runs the ORIGINAL
SmolLM2 GGUF; gpt4all 2.8.2 cannot load it (pre-tokenizer ``smollm``) and runs the
relabelled copy (``tokenizer.ggml.pre = starcoder``, identical weights). Rounds are
interleaved (the order rotates each round) so background load hits all three alike;
one warm-up answer each loads the models first. Prints medians of decode tokens/s (after
the first token) and time to first token, and the ratios:

- llama.cpp backend / bare llama-cpp-python loop (streaming overhead; goal >= 0.97)
- llama.cpp backend / gpt4all backend (which backend is faster here)

    .venv/bin/python bench/bench_backends.py [--rounds 5] [--tokens 128] [--threads 1]
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
from gradebench.engine.generation.default_model import installed_path, original_path
from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend
from gradebench.engine.generation.llamacpp_backend import LlamaCppBackend
from gradebench.engine.generation.registry import GenerationParams, load_registry
from gradebench.engine.generation.thread_budget import ThreadBudget

PROMPT = "Write a Python function that returns the n-th Fibonacci number, with a docstring."


def bare_loop(llm, request: GenerationRequest) -> tuple[int, float, float]:
    """The thinnest use of llama-cpp-python: tokenize, generate, detokenize, count."""
    import llama_cpp

    params = request.params
    vocab = llm._model.vocab
    started = time.perf_counter()
    prompt = llm.tokenize(request.prompt_text.encode("utf-8"), add_bos=False, special=True)
    llm.reset()
    first = None
    tokens = 0
    for token in llm.generate(
        prompt,
        top_k=params.top_k,
        top_p=params.top_p,
        min_p=0.0,
        typical_p=1.0,
        temp=params.temperature,
        repeat_penalty=params.repeat_penalty,
    ):
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        llm.detokenize([token])
        tokens += 1
        if first is None:
            first = time.perf_counter()
        if tokens >= params.max_tokens:
            break
    finished = time.perf_counter()
    assert first is not None
    return tokens, first - started, finished - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if not (original_path().is_file() and installed_path().is_file()):
        sys.exit("default model missing: run `gradebench models install-default`")
    registry = load_registry(Config())
    params = GenerationParams(
        temperature=0.0, top_k=1, top_p=1.0, max_tokens=args.tokens, repeat_penalty=1.0
    )
    requests = {
        name: GenerationRequest.for_contender(
            replace(registry.contender(contender), params=params), PROMPT
        )
        for name, contender in (
            ("llamacpp", "smollm2-llamacpp-plain"),
            ("gpt4all", "smollm2-plain"),
        )
    }
    assert requests["llamacpp"].prompt_text == requests["gpt4all"].prompt_text
    llamacpp = LlamaCppBackend(ThreadBudget(args.threads))
    gpt4all = GPT4AllBackend(ThreadBudget(args.threads))
    llamacpp.preload(requests["llamacpp"].model)
    # The bare loop borrows the backend's pooled instance: both run the very same loaded
    # model (the runs are sequential, never at once), so only the code around it differs.
    bare, _ = llamacpp.pool.checkout(requests["llamacpp"].model)
    bare.set_cache(None)
    bare._ctx.set_n_threads(args.threads, args.threads)

    def run(name: str) -> tuple[int, float, float]:
        if name == "bare":
            bare._ctx.set_n_threads(args.threads, args.threads)
            return bare_loop(bare, requests["llamacpp"])
        if name == "llamacpp":
            llamacpp.pool.checkin(requests["llamacpp"].model, bare)
        backend = llamacpp if name == "llamacpp" else gpt4all
        result = backend.generate(requests[name])
        if name == "llamacpp":
            assert llamacpp.pool.checkout(requests["llamacpp"].model)[0] is bare
        assert result.stop_reason in ("done", "max_tokens"), result.error
        assert result.ttft_seconds is not None
        return result.tokens, result.ttft_seconds, result.total_seconds

    names = ["bare", "llamacpp", "gpt4all"]
    for name in names:  # warm-up: loads every model once
        run(name)
    rates: dict[str, list[float]] = {n: [] for n in names}
    ttfts: dict[str, list[float]] = {n: [] for n in names}
    counts: dict[str, set[int]] = {n: set() for n in names}
    for round_ in range(args.rounds):
        order = names[round_ % 3 :] + names[: round_ % 3]
        for name in order:
            tokens, ttft, total = run(name)
            rates[name].append((tokens - 1) / (total - ttft))
            ttfts[name].append(ttft)
            counts[name].add(tokens)
    med = {n: statistics.median(rates[n]) for n in names}
    ttft = {n: statistics.median(ttfts[n]) for n in names}
    print(
        f"backends ({args.rounds} interleaved rounds, <= {args.tokens} tokens, greedy, "
        f"{args.threads} thread(s); SmolLM2-135M Q4_1: llama.cpp on the original GGUF, "
        f"gpt4all on the relabelled copy)"
    )
    labels = {
        "bare": "bare llama-cpp-python loop",
        "llamacpp": "gradebench llamacpp backend",
        "gpt4all": "gradebench gpt4all backend",
    }
    for name in names:
        shown = " ".join(f"{r:.1f}" for r in rates[name])
        print(
            f"  {labels[name]:28s}: {med[name]:7.1f} tok/s, TTFT {ttft[name] * 1000:6.1f} ms "
            f"(median; tok/s per round {shown}; tokens {sorted(counts[name])})"
        )

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))

    print(
        f"  ratio llamacpp backend / bare loop : {med['llamacpp'] / med['bare']:.3f}  (goal >= 0.97)"
    )
    print(f"        paired (median of per-round ratios): {paired('llamacpp', 'bare'):.3f}")
    print(f"  ratio llamacpp backend / gpt4all   : {med['llamacpp'] / med['gpt4all']:.3f}")
    print(f"        paired (median of per-round ratios): {paired('llamacpp', 'gpt4all'):.3f}")
    print(f"  TTFT  llamacpp backend / gpt4all   : {ttft['llamacpp'] / ttft['gpt4all']:.3f}")
    llamacpp.pool.checkin(requests["llamacpp"].model, bare)
    llamacpp.close()
    gpt4all.close()


if __name__ == "__main__":
    main()
