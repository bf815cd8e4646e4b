"""A deterministic scripted backend for tests (never used outside tests/).

``FakeBackend`` keeps the ``gradebench.engine.generation.backend.Backend`` contract: text arrives through
``on_text`` one scripted token at a time, ``cancel`` stops it at the next token with
``stop_reason="cancelled"``, ``max_tokens`` cuts the script, and a scripted failure
or an ``on_text`` that raises ends with ``stop_reason="error"`` and the text so far. An optional per-token delay makes streams slow
enough to watch or cancel. With a ``ThreadBudget`` it takes a lease per answer like
the real backend, so tests can check the thread arithmetic under concurrency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gradebench.engine.generation.backend import GenerationRequest, GenerationResult
from gradebench.engine.generation.thread_budget import Cancelled, ThreadBudget

Script = Callable[[GenerationRequest], list[str]]

DEFAULT_ANSWER = [
    "Here is the function:\n",
    "```python\n",
    "def solve(x):\n",
    "    return x\n",
    "```\n",
]


def tokens_of(text: str) -> list[str]:
    """Split an answer into word-ish tokens (whitespace kept) for scripting."""
    tokens: list[str] = []
    current = ""
    for char in text:
        current += char
        if char in " \n":
            tokens.append(current)
            current = ""
    if current:
        tokens.append(current)
    return tokens


@dataclass
class FakeBackend:
    """Scripted answers: ``answers`` maps a substring of the prompt to the answer text."""

    answers: dict[str, str] = field(default_factory=dict)
    default: list[str] = field(default_factory=lambda: list(DEFAULT_ANSWER))
    token_delay: float = 0.0
    fail_when: str | None = None
    """A prompt containing this text ends in ``stop_reason="error"`` after one token."""
    raise_when: str | None = None
    """A prompt containing this text makes ``generate`` raise (a broken backend)."""
    hold_after: int | None = None
    """Stop after this many tokens until ``release`` is set (or the answer is cancelled);
    the last token before the hold comes after a pause, so a token batcher hands every
    token over (a stream frozen at a known point, for screenshots)."""
    release: threading.Event = field(default_factory=threading.Event)
    budget: ThreadBudget | None = None
    started: threading.Event = field(default_factory=threading.Event)
    requests: list[GenerationRequest] = field(default_factory=list)
    thread_samples: list[int] = field(default_factory=list)
    """Threads in use across the budget, sampled at every token (with a budget)."""
    active: int = 0
    max_active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script_for(self, request: GenerationRequest) -> list[str]:
        for needle, text in self.answers.items():
            if needle in request.prompt_text:
                return tokens_of(text)
        return list(self.default)

    def generate(
        self,
        request: GenerationRequest,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        if self.raise_when is not None and self.raise_when in request.prompt_text:
            raise RuntimeError("scripted backend crash")
        try:
            lease = self.budget.acquire(label=request.label, cancel=cancel) if self.budget else None
        except Cancelled:
            return GenerationResult("", 0, "cancelled", None, 0.0)
        with self._lock:
            self.requests.append(request)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return self._run(request, on_text, cancel, lease)
        finally:
            with self._lock:
                self.active -= 1
            if lease is not None:
                lease.release()

    def _run(self, request, on_text, cancel, lease) -> GenerationResult:
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        stop = "done"
        error = None
        most = 0
        script = self.script_for(request)
        failing = self.fail_when is not None and self.fail_when in request.prompt_text
        self.started.set()
        for index, token in enumerate(script):
            if cancel is not None and cancel.is_set():
                stop = "cancelled"
                break
            if index >= request.params.max_tokens:
                stop = "max_tokens"
                break
            if failing and index == 1:
                stop, error = "error", "scripted failure"
                break
            if self.token_delay:
                time.sleep(self.token_delay)
            if self.hold_after is not None and index == self.hold_after - 1:
                time.sleep(0.25)
            if index == self.hold_after:
                while not self.release.wait(0.01):
                    if cancel is not None and cancel.is_set():
                        break
                if cancel is not None and cancel.is_set():
                    stop = "cancelled"
                    break
            if lease is not None:
                threads = lease.sync()  # pauses while a higher priority has the threads
                if threads == 0:
                    stop = "cancelled"
                    break
                most = max(most, threads)
                self.thread_samples.append(self.budget.in_use())
            if first is None:
                first = time.perf_counter()
            pieces.append(token)
            if on_text is not None:
                try:
                    on_text(token)
                except Exception as exc:  # the contract: an answer ends, generate never raises
                    stop, error = "error", f"on_text failed: {type(exc).__name__}: {exc}"
                    break
        else:
            if cancel is not None and cancel.is_set():
                stop = "cancelled"
        return GenerationResult(
            text="".join(pieces),
            tokens=len(pieces),
            stop_reason=stop,  # type: ignore[arg-type]
            ttft_seconds=None if first is None else first - started,
            total_seconds=time.perf_counter() - started,
            threads=most or None,
            error=error,
        )
