"""The streaming contract (``gradebench.engine.generation.backend``) on every backend.

Each case runs on every real backend present (``BACKENDS`` in this folder's conftest:
gpt4all with the real default model today) and on the fake, so the fake used elsewhere is
checked against the same rules. Nothing waits on the clock: cases wait on events with
generous timeouts and assert on what happened (stop reasons, texts, token counts, and the
thread budget's recorded events).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import gradebench.engine.generation as generation_package
from gradebench.engine.generation.backend import GenerationResult, Stream
from gradebench.engine.generation.thread_budget import BudgetEvent
from tests.backends import (
    BACKENDS,
    FAKE,
    LONG_PROMPT,
    SHORT_PROMPT,
    BackendEntry,
    present_backends,
)

pytestmark = pytest.mark.model

PATIENCE = 300.0
"""Seconds any single wait may take before the case fails (a hang, not a slow machine)."""

LOCAL_ENTRIES = [entry for entry in [*present_backends(), FAKE] if entry.local]


def test_ci_runs_the_contract_on_every_backend_the_project_ships() -> None:
    shipped = {p.stem for p in Path(generation_package.__file__).parent.glob("*_backend.py")}
    assert shipped == {entry.module for entry in BACKENDS}, "one BackendEntry per backend module"
    if os.environ.get("CI") == "true":
        missing = [entry.name for entry in BACKENDS if not entry.installed()]
        assert missing == [], f"CI must run the contract on every backend; not installed: {missing}"


def test_a_short_answer_ends_done_and_the_chunks_make_the_text(contract_backend) -> None:
    chunks: list[str] = []
    result = contract_backend.backend.generate(
        contract_backend.request(SHORT_PROMPT, 64), chunks.append
    )
    assert result.stop_reason == "done", result
    assert result.error is None
    assert 1 <= result.tokens < 64
    assert result.text.strip()
    assert "".join(chunks) == result.text


def test_max_tokens_ends_the_answer_exactly_at_the_limit(contract_backend) -> None:
    chunks: list[str] = []
    result = contract_backend.backend.generate(
        contract_backend.request(LONG_PROMPT, 5), chunks.append
    )
    assert result.stop_reason == "max_tokens", result
    assert result.tokens == 5
    assert result.text.strip()
    assert "".join(chunks) == result.text


def test_a_cancel_set_before_start_ends_cancelled_with_no_text(contract_backend) -> None:
    cancel = threading.Event()
    cancel.set()
    chunks: list[str] = []
    result = contract_backend.backend.generate(
        contract_backend.request(LONG_PROMPT, 400), chunks.append, cancel
    )
    assert result.stop_reason == "cancelled"
    assert (result.text, result.tokens, chunks) == ("", 0, [])


@pytest.mark.parametrize("entry", LOCAL_ENTRIES, ids=lambda entry: entry.name)
def test_a_generation_cancelled_while_queued_ends_cancelled_and_never_takes_threads(
    entry: BackendEntry, open_backend
) -> None:
    events: list[BudgetEvent] = []
    queued = threading.Event()

    def observe(event: BudgetEvent) -> None:
        events.append(event)
        if event.label == "queued" and event.kind == "waiting":
            queued.set()

    with open_backend(entry, 1, observe) as under_test:
        holder = under_test.budget.acquire("busy")  # every thread taken by another answer
        cancel = threading.Event()
        outcome: list[GenerationResult] = []
        worker = threading.Thread(
            target=lambda: outcome.append(
                under_test.backend.generate(
                    under_test.request(LONG_PROMPT, 400, label="queued"), None, cancel
                )
            )
        )
        worker.start()
        try:
            assert queued.wait(PATIENCE), "the second generation never queued for threads"
            cancel.set()
            worker.join(PATIENCE)
            assert not worker.is_alive(), "a cancelled queued generation kept waiting"
        finally:
            holder.release()
    (result,) = outcome
    assert result.stop_reason == "cancelled"
    assert (result.text, result.tokens) == ("", 0)
    assert [e.kind for e in events if e.label == "queued"][-1] == "gave_up"
    assert "granted" not in [e.kind for e in events if e.label == "queued"]


def test_cancel_mid_stream_ends_cancelled_with_the_text_so_far(contract_backend) -> None:
    stream = Stream(contract_backend.backend, contract_backend.request(LONG_PROMPT, 400))
    seen: list[str] = []
    for chunk in stream:
        seen.append(chunk)
        if len(seen) == 3:
            stream.cancel()
    result = stream.wait(PATIENCE)
    assert not stream.running
    assert result.stop_reason == "cancelled", result
    assert result.text == "".join(seen)
    assert 3 <= result.tokens < 400


def test_an_on_text_that_raises_ends_error_with_the_text_so_far(contract_backend) -> None:
    received: list[str] = []

    def on_text(chunk: str) -> None:
        received.append(chunk)
        if len(received) == 3:
            raise RuntimeError("display went away")

    result = contract_backend.backend.generate(contract_backend.request(LONG_PROMPT, 400), on_text)
    assert result.stop_reason == "error", result
    assert "display went away" in (result.error or "")
    assert len(received) == 3, "no text is handed on after the failure"
    assert result.text == "".join(received)
    assert 3 <= result.tokens < 400


def test_token_and_timing_fields_agree_with_each_other(contract_backend) -> None:
    chunks: list[str] = []
    result = contract_backend.backend.generate(
        contract_backend.request(LONG_PROMPT, 12), chunks.append
    )
    assert result.tokens == 12
    assert 1 <= len(chunks) <= result.tokens  # a token may carry no text, never two chunks
    assert result.ttft_seconds is not None
    assert 0.0 <= result.ttft_seconds <= result.total_seconds
    decode = result.total_seconds - result.ttft_seconds
    assert decode > 0
    assert result.tokens_per_second == pytest.approx((result.tokens - 1) / decode)
    assert result.load_seconds >= 0.0
    if contract_backend.local:
        assert result.threads == 1  # the one-thread budget of this fixture


@pytest.mark.parametrize("entry", LOCAL_ENTRIES, ids=lambda entry: entry.name)
def test_two_local_generations_overlap_and_never_exceed_the_thread_budget(
    entry: BackendEntry, open_backend
) -> None:
    events: list[BudgetEvent] = []

    with open_backend(entry, 2, events.append) as under_test:
        first_text = threading.Event()
        cancel_a = threading.Event()
        results: dict[str, GenerationResult] = {}

        def run_a() -> None:
            results["a"] = under_test.backend.generate(
                under_test.request(LONG_PROMPT, 1500, label="a"),
                lambda _chunk: first_text.set(),
                cancel_a,
            )

        a = threading.Thread(target=run_a)
        a.start()
        try:
            assert first_text.wait(PATIENCE), "the first generation produced no text"
            # b runs to its limit while a is still generating; a is stopped only after.
            results["b"] = under_test.backend.generate(
                under_test.request(LONG_PROMPT, 8, label="b")
            )
        finally:
            cancel_a.set()
            a.join(PATIENCE)
        assert not a.is_alive()
        assert under_test.budget.in_use() == 0

    assert results["b"].stop_reason == "max_tokens" and results["b"].tokens == 8
    assert results["a"].stop_reason == "cancelled", "a ended before b had run: no overlap"
    assert max(e.in_use_total for e in events) <= 2
    order = [(e.kind, e.label) for e in events]
    assert order[0] == ("granted", "a") and events[0].threads == 2
    granted_b = order.index(("granted", "b"))
    # b only started once a had shrunk to one thread, and ran while a held its lease
    assert ("resized", "a") in order[:granted_b]
    assert events[order.index(("resized", "a"))].threads == 1
    assert granted_b < order.index(("released", "b")) < order.index(("released", "a"))
    assert results["a"].threads == 2 and results["b"].threads == 1
