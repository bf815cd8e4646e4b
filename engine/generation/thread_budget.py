"""The thread budget: how many ggml threads each concurrently generating model gets.

ggml worker threads spin while they wait, so two models that each ask for every
core starve each other (measured on 2 cores: ~90 tok/s alone, ~5 tok/s for two
models at 2 threads each, ~110 tok/s for two models at 1 thread each). The budget
makes that impossible by construction:

- ``ThreadBudget(total)`` holds ``total`` threads (default: the physical cores, capped
  by ``[generation] max_threads``).
- Each generation ``acquire()``s a ``ThreadLease`` and ``release()``s it when done.
  The active leases share the total: ``share(total, n)`` gives each ``total // n``
  and spreads the remainder, so the allotments always sum to ``<= total``. When more
  generations want to run than there are threads, ``acquire`` waits.
- Allotments change when a lease comes or goes (re-balance). A running generation
  reads ``lease.sync()`` between tokens and applies a changed number with
  ``set_thread_count``; ``sync`` also records what the model now uses.
- A new lease is only handed out once the threads it was promised are really free:
  ``acquire`` waits until the threads *in use* by the others (as last reported by
  their ``sync``) plus its own allotment fit in the total, and a growing lease only
  grows into threads nobody uses. So even while a running model is shrinking from 2
  threads to 1, the sum of threads in use never exceeds the budget.
- Work has priorities: ``SCREEN`` (the problem on screen) > ``LOOK_AHEAD`` (answers of
  the next problems) > ``BATCH``. Only the leases of the highest priority present share
  the threads; the others get 0 and *pause* at their next ``sync()`` (it blocks, holding
  no thread, until threads come back; it returns 0 if the lease's ``cancel`` is set
  meanwhile: stop generating). So a higher-priority lease takes the threads at the next
  token of the lower ones. A lease's priority is the ``priority`` given to ``acquire``,
  else the one set by ``work_priority(...)`` in the calling thread, else ``SCREEN``:
  callers that never heard of priorities keep their old behaviour.
- A piece of work can change priority while it runs: leases acquired inside
  ``running_as(work)`` take ``work.priority`` and are listed on ``work``;
  ``work.raise_to(SCREEN)`` re-balances them at once (look-ahead work on the problem the
  reviewer just opened becomes screen work instead of being thrown away and redone).
- An optional ``observer`` sees every change as a ``BudgetEvent`` (waiting, granted,
  resized, released, gave_up) with the threads in use across the budget right after
  it, in the order the changes happened (it is called under the budget's lock: keep it
  short, never call back into the budget).
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal


class Cancelled(Exception):
    """The generation was cancelled while it waited for threads."""


BudgetEventKind = Literal["waiting", "granted", "resized", "released", "gave_up"]


@dataclass(frozen=True)
class BudgetEvent:
    """One change in the budget, as an ``observer`` sees it."""

    kind: BudgetEventKind
    """``waiting``: a lease must wait; ``granted``: it runs; ``resized``: its threads in
    use changed at a ``sync`` (0: paused by a higher priority); ``released``; ``gave_up``:
    cancelled or timed out waiting."""
    label: str
    threads: int
    """The lease's threads in use after the change."""
    in_use_total: int
    """Threads in use across every lease after the change."""


BATCH = 0
LOOK_AHEAD = 1
SCREEN = 2
_PRIORITY: contextvars.ContextVar[int] = contextvars.ContextVar("thread_priority", default=SCREEN)
_ORDER = itertools.count()


@dataclass(eq=False)
class Work:
    """One piece of work whose priority may change while it runs (see ``running_as``)."""

    priority: int
    leases: list[ThreadLease] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def raise_to(self, priority: int) -> None:
        """From now on this work runs at ``priority``, its current leases included."""
        with self._lock:
            self.priority = max(self.priority, priority)
            leases = list(self.leases)
        for lease in leases:
            lease.budget.set_priority(lease, self.priority)

    def _adopt(self, lease: ThreadLease) -> None:
        with self._lock:
            lease.priority = self.priority
            self.leases.append(lease)


