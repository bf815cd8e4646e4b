"""Requests in flight to one server endpoint: at most ``limit`` at once, the waiting ones
served by priority.

A server takes no local threads, but it has a limit of its own (``max_concurrent``). When
it is reached, the request of the problem on screen goes before queued look-ahead and
batch requests (``thread_budget.SCREEN > LOOK_AHEAD > BATCH``, the priority of the calling
thread's ``Work`` or ``work_priority``); equal priorities go first come, first served. A
request already running is never interrupted for a higher one.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from gradebench.engine.generation.thread_budget import priority_source

POLL_SECONDS = 0.05


class EndpointSlots:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("an endpoint needs at least one slot")
        self.limit = limit
        self._in_use = 0
        self._waiting: dict[int, Callable[[], int]] = {}
        self._order = itertools.count()
        self._lock = threading.Condition()

    def acquire(self, cancel: threading.Event | None = None, priority: int | None = None) -> bool:
        """Wait for a slot; ``False`` (holding none) as soon as ``cancel`` is set. The
        priority is the calling thread's (``priority_source``), read again while waiting
        (a look-ahead answer the reviewer opens is raised to screen priority)."""
        ticket = next(self._order)
        source: Callable[[], int] = priority_source() if priority is None else (lambda: priority)
        with self._lock:
            self._waiting[ticket] = source
            try:
                while not (self._in_use < self.limit and self._first() == ticket):
                    if cancel is not None and cancel.is_set():
                        return False
                    self._lock.wait(POLL_SECONDS)
                self._in_use += 1
                return True
            finally:
                del self._waiting[ticket]
                self._lock.notify_all()

    def _first(self) -> int:
        """The waiter to serve next: highest priority, then first come."""
        return min(self._waiting, key=lambda t: (-self._waiting[t](), t))

    def release(self) -> None:
        with self._lock:
            self._in_use -= 1
            self._lock.notify_all()

    @property
    def in_use(self) -> int:
        with self._lock:
            return self._in_use
