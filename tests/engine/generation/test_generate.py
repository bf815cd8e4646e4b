"""The streaming contract (gradebench.engine.generation.backend) as the fake backend and Stream keep it."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from gradebench.engine.config import Config
from gradebench.engine.generation.backend import GenerationRequest, GenerationResult, Stream
from gradebench.engine.generation.registry import GenerationParams, load_registry
from tests.fakes import FakeBackend


@pytest.fixture
def request_() -> GenerationRequest:
    contender = load_registry(Config()).contender("smollm2-plain")
    return GenerationRequest.for_contender(contender, "Write add(a, b).")


def test_request_sends_the_message_inside_the_models_chat_template(request_) -> None:
    assert request_.prompt_text == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
        "<|im_end|>\n<|im_start|>user\nWrite add(a, b).<|im_end|>\n<|im_start|>assistant\n"
    )
    assert request_.label == "smollm2-plain"


def test_stream_yields_the_chunks_in_order_and_ends_with_the_full_text(request_) -> None:
    backend = FakeBackend(answers={"add": "def add(a, b):\n    return a + b\n"})
    stream = Stream(backend, request_)
    chunks = list(stream)
    result = stream.wait(5)
    assert "".join(chunks) == "def add(a, b):\n    return a + b\n"
    assert result.text == "".join(chunks)
    assert result.tokens == len(chunks)
    assert result.stop_reason == "done"
    assert result.ttft_seconds is not None and result.ttft_seconds <= result.total_seconds


def test_max_tokens_cuts_the_answer_and_says_so(request_) -> None:
    short = replace(request_, params=GenerationParams(max_tokens=2))
    result = FakeBackend().generate(short)
    assert result.tokens == 2
    assert result.stop_reason == "max_tokens"


def test_cancel_mid_stream_stops_with_cancelled_and_frees_the_thread(request_) -> None:
    backend = FakeBackend(default=[f"tok{i} " for i in range(10_000)], token_delay=0.005)
    stream = Stream(backend, request_)
    seen = []
    for chunk in stream:
        seen.append(chunk)
        if len(seen) == 5:
            stream.cancel()
    result = stream.wait(1.0)  # raises TimeoutError if the thread is still busy after 1 s
    assert not stream.running
    assert result.stop_reason == "cancelled"
    assert 5 <= result.tokens < 10_000
    assert result.text.startswith("tok0 tok1 tok2 tok3 tok4 ")


def test_errors_end_the_answer_with_stop_reason_error_and_keep_the_text(request_) -> None:
    backend = FakeBackend(fail_when="add(a, b)")
    result = backend.generate(request_)
    assert result.stop_reason == "error"
    assert result.error == "scripted failure"
    assert result.text == "Here is the function:\n"


def test_an_exception_in_the_backend_reaches_the_stream_consumer(request_) -> None:
    class Broken:
        def generate(self, request, on_text=None, cancel=None) -> GenerationResult:
            on_text("partial")
            raise RuntimeError("backend exploded")

    stream = Stream(Broken(), request_)
    with pytest.raises(RuntimeError, match="backend exploded"):
        list(stream)
    with pytest.raises(RuntimeError):
        stream.wait(1)


def test_tokens_per_second_counts_decode_time_only() -> None:
    result = GenerationResult(
        text="x" * 11, tokens=11, stop_reason="done", ttft_seconds=1.0, total_seconds=3.0
    )
    assert result.tokens_per_second == pytest.approx(5.0)
    empty = GenerationResult(
        text="", tokens=0, stop_reason="done", ttft_seconds=None, total_seconds=0.1
    )
    assert empty.tokens_per_second == 0.0


def test_a_cancel_set_before_start_produces_no_text(request_) -> None:
    cancel = threading.Event()
    cancel.set()
    result = FakeBackend().generate(request_, None, cancel)
    assert result.stop_reason == "cancelled"
    assert result.text == ""
