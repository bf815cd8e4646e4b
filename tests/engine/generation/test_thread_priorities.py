"""Priorities in the thread budget: the screen takes threads from look-ahead at its next
token, look-ahead pauses without holding a thread, and resumes when the screen is done."""

from __future__ import annotations

import threading
import time

from gradebench.engine.generation.thread_budget import (
    BATCH,
    LOOK_AHEAD,
    SCREEN,
    ThreadBudget,
    work_priority,
)


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_screen_lease_takes_every_thread_from_look_ahead_at_its_next_sync() -> None:
    budget = ThreadBudget(2)
    background = budget.acquire("ahead", priority=LOOK_AHEAD)
    assert background.sync() == 2
    granted: list[int] = []
    screen = _in_thread(lambda: granted.append(budget.acquire("screen").sync()))
    # the screen waits until the background lease gives its threads back at a sync
    paused = threading.Event()
    resumed: list[int] = []

    def background_token() -> None:
        paused.set()
        resumed.append(background.sync())  # blocks while the screen has the threads

    waiting = _in_thread(background_token)
    screen.join(10)
    assert granted == [2]
    assert paused.is_set() and waiting.is_alive()
    assert budget.snapshot() == [("ahead", 0, 0), ("screen", 2, 2)]
    screen_lease = next(x for x in budget._leases if x.label == "screen")
    screen_lease.release()
    waiting.join(10)
    assert resumed == [2]
    background.release()


def test_a_paused_lease_returns_zero_when_cancelled_while_it_waits() -> None:
    budget = ThreadBudget(1)
    cancel = threading.Event()
    background = budget.acquire("ahead", cancel=cancel, priority=BATCH)
    screen_ready = threading.Event()
    holder: list = []

    def take() -> None:
        holder.append(budget.acquire("screen"))
        screen_ready.set()

    taker = _in_thread(take)
    got: list[int] = []
    pausing = _in_thread(lambda: got.append(background.sync()))
    assert screen_ready.wait(10)
    cancel.set()
    pausing.join(10)
    assert got == [0]
    taker.join(10)
    holder[0].release()
    background.release()


def test_work_priority_sets_the_priority_of_leases_taken_in_its_block_only() -> None:
    budget = ThreadBudget(2)
    plain = budget.acquire("plain")
    taken: list = []

    def ahead() -> None:
        with work_priority(LOOK_AHEAD):
            taken.append(budget.acquire("ahead"))

    thread = _in_thread(ahead)
    _until(lambda: ("ahead", 0, 0) in budget.snapshot())  # it joined, with no thread
    assert plain.priority == SCREEN and not taken
    plain.release()
    thread.join(10)
    assert taken[0].priority == LOOK_AHEAD and taken[0].allotted == 2
    taken[0].release()


def test_equal_priorities_share_the_threads_as_before() -> None:
    budget = ThreadBudget(2)
    with work_priority(LOOK_AHEAD):
        first = budget.acquire("a")
    second: list = []
    thread = _in_thread(lambda: second.append(budget.acquire("b", priority=LOOK_AHEAD)))
    _until(lambda: ("a", 1, 2) in budget.snapshot())  # "a" is asked to shrink
    assert first.sync() == 1
    thread.join(10)
    assert budget.snapshot() == [("a", 1, 1), ("b", 1, 1)]
    first.release()
    second[0].release()


def _until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.005)
