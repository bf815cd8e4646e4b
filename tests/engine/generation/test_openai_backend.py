"""The ``openai`` backend beyond the shared contract: how it fails, retries, waits and limits.

Against the real ``llama_cpp.server``: a wrong port, a wrong model name, the server killed
mid-stream. Against ``tests/fake_server.py`` only what a real server cannot be made to do:
429 then success, 503 for good, a malformed event, a stream cut without a finish reason,
a silent server (timeout and cancel), the concurrency limit, the key header.
Nothing waits on the clock: waits are on events with generous limits.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from gradebench.engine.errors import UserError
from gradebench.engine.generation.backend import GenerationRequest, Stream
from gradebench.engine.generation.chat import render_prompt
from gradebench.engine.generation.openai_backend import OpenAIBackend, RetryPolicy
from gradebench.engine.generation.registry import GenerationParams, ModelSpec
from gradebench.engine.generation.server_models import list_served_models, server_identity
from tests.backends import LONG_PROMPT, SHORT_PROMPT, openai_model
from tests.fake_server import FakeServer, Reply, answer, chunk
from tests.llama_server import SERVED_NAME, LlamaServer, default_gguf, free_port

PATIENCE = 300.0
FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.05)


def request_for(
    model: ModelSpec, prompt: str = LONG_PROMPT, max_tokens: int = 64
) -> GenerationRequest:
    params = replace(GenerationParams(), max_tokens=max_tokens, temperature=0.0, top_k=1)
    messages = model.messages(prompt)
    return GenerationRequest(model, render_prompt(model, messages), params, "t", messages)


def fake_model(server: FakeServer, **endpoint: object) -> ModelSpec:
    model = openai_model(server.base_url, **endpoint)
    assert model.endpoint is not None
    return replace(model, endpoint=replace(model.endpoint, server_model="fake-model"))


# --- the real server ---


def test_a_wrong_port_ends_error_naming_the_endpoint() -> None:
    model = openai_model(f"http://127.0.0.1:{free_port()}/v1")
    with OpenAIBackend() as backend:
        result = backend.generate(request_for(model))
    assert result.stop_reason == "error"
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith(model.endpoint.base_url + ": cannot connect")
    assert (result.text, result.tokens) == ("", 0)


def test_a_wrong_port_is_a_one_line_user_error_when_the_contender_is_registered() -> None:
    model = openai_model(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(UserError, match=r"^http://127\.0\.0\.1:\d+/v1: cannot connect"):
        server_identity(model)


def test_the_identity_names_the_endpoint_and_the_model_the_server_reports(llama_server) -> None:
    identity = server_identity(openai_model(llama_server.base_url))
    assert (identity.endpoint, identity.reported_model) == (llama_server.base_url, SERVED_NAME)
    assert identity.weights_fingerprint is None  # llama_cpp.server reports none
    assert [m.id for m in list_served_models(llama_server.base_url)] == [SERVED_NAME]


def test_a_model_name_the_server_does_not_serve_is_a_one_line_error(llama_server) -> None:
    model = openai_model(llama_server.base_url)
    assert model.endpoint is not None
    wrong = replace(model, endpoint=replace(model.endpoint, server_model="no-such-model"))
    with pytest.raises(UserError) as raised:
        server_identity(wrong)
    assert str(raised.value) == (
        f"model served-smollm2: {llama_server.base_url} does not serve 'no-such-model' "
        f"(it serves: {SERVED_NAME})"
    )


def test_a_server_killed_mid_stream_ends_error_with_the_text_so_far(tmp_path) -> None:
    server = LlamaServer(default_gguf(), log_path=tmp_path / "server.log").start()
    try:
        model = openai_model(server.base_url)
        seen: list[str] = []
        with OpenAIBackend() as backend:
            stream = Stream(backend, request_for(model, LONG_PROMPT, 1500))
            for piece in stream:
                seen.append(piece)
                if len(seen) == 3:
                    server.kill()
            result = stream.wait(PATIENCE)
    finally:
        server.stop()
    assert result.stop_reason == "error", result
    assert result.error is not None and result.error.startswith(server.base_url)
    assert "\n" not in result.error
    assert result.text == "".join(seen) and len(seen) >= 3


def test_a_short_answer_reports_the_server_usage_when_sent(llama_server) -> None:
    with OpenAIBackend() as backend:
        result = backend.generate(request_for(openai_model(llama_server.base_url), SHORT_PROMPT))
    assert result.stop_reason == "done"
    assert result.tokens >= 1
    if result.server_stats:  # llama_cpp.server sends none today; the numbers must agree then
        assert result.server_stats.get("completion_tokens", result.tokens) == result.tokens


# --- the fake server: what a real one cannot be made to do ---


def test_429_then_success_is_retried_and_answers() -> None:
    script = [Reply(429, (("Retry-After", "0"),)), Reply(events=answer("Hello", " there"))]
    with FakeServer(script) as server, OpenAIBackend(retry=FAST_RETRY) as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert (result.stop_reason, result.text, result.tokens) == ("done", "Hello there", 2)
    assert len(server.requests) == 2


def test_503_for_good_ends_error_after_a_bounded_number_of_tries() -> None:
    with FakeServer([Reply(503)]) as server, OpenAIBackend(retry=FAST_RETRY) as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert result.stop_reason == "error"
    assert result.error == f"{server.base_url}: HTTP 503 Service Unavailable: busy"
    assert len(server.requests) == FAST_RETRY.attempts


def test_a_4xx_is_not_retried() -> None:
    with FakeServer([Reply(401)]) as server, OpenAIBackend(retry=FAST_RETRY) as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert result.stop_reason == "error" and "HTTP 401" in (result.error or "")
    assert len(server.requests) == 1


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    policy = RetryPolicy(attempts=3, base=1.0, cap=4.0, retry_after_cap=10.0)
    assert policy.wait(0, "3") == 3.0
    assert policy.wait(0, "3600") == 10.0
    assert [policy.wait(n, None) for n in range(4)] == [1.0, 2.0, 4.0, 4.0]
    assert policy.wait(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 2.0


def test_a_malformed_event_ends_error_keeping_the_text_so_far() -> None:
    events = (chunk("def f"), chunk("():"), "{not json", chunk(" pass"))
    with FakeServer([Reply(events=events)]) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert result.stop_reason == "error"
    assert result.error is not None and result.error.startswith(f"{server.base_url}: malformed")
    assert result.text == "def f():"


def test_a_malformed_sse_line_ends_error_not_an_exception() -> None:
    events = (chunk("a"), "!data: \x00")
    with FakeServer([Reply(events=events)]) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert result.stop_reason == "error" and "malformed event stream" in (result.error or "")
    assert result.text == "a"


def test_a_stream_cut_without_a_finish_reason_ends_error() -> None:
    with FakeServer([Reply(events=(chunk("x"), chunk("y")))]) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert result.stop_reason == "error"
    assert result.error == f"{server.base_url}: the stream ended before the answer did"
    assert result.text == "xy"


def test_finish_reason_length_ends_max_tokens() -> None:
    script = [Reply(events=answer("a", "b", finish="length"))]
    with FakeServer(script) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert (result.stop_reason, result.text) == ("max_tokens", "ab")


def test_a_server_that_never_answers_ends_error_after_the_configured_timeout() -> None:
    with FakeServer([Reply(silent_seconds=PATIENCE)]) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server, timeout=0.3)))
    assert result.stop_reason == "error"
    assert result.error == f"{server.base_url}: no answer for 0.3 s (timeout)"


def test_cancel_while_the_server_is_silent_returns_cancelled() -> None:
    with FakeServer([Reply(silent_seconds=PATIENCE)]) as server, OpenAIBackend() as backend:
        stream = Stream(backend, request_for(fake_model(server)))
        while not server.requests:
            threading.Event().wait(0.01)
        stream.cancel()
        result = stream.wait(PATIENCE / 2)  # far less than the server's silence
    assert (result.stop_reason, result.text, result.tokens) == ("cancelled", "", 0)


def test_the_key_is_read_from_the_named_variable_and_sent_only_as_a_header(monkeypatch) -> None:
    monkeypatch.setenv("GB_TEST_KEY", "sk-test-secret")
    with FakeServer([Reply(events=answer("ok"))]) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server, api_key_env="GB_TEST_KEY")))
    assert result.stop_reason == "done"
    (sent,) = server.requests
    assert sent["headers"]["Authorization"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in repr(sent["body"]) and "sk-test-secret" not in repr(result)


def test_max_concurrent_bounds_the_requests_in_flight_per_endpoint() -> None:
    script = [Reply(events=answer(*["t"] * 50))]
    for limit, expected in ((1, 1), (3, 3)):
        with FakeServer(script, event_delay=0.02) as server, OpenAIBackend() as backend:
            model = fake_model(server, max_concurrent=limit)
            streams = [Stream(backend, request_for(model)) for _ in range(3)]
            results = [s.wait(PATIENCE) for s in streams]
        assert [r.stop_reason for r in results] == ["done"] * 3
        assert server.peak_in_flight == expected


def test_the_backend_takes_no_threads_from_the_budget() -> None:
    from gradebench.engine.generation.routing import RoutingBackend
    from gradebench.engine.generation.thread_budget import ThreadBudget

    events: list[object] = []
    with (
        FakeServer([Reply(events=answer("ok"))]) as server,
        RoutingBackend(ThreadBudget(1, observer=events.append)) as routing,
    ):
        result = routing.generate(request_for(fake_model(server)))
    assert result.stop_reason == "done" and events == []


def test_a_fingerprint_the_server_reports_in_its_model_list_is_part_of_the_identity() -> None:
    with FakeServer([Reply()]) as server:
        identity = server_identity(fake_model(server))
    assert (identity.reported_model, identity.weights_fingerprint) == ("fake-model", "sha256:abc")


def test_the_streamed_system_fingerprint_and_usage_are_kept_with_the_result() -> None:
    import json

    usage = json.dumps(
        {"choices": [], "usage": {"completion_tokens": 2}, "system_fingerprint": "b5000-x"}
    )
    script = [Reply(events=(chunk("a"), chunk("b"), chunk(None, "stop"), usage, "[DONE]"))]
    with FakeServer(script) as server, OpenAIBackend() as backend:
        result = backend.generate(request_for(fake_model(server)))
    assert result.stop_reason == "done"
    assert result.server_fingerprint == "b5000-x"
    assert result.server_stats == {"completion_tokens": 2.0}
