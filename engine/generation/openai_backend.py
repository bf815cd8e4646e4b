"""The ``openai`` backend: any OpenAI-compatible ``/v1/chat/completions`` server, streamed.

llama.cpp's ``llama-server``, llama-cpp-python's server, Ollama, vLLM and LM Studio speak
it. The ``Backend`` contract (``backend.py``) holds as for the local backends. (One module
of ~450 lines on purpose: the request, the helper thread, the retries and the mapping of
every failure to one line must be read together to see that each ends the stream once.)

- ``POST {base_url}/chat/completions`` with ``stream: true``, the request's messages,
  ``model`` = the endpoint's ``server_model``, ``temperature``, ``top_p``, ``max_tokens``
  and ``stream_options.include_usage``. The key comes from the environment variable named
  by ``api_key_env`` at call time and goes only into the ``Authorization`` header (never
  into a result, an error message, a row or a log).
- The HTTP exchange runs in a helper thread (``_Exchange``) that hands raw bytes to the
  calling thread, which parses them (``sse.SSEParser``) and checks ``cancel`` every
  50 ms even while the server is silent. Cancel shuts the socket down at once (the
  server sees the client leave and stops) and returns the text so far.
- Each content delta is one token (servers send one per event) unless the server's
  ``usage.completion_tokens`` says otherwise; the answer ends ``max_tokens`` at exactly
  ``params.max_tokens`` tokens even if a server sends more. TTFT is measured from the
  request to the first text; the server's own ``usage``/``timings`` are kept in
  ``GenerationResult.server_stats``.
- Errors end ``stop_reason="error"`` with the text so far and one line naming the
  endpoint: connection refused, HTTP 4xx/5xx, a malformed event, a stream that ends
  without a ``finish_reason``, no byte for ``endpoint.timeout`` seconds. 429 and 503 are
  retried ``RetryPolicy.attempts`` times with exponential backoff (``Retry-After``
  honoured up to a cap) before anything streamed.
- At most ``max_concurrent`` requests per endpoint are in flight (``EndpointSlots`` per
  endpoint: queued requests go by ``work_priority``, the problem on screen first;
  ``concurrency`` overrides the limit for every endpoint, as ``generate --parallel``
  does). The backend takes no threads from the ``ThreadBudget``.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from gradebench.engine.generation.backend import (
    GenerationRequest,
    GenerationResult,
    StopReason,
    TextCallback,
)
from gradebench.engine.generation.endpoint_slots import EndpointSlots
from gradebench.engine.generation.registry import ServerEndpoint
from gradebench.engine.generation.server_models import (
    auth_headers,
    describe_http_failure,
    server_identity,
)
from gradebench.engine.generation.sse import SSEError, SSEParser

__all__ = ["OpenAIBackend", "RetryPolicy", "server_identity"]

POLL_SECONDS = 0.05
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """429/503: ``attempts`` tries in all, waits ``base * 2**n`` capped at ``cap`` seconds;
    a ``Retry-After`` in seconds is honoured up to ``retry_after_cap``."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    retry_after_cap: float = 30.0

    def wait(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return max(0.0, min(float(retry_after), self.retry_after_cap))
            except ValueError:
                pass  # an HTTP date: use our own backoff
        return min(self.base * (2**attempt), self.cap)


class _Failed(Exception):
    """The exchange failed; the message is the one line for ``GenerationResult.error``."""


class _Exchange:
    """One HTTP request in its own thread: puts ``bytes`` chunks, then ``None`` (end) or a
    ``_Failed`` into ``items``. ``abort()`` (any thread) ends it at once."""

    def __init__(
        self,
        client: Any,
        url: str,
        endpoint: ServerEndpoint,
        body: dict[str, Any],
        retry: RetryPolicy,
        slot: EndpointSlots,
    ) -> None:
        self.items: queue.SimpleQueue[bytes | _Failed | None] = queue.SimpleQueue()
        self._client, self._url, self._endpoint, self._body = client, url, endpoint, body
        self._retry = retry
        self._slot = slot
        self._aborted = threading.Event()
        self._lock = threading.Lock()
        self._response: Any = None
        self.thread = threading.Thread(target=self._run, name="openai-stream", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def abort(self) -> None:
        self._aborted.set()
        with self._lock:
            response = self._response
        if response is not None:
            _shutdown(response)

    def _run(self) -> None:
        try:
            self._stream()
        except _Failed as exc:
            self.items.put(exc)
        except Exception as exc:
            if self._aborted.is_set():
                self.items.put(None)
            elif isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
                self.items.put(
                    _Failed(
                        f"{self._endpoint.base_url}: no answer for {self._endpoint.timeout:g} s "
                        "(timeout)"
                    )
                )
            else:
                self.items.put(_Failed(describe_http_failure(self._endpoint.base_url, exc)))
        finally:
            self._slot.release()

    def _stream(self) -> None:
        headers = {"Accept": "text/event-stream", **auth_headers(self._endpoint.api_key())}
        base = self._endpoint.base_url
        for attempt in range(self._retry.attempts):
            request = self._client.build_request(
                "POST", self._url, json=self._body, headers=headers
            )
            response = self._client.send(request, stream=True)
            with self._lock:
                self._response = response
            try:
                if self._aborted.is_set():
                    return
                status = response.status_code
                if status in RETRY_STATUSES and attempt + 1 < self._retry.attempts:
                    delay = self._retry.wait(attempt, response.headers.get("retry-after"))
                    response.close()
                    if self._aborted.wait(delay):
                        return
                    continue
                if status != 200:
                    raise _Failed(f"{base}: HTTP {status} {_error_detail(response)}".rstrip())
                for chunk in response.iter_raw():
                    if self._aborted.is_set():
                        return
                    self.items.put(chunk)
                with self._lock:
                    self._response = None  # over: abort() must not touch a pooled connection
                self.items.put(None)
                return
            finally:
                response.close()


def _shutdown(response: Any) -> None:
    """Wake a read blocked on the response's socket, then close the response."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    try:
        response.close()
    except Exception:
        pass


def _error_detail(response: Any) -> str:
    """The reason phrase and the server's error message, on one short line."""
    reason = response.reason_phrase or ""
    try:
        text = response.read().decode("utf-8", "replace")
    except Exception:
        return reason
    message = text
    try:
        body = json.loads(text)
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message", ""))
        elif isinstance(error, str):
            message = error
        elif isinstance(body, dict) and "detail" in body:
            message = str(body["detail"])
    except ValueError:
        pass
    message = " ".join(message.split())[:200]
    return f"{reason}: {message}" if message else reason


class OpenAIBackend:
    """Streams answers from OpenAI-compatible servers; see the module docstring."""

    def __init__(
        self,
        concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        import httpx

        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self._connect_timeout = connect_timeout
        self._clients: dict[float, httpx.Client] = {}
        self._slots: dict[str, EndpointSlots] = {}
        self._lock = threading.Lock()

    def _client(self, timeout: float) -> Any:
        import httpx

        with self._lock:
            client = self._clients.get(timeout)
            if client is None:
                limits = httpx.Limits(max_connections=None, max_keepalive_connections=8)
                client = httpx.Client(
                    timeout=httpx.Timeout(timeout, connect=min(self._connect_timeout, timeout)),
                    limits=limits,
                )
                self._clients[timeout] = client
            return client

    def _slot(self, endpoint: ServerEndpoint) -> EndpointSlots:
        with self._lock:
            slot = self._slots.get(endpoint.base_url)
            if slot is None:
                slot = EndpointSlots(self.concurrency or endpoint.max_concurrent)
                self._slots[endpoint.base_url] = slot
            return slot

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        endpoint = request.model.endpoint
        started = time.perf_counter()
        if endpoint is None:
            return _ended("", 0, "error", None, started, f"model {request.model.name}: no endpoint")
        slot = self._slot(endpoint)
        if not slot.acquire(cancel):
            return _ended("", 0, "cancelled", None, started)
        if cancel is not None and cancel.is_set():
            slot.release()
            return _ended("", 0, "cancelled", None, started)
        try:
            client = self._client(endpoint.timeout)
        except Exception:
            slot.release()
            raise
        exchange = _Exchange(
            client,
            f"{endpoint.base_url}/chat/completions",
            endpoint,
            request_body(request),
            self.retry,
            slot,  # released by the exchange's thread when the HTTP exchange is over
        )
        started = time.perf_counter()
        exchange.start()
        reader = _AnswerReader(request, endpoint, on_text)
        try:
            result = reader.read(exchange, cancel, started)
        except BaseException:
            exchange.abort()
            raise
        if not reader.ended_by_server:
            exchange.abort()  # cancelled, failed or cut at max_tokens: close the stream now
        return result


def request_body(request: GenerationRequest) -> dict[str, Any]:
    params = request.params
    assert request.model.endpoint is not None
    return {
        "model": request.model.endpoint.server_model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": params.temperature,
        "top_p": params.top_p,
        "max_tokens": params.max_tokens,
    }


def _ended(
    text: str,
    tokens: int,
    stop: StopReason,
    first: float | None,
    started: float,
    error: str | None = None,
    stats: dict[str, float] | None = None,
) -> GenerationResult:
    return GenerationResult(
        text=text,
        tokens=tokens,
        stop_reason=stop,
        ttft_seconds=None if first is None else first - started,
        total_seconds=time.perf_counter() - started,
        error=error,
        server_stats=stats or None,
    )


class _AnswerReader:
    """Turns the exchange's bytes into text, tokens and an ending (the calling thread)."""

    def __init__(
        self, request: GenerationRequest, endpoint: ServerEndpoint, on_text: TextCallback | None
    ) -> None:
        self.request = request
        self.base = endpoint.base_url
        self.on_text = on_text
        self.pieces: list[str] = []
        self.tokens = 0
        self.first: float | None = None
        self.finish: str | None = None
        self.stats: dict[str, float] = {}
        self.failure: str | None = None
        self.stop: StopReason | None = None
        self.fingerprint: str | None = None
        self.ended_by_server = False
        """The server finished the answer (its stream is over): nothing to close."""

    def read(
        self, exchange: _Exchange, cancel: threading.Event | None, started: float
    ) -> GenerationResult:
        parser = SSEParser()
        while self.stop is None and self.failure is None:
            if cancel is not None and cancel.is_set():
                self.stop = "cancelled"
                break
            try:
                item = exchange.items.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(item, _Failed):
                self.failure = str(item)
                break
            try:
                events = parser.feed(item) if item is not None else parser.finish()
            except SSEError as exc:
                self.failure = f"{self.base}: malformed event stream ({exc})"
                break
            for event in events:
                if event.done:
                    item = None
                    break
                self._event(event.data)
                if self.stop is not None or self.failure is not None:
                    break
            if item is None and self.stop is None and self.failure is None:
                if self.finish is None:
                    self.failure = f"{self.base}: the stream ended before the answer did"
                else:
                    self.stop = "max_tokens" if self.finish == "length" else "done"
                    self.ended_by_server = True
        completion = self.stats.get("completion_tokens")
        tokens = self.tokens
        if completion is not None and self.stop in ("done", "max_tokens") and completion > 0:
            tokens = min(int(completion), self.request.params.max_tokens)
        text = "".join(self.pieces)
        stop: StopReason = "error" if self.failure is not None else self.stop or "error"
        result = _ended(text, tokens, stop, self.first, started, self.failure, self.stats)
        return replace(result, server_fingerprint=self.fingerprint)

    def _event(self, data: str) -> None:
        try:
            chunk = json.loads(data)
        except ValueError:
            self.failure = f"{self.base}: malformed event (not JSON): {data[:80]!r}"
            return
        if not isinstance(chunk, dict):
            self.failure = f"{self.base}: malformed event (not an object)"
            return
        if "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            self.failure = (
                f"{self.base}: server error mid-stream: {' '.join(str(message).split())[:200]}"
            )
            return
        self._stats(chunk)
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not choices:
            return  # e.g. the usage-only last chunk
        choice = choices[0]
        if not isinstance(choice, dict):
            self.failure = f"{self.base}: malformed event (choice not an object)"
            return
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str) and content:
            self._text(content)
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish and self.stop is None and self.failure is None:
            self.finish = finish

    def _text(self, content: str) -> None:
        if self.first is None:
            self.first = time.perf_counter()
        self.tokens += 1
        self.pieces.append(content)
        if self.on_text is not None:
            try:
                self.on_text(content)
            except Exception as exc:
                self.failure = f"on_text failed: {type(exc).__name__}: {exc}"
                return
        if self.tokens >= self.request.params.max_tokens:
            self.stop = "max_tokens"

    def _stats(self, chunk: dict[str, Any]) -> None:
        for key in ("usage", "timings"):
            block = chunk.get(key)
            if isinstance(block, dict):
                for name, value in block.items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        self.stats[name] = float(value)
        fingerprint = chunk.get("system_fingerprint")
        if isinstance(fingerprint, str) and fingerprint:
            self.fingerprint = fingerprint
