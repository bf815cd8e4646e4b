"""Nothing skips silently in CI: under ``CI=true`` a skipped test is reported as failed.

A pytest plugin (``tests/conftest.py`` re-exports its hook). Outside CI a skip stays a
skip and ``-ra`` (pyproject ``addopts``) lists it with its reason in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

CI_SKIP_MESSAGE = "skipped under CI=true, where nothing may skip"


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator:
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{CI_SKIP_MESSAGE}: {reason}"
