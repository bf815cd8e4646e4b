"""Reading the child's result channel, which is hostile input: the child runs the answer and
can write any bytes. The watch loop reads lines against the deadlines of each phase
(startup, prepare, load, tests), recognises lines that are exactly an expected output in
place, and checks every other line in full (``parse_control``, ``parse_result``) before
anything uses it; any wrong shape, encoding, depth, order or repetition stops the child
with ``stopped="protocol"``, never an exception in the parent.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.fork_server import ExecChild, ForkedChild
from gradebench.engine.evaluation.sandbox_job import SandboxJob, SandboxLimits, TestOutcome


@dataclass
class Watch:
    outcomes: list[TestOutcome] = field(default_factory=list)
    raw_results: list[bytes] = field(default_factory=list)
    """Result lines, decoded after the child is done so decoding a huge output
    never eats into the next test's time."""
    stopped: str | None = None
    stopped_test: int | None = None
    message: str = ""
    load_error: tuple[str, str] | None = None
    isolation: dict[str, Any] = field(default_factory=dict)
    matched: list[tuple[int, float]] = field(default_factory=list)


def watch_results(
    process: ForkedChild | ExecChild,
    result_fd: int,
    job: SandboxJob,
    limits: SandboxLimits,
    payload_bytes: int,
) -> Watch:
    """Read result lines against deadlines until ``done``, EOF, a timeout or garbage."""
    watch = Watch()
    # Per test in run order: the start of its ``ok`` line and the expected output's
    # text, so a line carrying exactly that text is recognised by two comparisons in
    # place (the text is compared where it lies, never copied or parsed).
    heads = _ok_line_heads(max((index for index, _ in job.tests), default=-1) + 1)
    prefixes = [
        None if want is None else (heads[index], want)
        for (index, _), want in zip(job.tests, job.expected_encoded or (), strict=False)
    ]
    phase = "startup"
    deadline = time.monotonic() + limits.startup_seconds
    tests_started = 0.0
    position = 0
    buffer = bytearray()
    scan_from = 0
    received = 0
    exited_at: float | None = None

    def stop(reason: str, message: str) -> Watch:
        watch.stopped = reason
        watch.message = message
        if phase == "tests" and position < len(job.tests):
            watch.stopped_test = job.tests[position][0]
        return watch

    def next_deadline(now: float) -> float:
        if job.total_limit is not None:
            return tests_started + job.total_limit
        return now + job.test_limits[position] if position < len(job.tests) else now + 1.0

    while True:
        now = time.monotonic()
        if now >= deadline:
            what = {
                "startup": "starting the sandbox",
                "prepare": "reading the test inputs",
                "load": "loading the answer",
            }.get(
                phase,
                f"running test {job.tests[position][0]}" if position < len(job.tests) else "exit",
            )
            if phase in ("startup", "prepare"):
                return stop(
                    "startup", f"the sandbox did not start within {limits.startup_seconds}s"
                )
            return stop("timeout", f"time limit exceeded while {what}")
        ready, _, _ = select.select([result_fd], [], [], min(deadline - now, 0.05))
        if not ready:
            if process.poll() is not None:
                # The child is gone but something it started may hold the pipe open.
                exited_at = exited_at or time.monotonic()
                if time.monotonic() - exited_at > 0.2:
                    return stop("exited", exit_message(process.returncode))
            continue
        chunk = os.read(result_fd, 1 << 20)
        if not chunk:
            # The channel is closed: no more results can come. The child is given until
            # the deadline to exit (never longer: one that closed it and sleeps on is
            # killed after this returns).
            if process.wait(timeout=max(0.0, deadline - time.monotonic())) is None:
                return stop("protocol", "protocol: the answer closed the result channel")
            return stop("exited", exit_message(process.returncode))
        received += len(chunk)
        if received > limits.result_bytes:
            return stop(
                "protocol", "protocol: the answer's outputs exceed the result channel's cap"
            )
        buffer += chunk
        line_start = 0
        while True:
            if phase == "tests" and position < len(prefixes):
                # Lines that are exactly an expected output: recognised in place, in a
                # tight loop (no copy of the line, no parsing), the deadline set once.
                start, position = _matched_lines(buffer, line_start, prefixes, position, job, watch)
                if start != line_start:
                    line_start = scan_from = start
                    deadline = next_deadline(time.monotonic())
            newline = buffer.find(b"\n", scan_from)
            if newline < 0:
                break
            with memoryview(buffer) as view:  # one copy of the line, not two
                line = view[line_start:newline].tobytes()
            line_start = scan_from = newline + 1
            now = time.monotonic()
            # A result line is recognised by its header (index at most 18 digits) and
            # checked in full when decoded (``parse_result``); anything else must be a
            # well-formed control message (``parse_control``) or the child is stopped.
            header = _RESULT_HEADER.match(line)
            payload: Any = None
            if header is not None:
                kind, index = header.group(1).decode(), int(header.group(2))
            else:
                try:
                    kind, payload = parse_control(line)
                except ProtocolError as exc:
                    return stop("protocol", str(exc))
                index = -1
            if phase == "startup" and kind == "ready":
                watch.isolation = payload
                phase = "prepare"
                deadline = now + limits.startup_seconds + payload_bytes / 2_000_000
            elif phase == "prepare" and kind == "prepared":
                phase = "load"
                deadline = now + job.load_limit
            elif phase == "load" and kind == "loaded":
                phase = "tests"
                tests_started = now
                deadline = next_deadline(now)
            elif phase == "load" and kind == "load_error":
                watch.load_error = payload
                return stop("load_error", f"{payload[0]}: {payload[1]}")
            elif phase == "tests" and header is not None and position < len(job.tests):
                if index != job.tests[position][0]:
                    return stop(
                        "protocol", "protocol: results arrived out of order on the result channel"
                    )
                watch.raw_results.append(line)
                position += 1
                deadline = next_deadline(now)
            elif phase == "tests" and kind == "done" and position == len(job.tests):
                return watch
            else:
                return stop("protocol", f"protocol: unexpected {kind!r} on the result channel")
        del buffer[:line_start]
        scan_from = len(buffer)


