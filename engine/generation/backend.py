"""Streaming generation: the contract every backend keeps, and the values that cross it.

The contract (the TUI, the headless batch and the tests rely on it):

- ``backend.generate(request, on_text=None, cancel=None) -> GenerationResult`` runs one
  answer **in the calling thread**, calls ``on_text(chunk)`` for each piece of text as
  it arrives (one call per token; batch them for display yourself) and returns the
  result when the answer ends. It never raises for something that goes wrong while
  generating: that ends with ``stop_reason="error"`` and ``error`` set. It raises
  ``UserError`` before generating when the model file is missing or unreadable.
- ``cancel`` is a ``threading.Event``; once set, generation stops at the next token,
  ``generate`` returns within a token's time with ``stop_reason="cancelled"`` and the
  text so far, and the thread is free again. A generation still waiting for threads
  from the budget returns ``cancelled`` with no text within 50 ms.
- ``stop_reason``: ``done`` (the model ended its answer), ``max_tokens`` (hit
  ``params.max_tokens``), ``cancelled``, ``error``.
- ``Stream(backend, request)`` runs ``generate`` in its own thread and is iterable:
  ``for chunk in stream: ...``, ``stream.cancel()``, ``stream.wait() -> GenerationResult``.

The backends live one per module beside this one (``gpt4all_backend``,
``llamacpp_backend``, ``openai_backend``); ``routing.RoutingBackend`` sends each request
to the backend of its model. The deterministic fake backend for tests is
``tests/fakes.py::FakeBackend``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from gradebench.engine.generation.chat import render_prompt
from gradebench.engine.generation.chat_message import ChatMessage
from gradebench.engine.generation.registry import Contender, GenerationParams, ModelSpec

StopReason = Literal["done", "max_tokens", "cancelled", "error"]
STOP_REASONS: tuple[str, ...] = ("done", "max_tokens", "cancelled", "error")

TextCallback = Callable[[str], None]


@dataclass(frozen=True)
class GenerationRequest:
    """One answer to produce: which model, the chat, the exact text sent, sampling params.

    Local backends (gpt4all, llamacpp) feed ``prompt_text`` to the model as it is; the
    openai backend posts ``messages`` (``prompt_text`` is then their JSON). See
    ``gradebench.engine.generation.chat``.
    """

    model: ModelSpec
    prompt_text: str
    """Exactly what the model receives: the chat rendered by the model's template."""
    params: GenerationParams
    label: str = ""
    messages: tuple[ChatMessage, ...] = ()
    """The chat: an optional system message, then the user message."""

    @classmethod
    def for_contender(cls, contender: Contender, user_message: str) -> GenerationRequest:
        messages = contender.model.messages(user_message)
        return cls(
            model=contender.model,
            prompt_text=render_prompt(contender.model, messages),
            params=contender.params,
            label=contender.name,
            messages=messages,
        )


@dataclass(frozen=True)
class GenerationResult:
    """How an answer ended, with its full text, timing and (local models) resources."""

    text: str
    tokens: int
    stop_reason: StopReason
    ttft_seconds: float | None
    """From the prompt being submitted to the first text (prompt processing included)."""
    total_seconds: float
    threads: int | None = None
    """Most threads the model ran with during this answer."""
    error: str | None = None
    load_seconds: float = 0.0
    """Time spent loading the model file (0 when a cached instance was reused)."""
    server_stats: dict[str, float] | None = None
    """openai backend: the numbers the server reported itself (``usage`` and ``timings``
    fields, e.g. ``completion_tokens``, ``predicted_per_second``), when it sent any."""
    server_fingerprint: str | None = None
    """openai backend: the ``system_fingerprint`` the server streamed, when it sent one."""
    cpu_seconds: float | None = None
    """Local backends: CPU time this process spent while the model made the answer (all its
    threads; includes other answers made at the same time). None for a server model."""
    peak_rss_bytes: int | None = None
    """Local backends: this process's peak resident memory while the model made the answer
    (the loaded model included); None for a server model or where it cannot be measured.
    See ``gradebench.engine.generation.process_resources``."""

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second after the first one (decode speed)."""
        if self.ttft_seconds is None or self.tokens < 2:
            return 0.0
        decode = self.total_seconds - self.ttft_seconds
        return (self.tokens - 1) / decode if decode > 0 else 0.0


class Backend(Protocol):
    """Anything that can produce a streamed answer; see the module docstring."""

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult: ...


class Stream:
    """``generate`` in a background thread, consumed as an iterator of text chunks."""

    _END = object()

    def __init__(self, backend: Backend, request: GenerationRequest) -> None:
        self.request = request
        self._cancel = threading.Event()
        self._chunks: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._result: GenerationResult | None = None
        self._exception: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(backend,), name=f"stream-{request.label}", daemon=True
        )
        self._thread.start()

    def _run(self, backend: Backend) -> None:
        try:
            self._result = backend.generate(self.request, self._chunks.put, self._cancel)
        except BaseException as exc:
            self._exception = exc
        finally:
            self._chunks.put(self._END)

    def __iter__(self) -> Iterator[str]:
        while True:
            item = self._chunks.get()
            if item is self._END:
                self._chunks.put(self._END)  # later iterations end at once too
                if self._exception is not None:
                    raise self._exception
                return
            yield item

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> GenerationResult:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("generation still running")
        if self._exception is not None:
            raise self._exception
        assert self._result is not None
        return self._result


def collect(
    backend: Backend, request: GenerationRequest, cancel: threading.Event | None = None
) -> GenerationResult:
    """Generate without watching the stream (handy in scripts)."""
    return backend.generate(request, None, cancel)
