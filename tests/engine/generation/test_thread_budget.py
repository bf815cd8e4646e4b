"""The thread budget: concurrent generations never hold more threads than the cores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from gradebench.engine.config import Config
from gradebench.engine.generation.backend import GenerationRequest
from gradebench.engine.generation.registry import load_registry
from gradebench.engine.generation.thread_budget import (
    BudgetEvent,
    Cancelled,
    ThreadBudget,
    physical_cores,
    share,
)
from tests.fakes import FakeBackend


@pytest.mark.parametrize("total", range(1, 17))
def test_share_gives_everyone_a_thread_and_never_exceeds_the_total(total: int) -> None:
    for count in range(1, total + 1):
        parts = share(total, count)
        assert len(parts) == count
        assert min(parts) >= 1
        assert sum(parts) == total
        assert max(parts) - min(parts) <= 1


def test_share_refuses_more_generations_than_threads() -> None:
    with pytest.raises(ValueError):
        share(2, 3)
    with pytest.raises(ValueError):
        share(2, 0)


def _waiting_flag(
    label: str,
) -> tuple[threading.Event, list[BudgetEvent], Callable[[BudgetEvent], None]]:
    """An observer recording every event, and a flag set once ``label`` waits."""
    flag = threading.Event()
    events: list[BudgetEvent] = []

    def observe(event: BudgetEvent) -> None:
        events.append(event)
        if event.label == label and event.kind == "waiting":
            flag.set()

    return flag, events, observe


def test_two_cores_two_models_get_one_thread_each_and_the_survivor_gets_both_back() -> None:
    b_waits, _events, observe = _waiting_flag("b")
    budget = ThreadBudget(2, observer=observe)
    first = budget.acquire("a")
    assert first.allotted == 2 and first.in_use == 2
    grabbed: list = []
    waiter = threading.Thread(target=lambda: grabbed.append(budget.acquire("b")))
    waiter.start()
    # b cannot start while a still spins on 2 threads: it waits for a to shrink.
    assert b_waits.wait(60)
    assert waiter.is_alive() and not grabbed
    assert first.allotted == 1
    assert budget.in_use() == 2
    assert first.sync() == 1  # a applies the smaller count between two tokens
    waiter.join(60)
    assert not waiter.is_alive()
    second = grabbed[0]
    assert (first.in_use, second.in_use) == (1, 1)
    second.release()
    assert first.allotted == 2
    assert first.sync() == 2
    assert budget.in_use() == 2


def test_acquire_waits_while_every_thread_is_taken() -> None:
    budget = ThreadBudget(1)
    lease = budget.acquire("a")
    with pytest.raises(TimeoutError):
        budget.acquire("b", timeout=0.05)
    lease.release()
    assert budget.acquire("b", timeout=1).in_use == 1


def test_a_growing_lease_only_takes_threads_nobody_is_spinning_on() -> None:
    budget = ThreadBudget(4)
    a = budget.acquire("a")
    b_holder: list = []
    t = threading.Thread(target=lambda: b_holder.append(budget.acquire("b")))
    t.start()
    a.sync()  # 4 -> 2, lets b in
    t.join(5)
    b = b_holder[0]
    c_holder: list = []
    t = threading.Thread(target=lambda: c_holder.append(budget.acquire("c")))
    t.start()
    a.sync()  # share(4, 3) = [2, 1, 1]: a keeps 2
    b.sync()  # b 2 -> 1, lets c in
    t.join(5)
    c = c_holder[0]
    assert budget.in_use() == 4
    a.release()  # b and c are allotted 2 each; each grows only into free threads
    assert b.sync() == 2
    assert c.sync() == 2
    assert budget.in_use() == 4


def test_releasing_twice_is_harmless() -> None:
    budget = ThreadBudget(2)
    lease = budget.acquire()
    lease.release()
    lease.release()
    assert budget.in_use() == 0
    assert budget.snapshot() == []


def test_machine_budget_respects_the_users_cap() -> None:
    assert ThreadBudget.for_machine(1).total == 1
    assert ThreadBudget.for_machine().total == physical_cores()
    assert 1 <= physical_cores() <= (__import__("os").cpu_count() or 1)


def test_many_concurrent_generations_never_use_more_threads_than_the_budget() -> None:
    registry = load_registry(Config())
    contender = registry.contender("smollm2-plain")
    budget = ThreadBudget(3)
    backend = FakeBackend(default=[f"t{i} " for i in range(40)], token_delay=0.001, budget=budget)
    requests = [GenerationRequest.for_contender(contender, f"problem {i}") for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(backend.generate, requests))
    assert all(r.stop_reason == "done" and r.tokens == 40 for r in results)
    assert backend.thread_samples, "the fake sampled the budget at every token"
    assert max(backend.thread_samples) <= 3
    assert backend.max_active >= 2, "generations did overlap"
    assert budget.in_use() == 0


def test_a_generation_waiting_for_threads_can_be_cancelled() -> None:
    b_waits, events, observe = _waiting_flag("b")
    budget = ThreadBudget(1, observer=observe)
    holder = budget.acquire("a")
    cancel = threading.Event()
    outcome: list[object] = []

    def wait_for_thread() -> None:
        try:
            outcome.append(budget.acquire("b", cancel=cancel))
        except Cancelled as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait_for_thread)
    waiter.start()
    assert b_waits.wait(60)
    assert waiter.is_alive() and not outcome
    cancel.set()
    waiter.join(60)
    assert not waiter.is_alive()
    assert isinstance(outcome[0], Cancelled)
    assert [(e.kind, e.label) for e in events] == [
        ("granted", "a"),
        ("waiting", "b"),
        ("gave_up", "b"),
    ]
    assert budget.snapshot() == [("a", 1, 1)]
    holder.release()


def test_work_raised_to_screen_priority_takes_the_threads_from_other_background_work() -> None:
    from gradebench.engine.generation.thread_budget import LOOK_AHEAD, SCREEN, Work, running_as

    other_waits, _events, observe = _waiting_flag("other")
    budget = ThreadBudget(2, observer=observe)
    adopted, other = Work(LOOK_AHEAD), Work(LOOK_AHEAD)
    with running_as(adopted):
        first = budget.acquire("adopted")

    def acquire_other() -> object:
        with running_as(other):
            return budget.acquire("other", timeout=10)

    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(acquire_other)
        assert other_waits.wait(10)
        assert first.sync() == 1  # the adopted work shrinks to its share
        second = pending.result(10)
    assert (first.allotted, second.allotted) == (1, 1)
    assert first in adopted.leases and second in other.leases
    adopted.raise_to(SCREEN)
    assert first.priority == SCREEN and adopted.priority == SCREEN
    assert (first.allotted, second.allotted) == (2, 0)  # the other pauses at its next sync
    first.release()
    assert second.allotted == 2
    assert second.sync() == 2
    second.release()
