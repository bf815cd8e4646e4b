"""Fixtures of the backend contract suite (the entries live in ``tests/backends.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from tests.backends import FAKE, BackendEntry, BackendUnderTest, open_under_test, present_backends


@pytest.fixture(params=[*present_backends(), FAKE], ids=lambda entry: entry.name)
def backend_entry(request: pytest.FixtureRequest) -> BackendEntry:
    """Every real backend present, then the fake (checked against the same contract).
    The openai entry runs against the session's real server (``llama_server``)."""
    if request.param.name == "openai":
        request.getfixturevalue("llama_server")  # started once, killed at the session's end
    return request.param


@pytest.fixture
def contract_backend(backend_entry: BackendEntry) -> Iterator[BackendUnderTest]:
    """The backend of ``backend_entry`` with a one-thread budget."""
    with open_under_test(backend_entry, 1) as opened:
        yield opened


@pytest.fixture
def open_backend() -> Callable[..., contextlib.AbstractContextManager[BackendUnderTest]]:
    """``open_backend(entry, total_threads, observer)`` for cases that set up their budget."""
    return open_under_test