_WORK: contextvars.ContextVar[Work | None] = contextvars.ContextVar("thread_work", default=None)


@contextlib.contextmanager
def running_as(work: Work) -> Iterator[None]:
    """Leases acquired in this thread inside the block belong to ``work``."""
    token = _WORK.set(work)
    try:
        yield
    finally:
        _WORK.reset(token)


@contextlib.contextmanager
def work_priority(priority: int) -> Iterator[None]:
    """Leases acquired in this thread (by any backend) inside the block get ``priority``."""
    token = _PRIORITY.set(priority)
    try:
        yield
    finally:
        _PRIORITY.reset(token)


def priority_source() -> Callable[[], int]:
    """The calling thread's priority, as a function to read later: the ``Work`` it runs as
    (``running_as``; follows ``Work.raise_to``), else the one set by ``work_priority``, else
    ``SCREEN``. Server backends order their queued requests by it."""
    work = _WORK.get()
    if work is not None:
        return lambda: work.priority
    fixed = _PRIORITY.get()
    return lambda: fixed


def physical_cores() -> int:
    """Physical cores (hyper-threads do not help ggml), falling back to the CPU count."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            text = handle.read()
        cores: set[tuple[str, str]] = set()
        physical = core = ""
        for line in text.splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "physical id":
                physical = value
            elif key == "core id":
                core = value
            elif not key and physical and core:
                cores.add((physical, core))
                physical = core = ""
        if physical and core:
            cores.add((physical, core))
        if cores:
            usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
            return max(1, min(len(cores), usable or len(cores)))
    except OSError:
        pass
    return max(1, os.cpu_count() or 1)


def share(total: int, count: int) -> list[int]:
    """Split ``total`` threads among ``count`` generations: each >= 1, sum <= total.

    ``count`` must be between 1 and ``total``; the first ones get the remainder.
    """
    if count < 1 or count > total:
        raise ValueError(f"cannot share {total} threads among {count}")
    base, extra = divmod(total, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


@dataclass(eq=False)
class ThreadLease:
    """One generation's claim on the budget. Read ``sync()`` between tokens."""

    budget: ThreadBudget
    allotted: int = 0
    in_use: int = 0
    released: bool = False
    label: str = ""
    priority: int = SCREEN
    cancel: threading.Event | None = None
    order: int = field(default_factory=lambda: next(_ORDER))

    def sync(self) -> int:
        """The threads this generation should use now; records that it uses them.

        Blocks while a higher-priority lease has the threads; 0 means the lease was
        cancelled while it waited: stop generating."""
        return self.budget._sync(self)

    def release(self) -> None:
        self.budget.release(self)

    def __enter__(self) -> ThreadLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_BUDGETS: weakref.WeakSet[ThreadBudget] = weakref.WeakSet()


def threads_generating(priority: int | None = None) -> int:
    """Threads every thread budget of this process has in use right now (what a test run
    competes with; recorded next to its timing); with ``priority``, only those of leases
    of that priority (``SCREEN``: the streams on screen)."""
    return sum(budget.in_use(priority) for budget in list(_BUDGETS))


