"""The llama.cpp backend: local GGUF files on the CPU through llama-cpp-python.

Current llama.cpp (any architecture and pre-tokenizer it knows, e.g. the original
SmolLM2 file, gemma3, qwen3), installed with the optional extra ``gradebench[llamacpp]``.
Local files only: ``Llama(model_path=...)`` never downloads. ``verbose=False`` and the
loading noise ggml writes to fd 2 is kept off the terminal.

- The prompt is ``request.prompt_text`` as rendered from the GGUF's chat template
  (``chat_template``), tokenized with special tokens parsed and no BOS added (the
  rendering wrote it when the model wants one): exactly the stored text is fed.
- Loaded ``Llama`` instances are pooled per file and handed out one per running
  generation (a context holds one sequence); two idle instances per file are kept. Each
  answer starts from an empty context (llama-cpp-python's prompt-prefix reuse is reset),
  so an answer never depends on what the instance generated before, as with gpt4all.
- Threads come from the shared ``ThreadBudget``: a ``ThreadLease`` is taken before an
  instance is checked out and ``lease.sync()`` is read between tokens; a changed count is
  applied at once with ``llama_set_n_threads`` (generation and batch threads alike).
- Sampling: ``temperature`` 0 is greedy; otherwise top-k, top-p, temperature, and a
  repeat penalty over the last ``repeat_last_n`` generated tokens (llama.cpp's sampler
  chain counts generated tokens only, gpt4all counts the prompt too); min-p and typical-p
  are off, as in gpt4all.
- Ends: ``done`` at an end-of-generation token, ``max_tokens`` at exactly
  ``params.max_tokens`` tokens, ``cancelled`` at the next token after ``cancel`` is set,
  ``error`` (with the text so far) for anything that fails mid-answer, including a full
  context window. Nothing raises mid-answer.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import sys
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
from gradebench.engine.generation.thread_budget import Cancelled, ThreadBudget, ThreadLease

N_CTX = 2048
N_BATCH = 64
IDLE_INSTANCES_PER_MODEL = 2
INSTALL_HINT = "pip install 'gradebench[llamacpp]'"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """ggml prints its loading diagnostics to fd 2 whatever ``verbose`` says."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def load_llama(path: Path, threads: int = 1, n_ctx: int = N_CTX) -> Any:
    """Load a local GGUF on the CPU; a file llama.cpp cannot load is a one-line ``UserError``."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise UserError(f"the llamacpp backend needs llama-cpp-python ({INSTALL_HINT})") from None
    try:
        with _quiet_stderr():
            return Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=N_BATCH,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=0,
                verbose=False,
            )
    except Exception as exc:  # ValueError("Failed to load model from file: ...") and kin
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"model file {path}: llama.cpp cannot load it ({message})") from None


class _LlamaPool:
    """Loaded ``Llama`` instances per GGUF file; one instance serves one generation."""

    def __init__(self, idle_per_model: int = IDLE_INSTANCES_PER_MODEL) -> None:
        self._idle: dict[Path, list[Any]] = {}
        self._lock = threading.Lock()
        self.idle_per_model = idle_per_model
        self.loads = 0

    def checkout(self, model: ModelSpec) -> tuple[Any, float]:
        assert model.path is not None
        key = model.path.resolve()
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), 0.0
        check_model_file(model)
        started = time.perf_counter()
        instance = load_llama(model.path)
        with self._lock:
            self.loads += 1
        return instance, time.perf_counter() - started

    def checkin(self, model: ModelSpec, instance: Any) -> None:
        assert model.path is not None
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


def _set_threads(instance: Any, threads: int) -> None:
    instance._ctx.set_n_threads(threads, threads)
    instance.n_threads = instance.n_threads_batch = threads


class LlamaCppBackend:
    """llama-cpp-python on the CPU, instances pooled, threads from a shared budget."""

    def __init__(self, budget: ThreadBudget | None = None) -> None:
        self.budget = budget or ThreadBudget.for_machine()
        self.pool = _LlamaPool()

    def close(self) -> None:
        self.pool.close()

    def preload(self, model: ModelSpec) -> float:
        """Load ``model`` now (a bad file fails here, before any row is written); seconds taken."""
        instance, seconds = self.pool.checkout(model)
        self.pool.checkin(model, instance)
        return seconds

    def __enter__(self) -> LlamaCppBackend:
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
        lease: ThreadLease,
        load_seconds: float,
    ) -> GenerationResult:
        import llama_cpp

        params = request.params
        threads = lease.sync()  # blocks while a higher priority has the threads
        if threads == 0:  # cancelled while paused, before the first token: never run on 0
            return GenerationResult(
                text="",
                tokens=0,
                stop_reason="cancelled",
                ttft_seconds=None,
                total_seconds=0.0,
                load_seconds=load_seconds,
            )
        _set_threads(instance, threads)
        most_threads = threads
        pieces: list[str] = []
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tokens = 0
        first: float | None = None
        stop: StopReason = "done"
        failure: str | None = None
        meter = ResourceMeter.start()
        started = time.perf_counter()
        try:
            prompt = instance.tokenize(
                request.prompt_text.encode("utf-8"), add_bos=False, special=True
            )
            room = instance.n_ctx() - len(prompt)
            if room < 1:
                raise _ContextFull(
                    f"the prompt is {len(prompt)} tokens, the context {instance.n_ctx()}"
                )
            instance.last_n_tokens_size = params.repeat_last_n
            instance.reset()  # no prompt-prefix reuse: an answer never depends on the last one
            vocab = instance._model.vocab
            generator = instance.generate(
                prompt,
                top_k=params.top_k,
                top_p=params.top_p,
                min_p=0.0,
                typical_p=1.0,
                temp=params.temperature,
                repeat_penalty=params.repeat_penalty,
            )
            try:
                for token in generator:
                    if llama_cpp.llama_vocab_is_eog(vocab, token):
                        break
                    if cancel is not None and cancel.is_set():
                        stop = "cancelled"
                        break
                    tokens += 1
                    if first is None:
                        first = time.perf_counter()
                    text = decoder.decode(instance.detokenize([token]))
                    if text:
                        pieces.append(text)
                        if on_text is not None:
                            try:
                                on_text(text)
                            except Exception as exc:
                                failure = f"on_text failed: {type(exc).__name__}: {exc}"
                                break
                    if tokens >= params.max_tokens:
                        stop = "max_tokens"
                        break
                    if tokens >= room:
                        raise _ContextFull(
                            f"the context window ({instance.n_ctx()} tokens) is full"
                        )
                    wanted = lease.sync()  # blocks while a higher priority has the threads
                    if wanted == 0:  # cancelled while paused
                        stop = "cancelled"
                        break
                    if wanted != threads:
                        _set_threads(instance, wanted)
                        threads = wanted
                        most_threads = max(most_threads, wanted)
            finally:
                generator.close()
        except _ContextFull as exc:
            failure = str(exc)
        except Exception as exc:  # a failure inside llama.cpp must not lose the text so far
            failure = f"{type(exc).__name__}: {exc}"
        finally:
            resources = meter.stop()
        tail = decoder.decode(b"", final=True)
        if tail and failure is None and stop != "cancelled":
            pieces.append(tail)
            if on_text is not None:
                with contextlib.suppress(Exception):
                    on_text(tail)
        finished = time.perf_counter()
        return GenerationResult(
            text="".join(pieces),
            tokens=tokens,
            stop_reason="error" if failure is not None else stop,
            ttft_seconds=None if first is None else first - started,
            total_seconds=finished - started,
            threads=most_threads,
            error=failure,
            load_seconds=load_seconds,
            cpu_seconds=resources.cpu_seconds,
            peak_rss_bytes=resources.peak_rss_bytes,
        )


class _ContextFull(Exception):
    pass


@contextlib.contextmanager
def llamacpp_backend(max_threads: int | None = None) -> Iterator[LlamaCppBackend]:
    """A real backend whose budget is the machine's cores, capped by ``max_threads``."""
    backend = LlamaCppBackend(ThreadBudget.for_machine(max_threads))
    try:
        yield backend
    finally:
        backend.close()
