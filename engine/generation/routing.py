"""One backend for a mixed session: each request goes to the backend of its model.

``RoutingBackend`` keeps the ``Backend`` contract and dispatches on
``request.model.backend`` (``gpt4all``, ``llamacpp``, ``openai``). The backends are
created on first use, so a session of gpt4all contenders never imports llama-cpp-python
and one of server contenders loads nothing locally. The local backends share ONE
``ThreadBudget`` (ggml threads spin: two local backends with budgets of their own would
oversubscribe the cores); server backends take no local threads, their concurrency is
per endpoint (``max_concurrent``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.generation.backend import (
    Backend,
    GenerationRequest,
    GenerationResult,
    TextCallback,
)
from gradebench.engine.generation.registry import BACKENDS, ModelSpec
from gradebench.engine.generation.thread_budget import ThreadBudget

BackendFactory = Callable[[ThreadBudget], Any]


def _gpt4all(budget: ThreadBudget) -> Any:
    from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend

    return GPT4AllBackend(budget)


def _llamacpp(budget: ThreadBudget) -> Any:
    from gradebench.engine.generation.llamacpp_backend import LlamaCppBackend

    return LlamaCppBackend(budget)


def _openai(budget: ThreadBudget) -> Any:
    from gradebench.engine.generation.openai_backend import OpenAIBackend

    return OpenAIBackend()  # a server takes no local threads


FACTORIES: dict[str, BackendFactory] = {
    "gpt4all": _gpt4all,
    "llamacpp": _llamacpp,
    "openai": _openai,
}


class RoutingBackend:
    """Dispatches each request to the backend of its model; see the module docstring."""

    def __init__(
        self,
        budget: ThreadBudget | None = None,
        factories: dict[str, BackendFactory] | None = None,
    ) -> None:
        self.budget = budget or ThreadBudget.for_machine()
        self._factories = dict(FACTORIES if factories is None else factories)
        self._backends: dict[str, Any] = {}
        self._lock = threading.Lock()

    def backend_for(self, backend: str) -> Backend:
        """The backend named ``backend``, created (once) on first use."""
        with self._lock:
            existing = self._backends.get(backend)
            if existing is not None:
                return existing
            factory = self._factories.get(backend)
            if factory is None:
                raise UserError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})")
            created = factory(self.budget)
            self._backends[backend] = created
            return created

    @property
    def started(self) -> dict[str, Any]:
        """The backends created so far, by name (for tests and diagnostics)."""
        with self._lock:
            return dict(self._backends)

    def preload(self, model: ModelSpec) -> float:
        """Load ``model`` now if its backend can (a bad file fails before any row is
        written); seconds taken, 0 for backends with nothing to load."""
        backend = self.backend_for(model.backend)
        preload = getattr(backend, "preload", None)
        return float(preload(model)) if preload is not None else 0.0

    def generate(
        self,
        request: GenerationRequest,
        on_text: TextCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        return self.backend_for(request.model.backend).generate(request, on_text, cancel)

    def close(self) -> None:
        with self._lock:
            backends = list(self._backends.values())
            self._backends.clear()
        for backend in backends:
            close = getattr(backend, "close", None)
            if close is not None:
                close()

    def __enter__(self) -> RoutingBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
