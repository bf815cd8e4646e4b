"""Requests queued for a server endpoint: the limit holds, the problem on screen goes
before look-ahead and batch requests, equal priorities keep their order, cancel leaves."""

from __future__ import annotations

import threading

from gradebench.engine.generation.endpoint_slots import EndpointSlots
from gradebench.engine.generation.thread_budget import BATCH, LOOK_AHEAD, SCREEN, work_priority

PATIENCE = 60.0


def _queue_up(
    slots: EndpointSlots, labels_and_priorities, taken: list[str]
) -> list[threading.Thread]:
    threads = []
    for label, priority in labels_and_priorities:
        waiting_before = len(slots._waiting)

        def run(label: str = label, priority: int = priority) -> None:
            with work_priority(priority):
                assert slots.acquire()
            taken.append(label)
            slots.release()

        thread = threading.Thread(target=run)
        thread.start()
        while len(slots._waiting) == waiting_before:  # queued before the next one comes
            threading.Event().wait(0.005)
        threads.append(thread)
    return threads


def test_the_screen_request_goes_before_queued_look_ahead_and_batch_ones() -> None:
    slots = EndpointSlots(1)
    assert slots.acquire(priority=BATCH)  # the one slot is busy
    taken: list[str] = []
    order = [("batch-1", BATCH), ("ahead", LOOK_AHEAD), ("batch-2", BATCH), ("screen", SCREEN)]
    threads = _queue_up(slots, order, taken)
    slots.release()
    for thread in threads:
        thread.join(PATIENCE)
    assert taken == ["screen", "ahead", "batch-1", "batch-2"]
    assert slots.in_use == 0


def test_the_limit_is_never_exceeded() -> None:
    slots = EndpointSlots(2)
    assert slots.acquire() and slots.acquire()
    cancel = threading.Event()
    cancel.set()
    assert slots.acquire(cancel) is False  # full: a cancelled wait takes nothing
    assert slots.in_use == 2
    slots.release()
    assert slots.acquire() and slots.in_use == 2  # a freed slot is taken again


def test_a_cancelled_waiter_leaves_the_queue_and_holds_nothing() -> None:
    slots = EndpointSlots(1)
    assert slots.acquire()
    cancel = threading.Event()
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(slots.acquire(cancel)))
    waiter.start()
    while not slots._waiting:
        threading.Event().wait(0.005)
    cancel.set()
    waiter.join(PATIENCE)
    assert outcome == [False] and slots._waiting == {} and slots.in_use == 1


def test_a_look_ahead_request_raised_to_screen_priority_while_waiting_goes_first() -> None:
    from gradebench.engine.generation.thread_budget import Work, running_as

    slots = EndpointSlots(1)
    assert slots.acquire()
    taken: list[str] = []
    opened = Work(LOOK_AHEAD)

    def run(label: str, work: Work) -> None:
        with running_as(work):
            assert slots.acquire()
        taken.append(label)
        slots.release()

    threads = []
    for label, work in (("earlier", Work(LOOK_AHEAD)), ("opened", opened)):
        waiting_before = len(slots._waiting)
        thread = threading.Thread(target=run, args=(label, work))
        thread.start()
        while len(slots._waiting) == waiting_before:
            threading.Event().wait(0.005)
        threads.append(thread)
    opened.raise_to(SCREEN)  # the reviewer opened that problem
    slots.release()
    for thread in threads:
        thread.join(PATIENCE)
    assert taken == ["opened", "earlier"]
