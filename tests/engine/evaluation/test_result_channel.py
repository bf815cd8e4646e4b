"""The result channel read as hostile input: the parsers, and real children that write
garbage on every descriptor they hold.

The only outcomes allowed are a correct reading or ``ProtocolError`` (parsers), and a
result with a correct verdict or a stop (sandbox): never an exception, a hang past
the deadline, or every test passed for outputs that are wrong.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.compare import Opaque
from gradebench.engine.evaluation.evaluator import Evaluator
from gradebench.engine.evaluation.result_channel import (
    CONTROL_ARITY,
    ProtocolError,
    parse_control,
    parse_result,
)
from gradebench.engine.evaluation.sandbox import run_in_sandbox
from gradebench.engine.evaluation.sandbox_job import (
    SandboxJob,
    SandboxLimits,
    SandboxResult,
    TestOutcome,
)
from tests.garbage import CLOSE_EVERYTHING, GARBAGE, HUGE, double_problem, spraying_answer

# ---------------------------------------------------------------- strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=30,
)
"""Any JSON value, NaN and infinities included."""

protocol_words = st.sampled_from(
    [
        *CONTROL_ARITY,
        "ok",
        "raise",
        "0",
        "1",
        "00",
        "-1",
        "0.5",
        "nan",
        "inf",
        "1e400",
        "{}",
        "[]",
        "n",
        "i",
        "s",
        "l",
        "d",
        "o",
        "*f",
        "0x2",
    ]
)

shaped_values = st.recursive(
    json_values | protocol_words,
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=20,
)
"""JSON values built mostly from the protocol's own words, so shapes come near the real
ones (a kind, an index, a tag) more often than arbitrary JSON does."""

shaped_messages = st.builds(
    lambda kind, rest: [kind, *rest],
    protocol_words,
    st.lists(shaped_values, max_size=5),
)

plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=5).map(tuple)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=25,
)
"""Values the harness encodes exactly (no NaN: it never equals itself)."""


def ok_line(index: int, value: object, seconds: str = "0.001") -> bytes:
    return f'["ok","{index}",{harness.encode(value)},"{seconds}"]'.encode()


@st.composite
def corrupted(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one random cut, insertion or replacement spliced in."""
    at = draw(st.integers(0, len(data)))
    cut = draw(st.integers(0, 12))
    insert = draw(st.binary(max_size=12) | st.sampled_from([b"\n", b'"', b"[", b"]", b","]))
    return data[:at] + insert + data[at + cut :]


def stream(values: list[object], *, loaded: bool = True) -> bytes:
    """What the harness writes after loading, for these outputs of tests 0, 1, 2 ..."""
    lines = [b'["loaded"]'] if loaded else []
    lines += [ok_line(index, value) for index, value in enumerate(values)]
    return b"\n".join([*lines, b'["done"]']) + b"\n"


# ---------------------------------------------------------------- the parsers


def check_parsed(line: bytes) -> None:
    """Whichever parser applies to ``line`` reads it correctly typed or says no."""
    try:
        kind, payload = parse_control(line)
    except ProtocolError as exc:
        assert str(exc).startswith("protocol: ")
    else:
        assert kind in CONTROL_ARITY
        if kind == "ready":
            assert type(payload) is dict
        elif kind == "load_error":
            assert type(payload) is tuple and all(type(p) is str for p in payload)
        else:
            assert payload is None
    try:
        outcome = parse_result(line, Opaque)
    except ProtocolError as exc:
        assert str(exc).startswith("protocol: ")
    else:
        assert type(outcome) is TestOutcome
        assert type(outcome.index) is int and 0 <= outcome.index < 10**18
        assert type(outcome.seconds) is float and 0.0 <= outcome.seconds < math.inf
        assert type(outcome.error_type) is str and type(outcome.message) is str


def test_every_message_the_harness_writes_is_read_back():
    assert parse_control(b'["ready","{\\"uid\\": 5}"]') == ("ready", {"uid": 5})
    for kind in ("prepared", "loaded", "done"):
        assert parse_control(f'["{kind}"]'.encode()) == (kind, None)
    assert parse_control(b'["load_error","NameError","f is not defined"]') == (
        "load_error",
        ("NameError", "f is not defined"),
    )
    outcome = parse_result(b'["raise","7","ValueError","bad","0.25"]')
    assert (outcome.index, outcome.returned, outcome.error_type, outcome.message) == (
        7,
        False,
        "ValueError",
        "bad",
    )
    assert outcome.seconds == 0.25


@given(plain_values, st.integers(0, 10**6))
def test_an_encoded_output_is_read_back_exactly(value, index):
    outcome = parse_result(ok_line(index, value), Opaque)
    assert (outcome.index, outcome.returned, outcome.output) == (index, True, value)
    assert type(outcome.output) is type(value)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_read_correctly_or_refused(data):
    check_parsed(data)


@given(json_values)
def test_arbitrary_json_values_are_read_correctly_or_refused(value):
    check_parsed(json.dumps(value).encode())


@given(shaped_messages)
def test_near_protocol_shapes_are_read_correctly_or_refused(message):
    check_parsed(json.dumps(message).encode())


@given(st.data())
def test_a_valid_stream_with_corruption_spliced_in_is_read_correctly_or_refused(data):
    values = data.draw(st.lists(plain_values, min_size=1, max_size=4))
    for line in data.draw(corrupted(stream(values))).split(b"\n"):
        check_parsed(line)


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_each_kind_of_garbage_is_read_correctly_or_refused(kind):
    for line in GARBAGE[kind].split(b"\n"):
        check_parsed(line)


