"""Backends under the streaming contract: every real backend present, and the fake.

A helper module (no tests): ``tests/engine/generation/conftest.py`` turns it into fixtures.

``BACKENDS`` has one entry per backend the project ships (one ``*_backend.py`` module in
``engine/generation/``), saying how to tell that it is installed and how to open it with a
given ``ThreadBudget`` on a real model. Adding a backend is one entry here; the contract
suite (``test_backend_contract.py``) then runs every case on it. A backend that is not
installed is not in the parameter list at all (no skip); under ``CI=true``
``test_ci_runs_the_contract_on_every_backend_the_project_ships`` fails instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from gradebench.engine.config import Config
from gradebench.engine.generation.backend import Backend, GenerationRequest
from gradebench.engine.generation.chat import render_prompt
from gradebench.engine.generation.default_model import installed_path
from gradebench.engine.generation.registry import GenerationParams, ModelSpec, load_registry
from gradebench.engine.generation.thread_budget import ThreadBudget
from tests.fakes import FakeBackend

SHORT_PROMPT = "Reply with the single word: yes"
"""A prompt the default model answers briefly and then ends (``done``)."""
LONG_PROMPT = "Write a very long essay about the history of computing."
"""A prompt the default model keeps answering far past any small ``max_tokens``."""


@dataclass(frozen=True)
class BackendEntry:
    """How the contract suite reaches one backend."""

    name: str
    module: str
    """The product module (``engine/generation/<module>.py``) this entry covers."""
    installed: Callable[[], bool]
    open: Callable[[ThreadBudget], contextlib.AbstractContextManager[tuple[Backend, ModelSpec]]]
    local: bool
    """Takes threads from the ``ThreadBudget`` (servers take none)."""
    measures_resources: bool
    """Runs the model in this process, so an answer carries its ``cpu_seconds`` and
    ``peak_rss_bytes`` (a server's answer has neither; the fake measures nothing)."""


@contextlib.contextmanager
def _open_gpt4all(budget: ThreadBudget) -> Iterator[tuple[Backend, ModelSpec]]:
    from gradebench.engine.generation.gpt4all_backend import GPT4AllBackend

    if not installed_path().is_file():
        pytest.fail(
            "default model missing: run `gradebench models install-default` (make test does)"
        )
    model = load_registry(Config()).contender("smollm2-plain").model
    with GPT4AllBackend(budget) as backend:
        yield backend, model


@contextlib.contextmanager
def _open_llamacpp(budget: ThreadBudget) -> Iterator[tuple[Backend, ModelSpec]]:
    from gradebench.engine.generation.default_model import original_path
    from gradebench.engine.generation.llamacpp_backend import LlamaCppBackend

    if not original_path().is_file():
        pytest.fail(
            "original default GGUF missing: run `gradebench models install-default` (make test does)"
        )
    model = load_registry(Config()).contender("smollm2-llamacpp-plain").model
    with LlamaCppBackend(budget) as backend:
        yield backend, model


def openai_model(base_url: str, name: str = "served-smollm2", **endpoint: object) -> ModelSpec:
    """An ``openai`` model on ``base_url`` serving the default model, with the same system
    message as the llamacpp built-in (so both render the same chat)."""
    from gradebench.engine.generation.registry import SMOLLM2_SYSTEM_MESSAGE, ServerEndpoint
    from tests.llama_server import SERVED_NAME

    return ModelSpec(
        name=name,
        path=None,
        system_prompt=SMOLLM2_SYSTEM_MESSAGE,
        backend="openai",
        endpoint=ServerEndpoint(base_url=base_url, server_model=SERVED_NAME, **endpoint),  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def _open_openai(budget: ThreadBudget) -> Iterator[tuple[Backend, ModelSpec]]:
    """The openai backend against the session's real ``llama_cpp.server`` (the budget is
    not used: a server takes no local threads)."""
    from gradebench.engine.generation.openai_backend import OpenAIBackend
    from tests.llama_server import shared_server

    server = shared_server()
    with OpenAIBackend() as backend:
        yield backend, openai_model(server.base_url)


BACKENDS: tuple[BackendEntry, ...] = (
    BackendEntry(
        name="gpt4all",
        module="gpt4all_backend",
        installed=lambda: importlib.util.find_spec("gpt4all") is not None,
        open=_open_gpt4all,
        local=True,
        measures_resources=True,
    ),
    BackendEntry(
        name="llamacpp",
        module="llamacpp_backend",
        installed=lambda: importlib.util.find_spec("llama_cpp") is not None,
        open=_open_llamacpp,
        local=True,
        measures_resources=True,
    ),
    BackendEntry(
        name="openai",
        module="openai_backend",
        installed=lambda: importlib.util.find_spec("llama_cpp.server") is not None,
        open=_open_openai,
        local=False,
        measures_resources=False,
    ),
)


def present_backends() -> list[BackendEntry]:
    return [entry for entry in BACKENDS if entry.installed()]


@contextlib.contextmanager
def _open_fake(budget: ThreadBudget) -> Iterator[tuple[Backend, ModelSpec]]:
    model = load_registry(Config()).contender("smollm2-plain").model
    counting = "\n".join(str(i) for i in range(1, 5001)) + "\n"
    yield (
        FakeBackend(
            answers={LONG_PROMPT: counting, SHORT_PROMPT: "yes"},
            token_delay=0.002,
            budget=budget,
        ),
        model,
    )


FAKE = BackendEntry(
    name="fake",
    module="",
    installed=lambda: True,
    open=_open_fake,
    local=True,
    measures_resources=False,
)


@dataclass
class BackendUnderTest:
    """One backend opened for one test, with the budget it draws threads from."""

    name: str
    backend: Backend
    model: ModelSpec
    budget: ThreadBudget
    local: bool

    def request(self, prompt: str, max_tokens: int, label: str = "") -> GenerationRequest:
        """Greedy sampling (top_k 1), so a case sees the same answer on every run."""
        params = replace(GenerationParams(), max_tokens=max_tokens, temperature=0.0, top_k=1)
        messages = self.model.messages(prompt)
        return GenerationRequest(
            model=self.model,
            prompt_text=render_prompt(self.model, messages),
            params=params,
            label=label or self.name,
            messages=messages,
        )


def open_under_test(
    entry: BackendEntry, total_threads: int, observer: Any = None
) -> contextlib.AbstractContextManager[BackendUnderTest]:
    @contextlib.contextmanager
    def opened() -> Iterator[BackendUnderTest]:
        budget = ThreadBudget(total_threads, observer=observer)
        with entry.open(budget) as (backend, model):
            yield BackendUnderTest(entry.name, backend, model, budget, entry.local)

    return opened()
