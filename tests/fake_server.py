"""A scripted HTTP server on 127.0.0.1 for what a real server cannot be made to do on
demand: answer 429 then succeed, stay 503, send a malformed SSE line, or stay silent.

Only for those cases; everything else runs against the real ``llama_cpp.server``
(``tests/llama_server.py``). ``FakeServer(script)`` serves ``POST .../chat/completions``
with the next ``Reply`` of ``script`` (the last one repeats) and records each request's
headers and body.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    events: tuple[str, ...] = ()
    """Raw ``data:`` payloads (or whole raw lines starting with ``!``), sent one per event."""
    silent_seconds: float = 0.0
    """Wait this long before sending anything (a server that never answers)."""


def chunk(content: str | None = None, finish: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    return json.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def answer(*pieces: str, finish: str = "stop") -> tuple[str, ...]:
    return (*(chunk(p) for p in pieces), chunk(None, finish), "[DONE]")


@dataclass
class FakeServer:
    script: list[Reply]
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0
    event_delay: float = 0.001
    _count_lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"data": [{"id": "fake-model", "digest": "sha256:abc"}]})
                self._send(200, body.encode(), "application/json")

            def do_POST(self) -> None:
                with fake._count_lock:
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    self._post()
                finally:
                    with fake._count_lock:
                        fake.in_flight -= 1

            def _post(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"headers": dict(self.headers), "body": body})
                reply = fake.script[min(len(fake.requests) - 1, len(fake.script) - 1)]
                if reply.silent_seconds and fake._stop.wait(reply.silent_seconds):
                    return
                if reply.status != 200:
                    payload = b'{"error": {"message": "busy"}}'
                    self._send(reply.status, payload, "application/json", reply.headers)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                for event in reply.events:
                    line = event[1:] if event.startswith("!") else f"data: {event}"
                    self.wfile.write(f"{line}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(fake.event_delay)
                self.close_connection = True

            def _send(
                self,
                status: int,
                payload: bytes,
                kind: str,
                headers: tuple[tuple[str, str], ...] = (),
            ) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(payload)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
