"""A real OpenAI-compatible server for the tests: ``python -m llama_cpp.server`` serving the
default model's original GGUF on 127.0.0.1, a free port, one thread.

``LlamaServer.start()`` launches it and waits until ``/v1/models`` answers; ``stop()``
kills it (its own process group). ``shared_server()`` is the one server of the whole test
session (started on first use; the session fixture ``llama_server`` in ``conftest.py``
stops it at the end, and ``atexit`` does if the session dies first). Tests that kill a
server start their own.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

SERVED_NAME = "smollm2-served"
START_PATIENCE = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    model_path: Path
    port: int = field(default_factory=free_port)
    threads: int = 1
    log_path: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(self.model_path),
                "--model_alias",
                SERVED_NAME,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_threads",
                str(self.threads),
                "--n_threads_batch",
                str(self.threads),
                "--n_ctx",
                "2048",
                # by default a new request cuts the running one short; queue them instead
                "--interrupt_requests",
                "False",
            ],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_PATIENCE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {START_PATIENCE:.0f} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(30)

    def kill(self) -> None:
        """Die at once, as a crashed server does (SIGKILL, no goodbye to the clients)."""
        self.stop()


_shared: LlamaServer | None = None
_lock = threading.Lock()


def default_gguf() -> Path:
    from gradebench.engine.generation.default_model import original_path

    path = original_path()
    if not path.is_file():
        pytest.fail("original default GGUF missing: run `gradebench models install-default`")
    return path


def shared_server() -> LlamaServer:
    """The session's one server, started on first use."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = LlamaServer(default_gguf()).start()
            atexit.register(stop_shared_server)
        return _shared


def stop_shared_server() -> None:
    global _shared
    with _lock:
        server, _shared = _shared, None
    if server is not None:
        server.stop()


def server_model_toml(name: str, base_url: str, **extra: object) -> str:
    """A ``[models.NAME]`` table for an openai model on ``base_url`` (+ extra keys)."""
    lines = [
        f"[models.{name}]",
        'backend = "openai"',
        f'base_url = "{base_url}"',
        f'server_model = "{SERVED_NAME}"',
    ]
    for key, value in extra.items():
        lines.append(f"{key} = {value!r}" if not isinstance(value, str) else f'{key} = "{value}"')
    return "\n".join(lines) + "\n"