@dataclass(eq=False)
class ThreadBudget:
    """Hands out threads to concurrent generations; see the module docstring."""

    total: int
    _leases: list[ThreadLease] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    observer: Callable[[BudgetEvent], None] | None = None

    def __post_init__(self) -> None:
        if self.total < 1:
            raise ValueError("a thread budget needs at least 1 thread")
        _BUDGETS.add(self)

    @classmethod
    def for_machine(cls, cap: int | None = None) -> ThreadBudget:
        cores = physical_cores()
        return cls(min(cores, cap) if cap else cores)

    def _tell(self, kind: BudgetEventKind, lease: ThreadLease) -> None:
        if self.observer is not None:
            total = sum(x.in_use for x in self._leases)
            self.observer(BudgetEvent(kind, lease.label, lease.in_use, total))

    def _rebalance(self) -> None:
        """The highest priority present shares the threads (first come first, at most one
        lease per thread); every other lease gets 0."""
        if self._leases:
            top = max(x.priority for x in self._leases)
            running = sorted((x for x in self._leases if x.priority == top), key=lambda x: x.order)
            running = running[: self.total]
            for lease in self._leases:
                lease.allotted = 0
            for lease, threads in zip(running, share(self.total, len(running)), strict=True):
                lease.allotted = threads
        self._lock.notify_all()

    def acquire(
        self,
        label: str = "",
        timeout: float | None = None,
        cancel: threading.Event | None = None,
        priority: int | None = None,
    ) -> ThreadLease:
        """Join the budget; waits while every thread is taken (by leases of the same or a
        higher priority) or still spinning elsewhere.

        Raises ``TimeoutError`` after ``timeout`` seconds and ``Cancelled`` as soon as
        ``cancel`` is set (checked every 50 ms), leaving the budget as it was.
        """
        lease = ThreadLease(
            budget=self,
            label=label,
            priority=_PRIORITY.get() if priority is None else priority,
            cancel=cancel,
        )
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            work = _WORK.get()
            if work is not None and priority is None:
                work._adopt(lease)
            self._leases.append(lease)
            self._rebalance()
            if not self._runnable(lease):
                self._tell("waiting", lease)
            try:
                self._wait(lambda: self._runnable(lease), deadline, cancel)
            except BaseException:
                self._leases.remove(lease)
                self._rebalance()
                self._tell("gave_up", lease)
                raise
            lease.in_use = lease.allotted
            self._tell("granted", lease)
            return lease

    def _wait(
        self,
        predicate: Callable[[], bool],
        deadline: float | None,
        cancel: threading.Event | None,
    ) -> None:
        while not predicate():
            if cancel is not None and cancel.is_set():
                raise Cancelled("cancelled while waiting for a thread")
            step = 0.05 if cancel is not None else None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no thread free in the budget")
                step = left if step is None else min(step, left)
            self._lock.wait(step)

    def _runnable(self, lease: ThreadLease) -> bool:
        """The lease has threads, and they are not spinning under anyone else."""
        others = sum(x.in_use for x in self._leases if x is not lease)
        return lease.allotted > 0 and others + lease.allotted <= self.total

    def _sync(self, lease: ThreadLease) -> int:
        with self._lock:
            if lease.released:
                return lease.in_use
            if lease.allotted == 0:  # paused by a higher priority: give the threads back
                if lease.in_use:
                    lease.in_use = 0
                    self._tell("resized", lease)
                self._lock.notify_all()
                try:
                    self._wait(lambda: self._runnable(lease), None, lease.cancel)
                except Cancelled:
                    return 0
                lease.in_use = lease.allotted
                self._tell("resized", lease)
                self._lock.notify_all()
                return lease.in_use
            target = lease.allotted
            if target > lease.in_use:  # grow only into threads nobody is spinning on
                others = sum(x.in_use for x in self._leases if x is not lease)
                target = max(lease.in_use, min(target, self.total - others))
            if target != lease.in_use:
                lease.in_use = target
                self._tell("resized", lease)
                self._lock.notify_all()
            return lease.in_use

    def release(self, lease: ThreadLease) -> None:
        with self._lock:
            if lease.released:
                return
            lease.released = True
            lease.in_use = 0
            self._leases.remove(lease)
            self._rebalance()
            self._tell("released", lease)

    def set_priority(self, lease: ThreadLease, priority: int) -> None:
        """Change a lease's priority; the threads are re-shared at once (a paused lease
        that now has the top priority resumes, the others pause at their next ``sync``)."""
        with self._lock:
            lease.priority = priority
            if not lease.released:
                self._rebalance()

    def snapshot(self) -> list[tuple[str, int, int]]:
        """(label, allotted, in_use) of the active leases, for display and tests."""
        with self._lock:
            return [(x.label, x.allotted, x.in_use) for x in self._leases]

    def in_use(self, priority: int | None = None) -> int:
        with self._lock:
            return sum(x.in_use for x in self._leases if priority is None or x.priority == priority)