@pytest.mark.parametrize(
    "line",
    [
        b"[" * 200_000,
        b'["ok","0",' + b'["l",[' * 20_000 + b"]]" * 20_000 + b',"0.0"]',
        b'["ready","' + b"[" * 200_000 + b'"]',
        b'["ok","0",["s","\xff"],"0.0"]',
        b'["ok","0",["i","0x2"],NaN]',
        b'["ok","0",["i","0x2"],"Infinity"]',
        b'["ok","' + b"1" * 5000 + b'",["i","0x2"],"0.0"]',
        b'["ok","0",["i","0x2"],"0.0",1]',
        b'{"0": "ok"}',
        b"\x00\x00",
    ],
    ids=[
        "nesting",
        "deep-value",
        "deep-isolation",
        "utf8",
        "nan",
        "infinity",
        "huge-index",
        "extra-item",
        "object",
        "nul",
    ],
)
def test_malformed_lines_are_protocol_errors(line):
    for parse in (parse_control, parse_result):
        with pytest.raises(ProtocolError):
            parse(line)


# ---------------------------------------------------------------- real children

INPUTS = (1, 2, 3)


def double_job(code: str) -> SandboxJob:
    """``double`` on three inputs, the expected texts given as an answer's job has them
    (so the in-place match of expected outputs is exercised too)."""
    return SandboxJob(
        code=code,
        entry_point="double",
        tests=tuple(enumerate((x,) for x in INPUTS)),
        test_limits=(2.0,) * len(INPUTS),
        load_limit=3.0,
        expected_encoded=tuple(harness.encode(2 * x).encode() for x in INPUTS),
    )


def all_passed(result: SandboxResult) -> bool:
    """Whether every test's output was the right one (by text or by value)."""
    right = {index for index, _ in result.matched}
    right |= {o.index for o in result.outcomes if o.returned and o.output == 2 * INPUTS[o.index]}
    return right == set(range(len(INPUTS)))


def check_result(result: SandboxResult) -> None:
    """A result the caller can use as it is: known stop, each test at most once."""
    assert result.stopped in (None, "startup", "load_error", "timeout", "exited", "protocol")
    seen = [index for index, _ in result.matched] + [o.index for o in result.outcomes]
    assert len(seen) == len(set(seen)) and set(seen) <= set(range(len(INPUTS)))
    assert result.stopped is not None or len(seen) == len(INPUTS)
    assert len(result.message) < 10_000


garbage_bytes = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode() + b"\n"),
    shaped_messages.map(lambda m: json.dumps(m).encode() + b"\n"),
    st.lists(plain_values, min_size=1, max_size=3).flatmap(lambda v: corrupted(stream(v))),
    st.lists(
        st.sampled_from([b'["ready","{}"]', b'["prepared"]', b'["loaded"]', b'["done"]'])
        | st.builds(lambda i: ok_line(i, "no"), st.integers(0, 3)),
        max_size=6,
    ).map(lambda lines: b"".join(line + b"\n" for line in lines)),
)
"""What a hostile answer writes: bytes, JSON, near-protocol shapes, a whole stream of
wrong outputs with a splice of corruption, valid messages in any order."""

child_settings = settings(
    max_examples=30, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@child_settings
@given(garbage_bytes, st.sampled_from(["load", "call"]))
def test_a_child_writing_garbage_then_wrong_outputs_never_passes(garbage, when):
    result = run_in_sandbox(double_job(spraying_answer(garbage, when=when, right=False)))
    check_result(result)
    assert not all_passed(result)


@child_settings
@given(garbage_bytes, st.sampled_from(["load", "call"]))
def test_a_child_writing_garbage_then_right_outputs_gets_a_result(garbage, when):
    check_result(run_in_sandbox(double_job(spraying_answer(garbage, when=when, right=True))))


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_each_kind_of_garbage_on_every_descriptor_is_at_worst_a_protocol_stop(kind):
    result = run_in_sandbox(double_job(spraying_answer(GARBAGE[kind], when="call", right=False)))
    check_result(result)
    assert not all_passed(result)
    assert result.stopped == "protocol", result.message
    assert result.message.startswith("protocol: ")


def test_a_line_longer_than_the_result_cap_stops_the_child():
    code = spraying_answer(GARBAGE["huge_line"], when="call", right=True)
    result = run_in_sandbox(double_job(code), SandboxLimits(result_bytes=HUGE // 4))
    assert result.stopped == "protocol"
    assert "cap" in result.message


def test_a_child_that_closes_every_descriptor_and_returns_is_stopped():
    result = run_in_sandbox(double_job(CLOSE_EVERYTHING["close_all_then_return"]))
    check_result(result)
    assert result.stopped in ("exited", "protocol")
    assert not all_passed(result)


def test_a_child_that_closes_the_result_channel_and_sleeps_is_not_waited_for():
    # Before: the parent waited for the child to exit, here for ten minutes.
    result = run_in_sandbox(double_job(CLOSE_EVERYTHING["close_all_then_sleep"]))
    assert result.stopped == "protocol"
    assert "closed the result channel" in result.message


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(garbage_bytes, st.sampled_from(["load", "call"]), st.booleans())
def test_the_evaluator_gives_every_garbage_writer_a_verdict_and_wrong_ones_never_pass(
    garbage, when, right
):
    evaluator = _EVALUATOR
    execution = evaluator.evaluate(
        double_problem(), spraying_answer(garbage, when=when, right=right)
    )
    assert execution.verdict in ("pass", "fail", "error", "timeout", "memory")
    assert execution.internal_error == ""
    if not right:
        assert execution.verdict != "pass"


_EVALUATOR = Evaluator(min_time_limit=1.0)
