"""The real llama.cpp backend (llama-cpp-python) on the real default GGUFs, few tokens each."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.generation.backend import GenerationRequest, Stream
from gradebench.engine.generation.chat_message import ChatMessage
from gradebench.engine.generation.default_model import installed_path, original_path
from gradebench.engine.generation.llamacpp_backend import LlamaCppBackend
from gradebench.engine.generation.registry import Contender, ModelSpec, load_registry
from gradebench.engine.generation.routing import RoutingBackend
from gradebench.engine.generation.thread_budget import ThreadBudget

pytestmark = pytest.mark.model

MESSAGE = "Write a Python function add(a, b) that returns a + b."


def _contender(max_tokens: int, temperature: float = 0.0) -> Contender:
    contender = load_registry(Config()).contender("smollm2-llamacpp-plain")
    params = replace(contender.params, max_tokens=max_tokens, temperature=temperature)
    return replace(contender, params=params)


def _request(max_tokens: int, message: str = MESSAGE) -> GenerationRequest:
    return GenerationRequest.for_contender(_contender(max_tokens), message)


def test_the_original_default_gguf_keeps_its_smollm_pre_tokenizer() -> None:
    from gradebench.engine.generation.gguf_info import read_gguf_info

    assert read_gguf_info(original_path()).pre_tokenizer == "smollm"
    assert read_gguf_info(installed_path()).pre_tokenizer == "starcoder"


def test_llamacpp_generates_from_the_original_default_gguf(llamacpp_backend) -> None:
    chunks: list[str] = []
    result = llamacpp_backend.generate(_request(12), chunks.append)
    assert result.stop_reason in ("done", "max_tokens"), result.error
    assert 1 <= result.tokens <= 12
    assert result.text.strip()
    assert "".join(chunks) == result.text
    assert result.ttft_seconds is not None and result.ttft_seconds > 0
    assert result.threads == 1
    assert result.load_seconds > 0  # the first use loaded the file
    again = llamacpp_backend.generate(_request(12))
    assert again.load_seconds == 0.0  # the pooled instance was reused
    assert again.text == result.text  # greedy: same answer


def test_llamacpp_generates_from_the_relabelled_default_gguf_too(llamacpp_backend) -> None:
    model = replace(_contender(8).model, name="relabelled", path=installed_path())
    request = GenerationRequest.for_contender(replace(_contender(8), model=model), MESSAGE)
    result = llamacpp_backend.generate(request)
    assert result.stop_reason in ("done", "max_tokens"), result.error
    assert result.text.strip()


def test_max_tokens_ends_the_answer_exactly_at_the_limit(llamacpp_backend) -> None:
    result = llamacpp_backend.generate(_request(5, "Count from 1 to 100, one number per line."))
    assert (result.stop_reason, result.tokens) == ("max_tokens", 5)


def test_cancel_stops_at_the_next_token_and_releases_the_thread() -> None:
    budget = ThreadBudget(1)
    with LlamaCppBackend(budget) as backend:
        cancel = threading.Event()
        seen: list[str] = []

        def on_text(chunk: str) -> None:
            seen.append(chunk)
            if len(seen) == 3:
                cancel.set()

        result = backend.generate(_request(200), on_text, cancel)
        assert result.stop_reason == "cancelled"
        assert result.tokens == 3  # stopped at the very next token
        assert result.text == "".join(seen)
        assert budget.snapshot() == [] and budget.in_use() == 0
        # the thread is free: a second generation gets the whole one-thread budget
        stream = Stream(backend, _request(2))
        list(stream)
        assert stream.wait(timeout=120).stop_reason in ("done", "max_tokens")


def test_cancel_from_another_thread_while_streaming() -> None:
    budget = ThreadBudget(1)
    with LlamaCppBackend(budget) as backend:
        stream = Stream(backend, _request(400, "Count from 1 to 400, one number per line."))
        leases_while_running: list[list[tuple[str, int, int]]] = []
        for _chunk in stream:
            leases_while_running.append(budget.snapshot())
            stream.cancel()
            break
        result = stream.wait(timeout=120)
    assert result.stop_reason == "cancelled"
    assert result.tokens < 400
    assert leases_while_running[0] == [("smollm2-llamacpp-plain", 1, 1)]
    assert budget.snapshot() == []


def test_cancel_while_waiting_for_threads_returns_cancelled_without_loading() -> None:
    budget = ThreadBudget(1)
    with LlamaCppBackend(budget) as backend:
        held = budget.acquire(label="other")
        cancel = threading.Event()
        cancel.set()
        result = backend.generate(_request(4), None, cancel)
        held.release()
        assert (result.stop_reason, result.text, backend.pool.loads) == ("cancelled", "", 0)


def test_the_stored_prompt_is_the_gguf_templates_rendering() -> None:
    """Independent of the backend's code path: the template read straight from the file
    and rendered with jinja2 gives exactly the prompt text the request carries."""
    import gguf
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    reader = gguf.GGUFReader(original_path(), "r")
    template = reader.get_field("tokenizer.chat_template").contents()
    rendered = (
        ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        .from_string(template)
        .render(
            messages=[
                {"role": "system", "content": _contender(4).model.system_prompt},
                {"role": "user", "content": MESSAGE},
            ],
            add_generation_prompt=True,
            bos_token="<|im_start|>",
            eos_token="<|im_end|>",
        )
    )
    request = _request(4)
    assert request.prompt_text == rendered
    assert request.messages == (
        ChatMessage("system", _contender(4).model.system_prompt),
        ChatMessage("user", MESSAGE),
    )
    # the GGUF's template and gpt4all's hand-typed %1 template agree for SmolLM2
    gpt4all = load_registry(Config()).contender("smollm2-plain").model
    assert request.prompt_text == gpt4all.render(MESSAGE)


def test_a_configured_chat_template_overrides_the_gguf_one(llamacpp_backend) -> None:
    model = replace(
        _contender(4).model,
        chat_template_override="{% for m in messages %}<|im_start|>{{ m.role }}\n"
        "{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\nSure:",
    )
    request = GenerationRequest.for_contender(replace(_contender(4), model=model), "hi")
    assert request.prompt_text.endswith(
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nSure:"
    )
    assert llamacpp_backend.generate(request).stop_reason in ("done", "max_tokens")


def test_a_prompt_longer_than_the_context_ends_as_error_without_raising(llamacpp_backend) -> None:
    request = replace(_request(8), prompt_text="word " * 5000)
    result = llamacpp_backend.generate(request)
    assert result.stop_reason == "error"
    assert "context" in (result.error or "")
    assert result.text == ""


def test_a_truncated_gguf_is_a_one_line_error_before_generating(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(original_path().read_bytes()[:200_000])
    model = replace(_contender(4).model, name="broken", path=broken)
    with LlamaCppBackend(ThreadBudget(1)) as backend, pytest.raises(UserError) as caught:
        backend.preload(model)
    assert "llama.cpp cannot load it" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_routing_runs_gpt4all_and_llamacpp_contenders_on_one_thread_budget() -> None:
    registry = load_registry(Config())
    budget = ThreadBudget(1)
    with RoutingBackend(budget) as routing:
        results = {}
        for name in ("smollm2-plain", "smollm2-llamacpp-plain"):
            contender = registry.contender(name)
            contender = replace(contender, params=replace(contender.params, max_tokens=4))
            results[name] = routing.generate(GenerationRequest.for_contender(contender, MESSAGE))
        started = routing.started
        assert set(started) == {"gpt4all", "llamacpp"}
        assert started["gpt4all"].budget is budget and started["llamacpp"].budget is budget
    assert all(r.stop_reason in ("done", "max_tokens") for r in results.values())
    assert budget.snapshot() == []


def test_routing_creates_no_backend_it_is_not_asked_for() -> None:
    with RoutingBackend(ThreadBudget(1)) as routing:
        assert routing.started == {}
        with pytest.raises(UserError, match="unknown backend 'nope'"):
            routing.backend_for("nope")


def test_a_server_model_has_no_file_to_check() -> None:
    server = ModelSpec("remote", None, backend="openai")
    assert server.present and server.size_bytes is None
