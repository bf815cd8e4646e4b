"""The gpt4all backend: local GGUF files on the CPU through gpt4all (its 2024 llama.cpp).

Local files only (``allow_download=False``, CPU), loaded models cached and reused. A
gpt4all model has one context, so two contenders streaming at once on the same file each
get their own loaded instance; instances are pooled per file and handed out one per
running generation (two idle instances per file are kept). Every generation takes a
``ThreadLease`` from the shared ``ThreadBudget``
(``gradebench.engine.generation.thread_budget``) and applies re-balanced thread counts
between tokens, so concurrent models never oversubscribe the cores. Cancel stops at the
next token (gpt4all stops when its callback returns False).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.generation.backend import (
    GenerationRequest,
    GenerationResult,
    StopReason,
    TextCallback,
)
from gradebench.engine.generation.model_files import check_model_file
from gradebench.engine.generation.process_resources import ResourceMeter
from gradebench.engine.generation.registry import ModelSpec
from gradebench.engine.generation.thread_budget import Cancelled, ThreadBudget

N_CTX = 2048
N_BATCH = 64
IDLE_INSTANCES_PER_MODEL = 2


class _ModelPool:
    """Loaded gpt4all instances per GGUF file; one instance serves one generation at a time."""

    def __init__(self, idle_per_model: int = IDLE_INSTANCES_PER_MODEL) -> None:
        self._idle: dict[Path, list[Any]] = {}
        self._lock = threading.Lock()
        self.idle_per_model = idle_per_model
        self.loads = 0

    def checkout(self, model: ModelSpec) -> tuple[Any, float]:
        key = model.path.resolve()
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), 0.0
        check_model_file(model)
        started = time.perf_counter()
        instance = load_gpt4all(model.path)
        with self._lock:
            self.loads += 1
        return instance, time.perf_counter() - started

    def checkin(self, model: ModelSpec, instance: Any) -> None:
        key = model.path.resolve()
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.idle_per_model:
                idle.append(instance)
                return
        instance.close()

    def close(self) -> None:
        with self._lock:
            instances = [i for idle in self._idle.values() for i in idle]
            self._idle.clear()
        for instance in instances:
            instance.close()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Keep gpt4all's CUDA probing ("Failed to load libllamamodel-...cuda...so") off the
    terminal while it loads backends: this backend runs on the CPU only."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_gpt4all(path: Path, threads: int = 1) -> Any:
    """Load a local GGUF on the CPU; a file gpt4all cannot load is a one-line ``UserError``."""
    try:
        with _quiet_stderr():
            from gpt4all import GPT4All

            return GPT4All(
                model_name=path.name,
                model_path=str(path.parent),
                allow_download=False,
                n_threads=threads,
                device="cpu",
                n_ctx=N_CTX,
                verbose=False,
            )
    except (
        Exception
    ) as exc:  # gpt4all raises bare Exception("Model not loaded") for truncated files
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"model file {path}: gpt4all cannot load it ({message}); is the file complete?"
        ) from None


class GPT4AllBackend:
    """The real backend: gpt4all on the CPU, models pooled, threads from a shared budget."""

    def __init__(self, budget: ThreadBudget | None = None) -> None:
        self.budget = budget or ThreadBudget.for_machine()
        self.pool = _ModelPool()

    def close(self) -> None:
        self.pool.close()

    def preload(self, model: ModelSpec) -> float:
        """Load ``model`` now (a bad file fails here, before any row is written); seconds taken."""
        instance, seconds = self.pool.checkout(model)
        self.pool.checkin(model, instance)
        return seconds

    def __enter__(self) -> GPT4AllBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        check_model_file(request.model)
        try:
            lease = self.budget.acquire(label=request.label, cancel=cancel)
        except Cancelled:
            return GenerationResult(
                text="", tokens=0, stop_reason="cancelled", ttft_seconds=None, total_seconds=0.0
            )
        # Threads first, then an instance: a queued generation does not load a model copy.
        with lease:
            instance, load_seconds = self.pool.checkout(request.model)
            try:
                return self._run(instance, request, on_text, cancel, lease, load_seconds)
            finally:
                self.pool.checkin(request.model, instance)

    def _run(
        self,
        instance: Any,
        request: GenerationRequest,
        on_text: TextCallback | None,
        cancel: threading.Event | None,
        lease: Any,
        load_seconds: float,
    ) -> GenerationResult:
        llmodel = instance.model
        threads = lease.sync()  # blocks while a higher priority has the threads
        if threads == 0:  # cancelled while paused, before the first token: never run on 0
            return GenerationResult(
                text="", tokens=0, stop_reason="cancelled", ttft_seconds=None, total_seconds=0.0
            )
        llmodel.set_thread_count(threads)
        most_threads = threads
        pieces: list[str] = []
        tokens = 0
        first: float | None = None
        cancelled = False
        failure: str | None = None
        params = request.params

        def on_token(token_id: int, text: str) -> bool:
            nonlocal tokens, first, cancelled, failure, threads, most_threads
            if token_id == -1:  # gpt4all reports errors (e.g. prompt too long) this way
                failure = text.removeprefix("ERROR: ").strip() or "generation failed"
                return False
            if cancel is not None and cancel.is_set():
                cancelled = True
                return False
            tokens += 1
            if first is None:
                first = time.perf_counter()
            if text:
                pieces.append(text)
                if on_text is not None:
                    try:
                        on_text(text)
                    except Exception as exc:  # ctypes would swallow it; end the answer instead
                        failure = f"on_text failed: {type(exc).__name__}: {exc}"
                        return False
            wanted = lease.sync()  # blocks while a higher priority has the threads
            if wanted == 0:  # cancelled while paused
                cancelled = True
                return False
            if wanted != threads:
                llmodel.set_thread_count(wanted)
                threads = wanted
                most_threads = max(most_threads, wanted)
            return True

        meter = ResourceMeter.start()
        started = time.perf_counter()
        try:
            llmodel.prompt_model(
                request.prompt_text,
                "%1",
                on_token,
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
        except Exception as exc:  # a crash inside gpt4all must not lose the text so far
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            resources = meter.stop()
        finished = time.perf_counter()
        stop: StopReason
        if failure is not None:
            stop = "error"
        elif cancelled:
            stop = "cancelled"
        elif tokens >= params.max_tokens:
            stop = "max_tokens"
        else:
            stop = "done"
        return GenerationResult(
            text="".join(pieces),
            tokens=tokens,
            stop_reason=stop,
            ttft_seconds=None if first is None else first - started,
            total_seconds=finished - started,
            threads=most_threads,
            error=failure,
            load_seconds=load_seconds,
            cpu_seconds=resources.cpu_seconds,
            peak_rss_bytes=resources.peak_rss_bytes,
        )


@contextlib.contextmanager
def gpt4all_backend(max_threads: int | None = None) -> Iterator[GPT4AllBackend]:
    """A real backend whose budget is the machine's cores, capped by ``max_threads``."""
    backend = GPT4AllBackend(ThreadBudget.for_machine(max_threads))
    try:
        yield backend
    finally:
        backend.close()
