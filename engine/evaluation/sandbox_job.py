"""What a sandbox child is given and what comes back: the job (code, entry point, tests in run
order, time limits), the resource limits, each test's outcome and the whole result. Plain
values that cross from the evaluator to the sandbox and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one child; defaults suit one answer to one problem."""

    memory_bytes: int = 4 << 30
    """Address space (RLIMIT_AS): 4 GiB, as EvalPlus allows (HumanEval/130's reference needs more than 1)."""
    file_bytes: int = 16 << 20
    processes: int = 32
    open_files: int = 64
    work_dir_bytes: int = 64 << 20
    """Size of the tmpfs the work dir becomes (with the mount namespace)."""
    output_bytes: int = 64 << 10
    """stdout and stderr kept, each; the rest is read and discarded."""
    result_bytes: int = 1 << 30
    """Most bytes accepted on the result channel before the child is stopped."""
    startup_seconds: float = 10.0
    """Interpreter start and isolation, before any candidate code (generous: the
    machine is shared and a slow start is never the answer's fault)."""
    niceness: int = 0
    """Added to the child's nice value and to its scheduling autogroup's (0: unchanged)."""


@dataclass(frozen=True)
class SandboxJob:
    """What the child runs: code, its entry point, and tests in the order to run them."""

    code: str
    entry_point: str
    tests: tuple[tuple[int, Any], ...]
    """``(test index, args)``; args are plain data, sent encoded."""
    test_limits: tuple[float, ...]
    """Seconds per test, in run order."""
    kind: str = "function"
    take: int | None = None
    prepared_args: tuple[tuple[str, bytes | str], ...] | None = None
    """``prepare_args`` of each test's args, same order as ``tests``, when the caller
    has them cached (preparing large inputs takes time)."""
    total_limit: float | None = None
    """When set, all tests share this many seconds instead of ``test_limits``."""
    load_limit: float = 2.0
    """Seconds for the candidate's module-level code."""
    expected_encoded: tuple[bytes | memoryview | None, ...] | None = None
    """Parent side only, never sent to the child: per test in run order, an encoded
    output (UTF-8 bytes) that counts as a match when the child's output is that exact text (then the
    test is listed in ``SandboxResult.matched`` and its output is never decoded)."""
    decode_outputs: bool = True
    """False: returned values stay encoded text (``TestOutcome.text``), for a caller
    that keeps them as text anyway (the reference's outputs, which are cached so)."""


@dataclass(frozen=True)
class TestOutcome:
    """What one test call did: returned a value, or raised."""

    __test__ = False

    index: int
    returned: bool
    output: Any = None
    error_type: str = ""
    message: str = ""
    seconds: float = 0.0
    text: bytes | None = None
    """The output as encoded text (UTF-8), not decoded (``output`` stays None), when the
    job said ``decode_outputs=False``."""


@dataclass(frozen=True)
class SandboxResult:
    """Everything the parent observed about one child."""

    outcomes: tuple[TestOutcome, ...]
    """Every test that ran, in run order, except the ``matched`` ones."""
    stopped: str | None = None
    """None when every test ran; else ``startup``, ``load_error``, ``timeout``,
    ``exited`` (the child died or quit early) or ``protocol`` (garbage on the
    result channel)."""
    stopped_test: int | None = None
    """Index of the test running when the child was stopped (None: before tests)."""
    message: str = ""
    load_error: tuple[str, str] | None = None
    exit_code: int | None = None
    """Negative: killed by that signal."""
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    isolation: dict[str, Any] = field(default_factory=dict)
    uid: int | None = None
    leftovers_killed: int = 0
    cpu_seconds: float | None = None
    """CPU time the child's process group had used when it was stopped for a timeout (from
    /proc; None otherwise)."""
    wait_seconds: float | None = None
    """Time the child had spent runnable but waiting for a CPU when it was stopped for a
    timeout: with little CPU and much waiting it was starved, not slow (nor sleeping)."""
    """Processes of the sandbox still alive after the child ended, killed by the sweep."""
    matched: tuple[tuple[int, float], ...] = ()
    """(test index, seconds) of each test whose output was exactly the job's
    ``expected_encoded`` text: passed, recognised while reading, never decoded."""
