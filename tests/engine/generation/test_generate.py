"""Stream, GenerationRequest and GenerationResult, and the fake's own scripting.

The stop reasons of the contract are checked on every backend (the fake included) in
test_backend_contract.py."""

from __future__ import annotations

import pytest

from gradebench.engine.config import Config
from gradebench.engine.generation.backend import GenerationRequest, GenerationResult, Stream
from gradebench.engine.generation.registry import load_registry
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


def test_the_fakes_scripted_failure_ends_with_error_and_keeps_the_text_so_far(request_) -> None:
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
