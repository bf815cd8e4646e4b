"""Token batching for the UI: collect a worker's tokens, hand them over every ~100 ms.

The backend calls ``add`` once per token in the worker thread; ``emit`` (which
posts a message to the UI) runs at most once per ``interval`` with everything that
arrived since, so the UI never refreshes per token.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BATCH_SECONDS = 0.1


class TokenBatcher:
    def __init__(
        self,
        emit: Callable[[str, int, float | None], None],
        interval: float = BATCH_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.emit = emit
        self.interval = interval
        self.clock = clock
        self.pending: list[str] = []
        self.tokens = 0
        self.first: float | None = None
        self.last_emit = clock()

    def rate(self, now: float) -> float | None:
        if self.first is None or self.tokens < 2 or now <= self.first:
            return None
        return (self.tokens - 1) / (now - self.first)

    def add(self, text: str) -> None:
        now = self.clock()
        if self.first is None:
            self.first = now
        self.tokens += 1
        self.pending.append(text)
        if now - self.last_emit >= self.interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if self.pending:
            text = "".join(self.pending)
            self.pending = []
            self.emit(text, self.tokens, self.rate(now))
        self.last_emit = now