_RESULT_HEADER = re.compile(rb'\["(ok|raise)","(0|[1-9][0-9]{0,17})",')


"""The start of a result line as the harness writes it: kind, then the test index
(decimal, no leading zero, at most 18 digits: ``int`` of it is cheap and never fails)."""


_INDEX = re.compile(r"0|[1-9][0-9]{0,17}")


UNREADABLE = "protocol: unreadable data on the result channel"


CONTROL_ARITY = {"ready": 2, "prepared": 1, "loaded": 1, "load_error": 3, "done": 1}


"""Every control message (a line that is not a result): its kind and how many items
its JSON list holds, all of them strings."""


LOAD_ERROR_CHARS = 2 * harness.MESSAGE_CHARS


"""A ``load_error``'s type and message are cut to this length (the harness cuts them
shorter; a longer one can only come from the answer)."""


class ProtocolError(ValueError):
    """A line on the result channel that is not the protocol; its text is the one-line
    reason (``SandboxResult.message``)."""


def _load_line(line: bytes) -> Any:
    """``json.loads`` of one line as UTF-8 (what the harness writes), any failure (bad
    UTF-8, bad JSON, nesting past the recursion limit) as ``ProtocolError``."""
    try:
        return json.loads(line.decode("utf-8", "surrogatepass"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ProtocolError(UNREADABLE) from None


def parse_control(line: bytes) -> tuple[str, Any]:
    """A control message, checked in full: ``(kind, payload)`` where the payload is the
    isolation dict for ``ready``, ``(type, message)`` for ``load_error``, else None.
    Anything else raises ``ProtocolError``: a wrong shape never reaches the caller."""
    message = _load_line(line)
    if type(message) is not list or not message or type(message[0]) is not str:
        raise ProtocolError(UNREADABLE)
    kind = message[0]
    arity = CONTROL_ARITY.get(kind)
    if arity is None:
        raise ProtocolError(f"protocol: unexpected {kind[:40]!r} on the result channel")
    if len(message) != arity or any(type(item) is not str for item in message[1:]):
        raise ProtocolError(f"protocol: malformed {kind!r} on the result channel")
    if kind == "ready":
        isolation = _load_line(message[1].encode("utf-8", "surrogatepass"))
        if type(isolation) is not dict:
            raise ProtocolError("protocol: malformed 'ready' on the result channel")
        return kind, isolation
    if kind == "load_error":
        return kind, (message[1][:LOAD_ERROR_CHARS], message[2][:LOAD_ERROR_CHARS])
    return kind, None


_OK_LINE_HEADS: list[bytes] = []


_OK_LINE_HEADS_LOCK = threading.Lock()


def _ok_line_heads(count: int) -> list[bytes]:
    """``["ok","N",`` as bytes for every test index N below ``count`` (made once per
    process, not per answer: HumanEval+ has 124,253 tests)."""
    if len(_OK_LINE_HEADS) < count:
        with _OK_LINE_HEADS_LOCK:
            _OK_LINE_HEADS.extend(
                f'["ok","{index:d}",'.encode() for index in range(len(_OK_LINE_HEADS), count)
            )
    return _OK_LINE_HEADS


def _matched_lines(
    buffer: bytearray,
    start: int,
    prefixes: list[tuple[bytes, bytes | memoryview] | None],
    position: int,
    job: SandboxJob,
    watch: Watch,
) -> tuple[int, int]:
    """From ``start``, take every complete line that is ``prefixes[position]``'s line
    start, then its expected text (then the next test's), then ``,"`` + seconds + ``"]``;
    record each in ``watch.matched``; return where the first other line (or an
    incomplete one) begins, and the position of its test."""
    while position < len(prefixes):
        prefix = prefixes[position]
        if prefix is None:
            break
        line_head, want = prefix
        text_start = start + len(line_head)
        field_start = text_start + len(want) + 2
        if not (
            buffer.startswith(line_head, start)
            and buffer.startswith(want, text_start)
            and buffer.startswith(b',"', field_start - 2)
        ):
            break
        newline = buffer.find(b"\n", field_start, field_start + 48)
        if newline < 0:
            break
        field = bytes(buffer[field_start:newline])
        if not field.endswith(b'"]'):
            break
        try:
            seconds = float(field[:-2])
        except ValueError:
            break
        if not 0.0 <= seconds < math.inf:  # NaN, infinite, negative: the full parser says no
            break
        watch.matched.append((job.tests[position][0], seconds))
        position += 1
        start = newline + 1
    return start, position


def decode_results(watch: Watch, job: SandboxJob) -> None:
    """Turn the raw result lines into outcomes; garbage stops at the first bad line."""
    from gradebench.engine.evaluation.compare import Opaque

    for line in watch.raw_results:
        if not job.decode_outputs and line.startswith(b'["ok",'):
            outcome = _text_outcome(line)
            if outcome is not None:
                watch.outcomes.append(outcome)
                continue
        try:
            watch.outcomes.append(parse_result(line, Opaque))
        except ProtocolError as exc:
            watch.stopped_test = None
            watch.stopped = "protocol"
            watch.message = str(exc)
            break
    watch.raw_results.clear()


def _text_outcome(line: bytes) -> TestOutcome | None:
    """The outcome of an ``ok`` line with its value left as text; None if malformed.
    Split at the header and at the last ``,"`` (the seconds field), with no regex over
    the value (it can be many megabytes)."""
    header = _RESULT_HEADER.match(line)
    if header is None or header.group(1) != b"ok" or not line.endswith(b'"]'):
        return None
    start = header.end()
    tail = line.rfind(b',"', start)
    if tail <= start:
        return None
    seconds = _seconds(line[tail + 2 : -2])
    text = line[start:tail]
    if seconds is None:
        return None
    if not text.isascii():  # the harness writes ASCII; anything else must be UTF-8
        try:
            text.decode("utf-8", "surrogatepass")
        except ValueError:
            return None
    return TestOutcome(index=int(header.group(2)), returned=True, seconds=seconds, text=text)


def _seconds(text: str | bytes) -> float | None:
    """A test's time as the harness writes it (a float's repr): finite and not
    negative, else None."""
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 0.0 <= seconds < math.inf else None


def parse_result(line: bytes, opaque: type | None = None) -> TestOutcome:
    """A result line, checked in full and its value decoded: ``["ok", index, value,
    seconds]`` or ``["raise", index, type, message, seconds]`` with the index a header
    ``_RESULT_HEADER`` accepts, strings where strings belong, seconds finite and not
    negative, and a value ``harness.decode_node`` reads. Anything else raises
    ``ProtocolError``."""
    message = _load_line(line)
    if type(message) is not list or not message:
        raise ProtocolError(UNREADABLE)
    kind = message[0]
    if not ((kind == "ok" and len(message) == 4) or (kind == "raise" and len(message) == 5)):
        raise ProtocolError(UNREADABLE)
    index, seconds = message[1], message[-1]
    if type(index) is not str or _INDEX.fullmatch(index) is None:
        raise ProtocolError(UNREADABLE)
    if type(seconds) is not str or (seconds := _seconds(seconds)) is None:
        raise ProtocolError(UNREADABLE)
    if kind == "raise":
        error_type, text = message[2], message[3]
        if type(error_type) is not str or type(text) is not str:
            raise ProtocolError(UNREADABLE)
        return TestOutcome(
            index=int(index),
            returned=False,
            error_type=error_type[:LOAD_ERROR_CHARS],
            message=text[:LOAD_ERROR_CHARS],
            seconds=seconds,
        )
    try:
        output = harness.decode_node(message[2], opaque)
    except Exception:  # any wrong shape, whatever the decoder trips on (RecursionError too)
        raise ProtocolError(UNREADABLE) from None
    return TestOutcome(index=int(index), returned=True, output=output, seconds=seconds)


def exit_message(code: int | None) -> str:
    if code is None:
        return "the answer's process ended early"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the answer's process was killed by {name}"
    return f"the answer's process exited with code {code} before finishing the tests"
