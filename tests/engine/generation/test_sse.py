"""The server-sent-events parser: what a streaming server sends is untrusted input.

Properties (hypothesis): any split of a byte stream gives the same events as feeding it
whole; any bytes at all give events or ``SSEError``, never another exception. Examples
pin the rules chat servers rely on (``[DONE]``, comments, multi-line data, CRLF).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gradebench.engine.generation.sse import SSEError, SSEEvent, SSEParser, parse_all


def feed_in_pieces(payload: bytes, cuts: list[int]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    previous = 0
    for cut in sorted({c % (len(payload) + 1) for c in cuts}):
        events += parser.feed(payload[previous:cut])
        previous = cut
    events += parser.feed(payload[previous:])
    events += parser.finish()
    return events


LINE = st.one_of(
    st.builds(lambda v: f"data: {v}", st.text(st.characters(blacklist_characters="\r\n\x00"))),
    st.builds(lambda v: f"data:{v}", st.sampled_from(["[DONE]", '{"a": 1}', "", " x"])),
    st.builds(lambda v: f": {v}", st.text(st.characters(blacklist_characters="\r\n\x00"))),
    st.sampled_from(["", "", "event: delta", "id: 7", "retry: 100", "data", "weird", "é: ü"]),
)
ENDING = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def event_streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(LINE, ENDING), max_size=30))
    text = "".join(line + end for line, end in lines)
    return text.encode("utf-8")


@given(event_streams(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_split_of_the_stream_gives_the_same_events(payload: bytes, cuts: list[int]) -> None:
    whole = parse_all(payload)
    assert feed_in_pieces(payload, cuts) == whole
    one_byte_at_a_time = SSEParser()
    events = [e for i in range(len(payload)) for e in one_byte_at_a_time.feed(payload[i : i + 1])]
    assert [*events, *one_byte_at_a_time.finish()] == whole


@given(st.binary(max_size=400), st.lists(st.integers(min_value=0, max_value=500), max_size=6))
def test_garbage_gives_events_or_a_parse_error_never_anything_else(
    payload: bytes, cuts: list[int]
) -> None:
    try:
        events = feed_in_pieces(payload, cuts)
    except SSEError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(isinstance(e.data, str) for e in events)


def test_an_openai_stream_with_comments_crlf_and_done() -> None:
    payload = (
        b": keep-alive\r\n\r\n"
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\r\n\r\n'
        b"event: note\r\ndata: first\r\ndata: second\r\n\r\n"
        b"data: [DONE]\r\n\r\n"
    )
    events = parse_all(payload)
    assert [e.data for e in events] == [
        '{"choices":[{"delta":{"content":"Hi"}}]}',
        "first\nsecond",
        "[DONE]",
    ]
    assert [e.event for e in events] == ["message", "note", "message"]
    assert [e.done for e in events] == [False, False, True]


def test_one_space_after_the_colon_is_dropped_and_only_one() -> None:
    assert [e.data for e in parse_all(b"data:  two\n\ndata:none\n\n")] == [" two", "none"]


def test_an_event_without_its_blank_line_at_the_end_is_dropped() -> None:
    assert parse_all(b"data: complete\n\ndata: cut short") == [SSEEvent("complete")]


def test_a_cr_lf_split_across_chunks_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == [SSEEvent("a")]
    assert parser.feed(b"\ndata: b\n\n") == [SSEEvent("b")]


def test_a_utf8_character_split_across_chunks_is_kept_whole() -> None:
    encoded = "data: héllo\n\n".encode()
    parser = SSEParser()
    cut = encoded.index(b"\xc3") + 1
    assert parser.feed(encoded[:cut]) == []
    assert parser.feed(encoded[cut:]) == [SSEEvent("héllo")]


def test_bytes_that_are_not_utf8_are_a_one_line_parse_error() -> None:
    parser = SSEParser()
    try:
        parser.feed(b"data: \xff\xfe\n\n")
    except SSEError as exc:
        assert "not UTF-8" in str(exc)
    else:
        raise AssertionError("no SSEError")


def test_an_endless_line_is_a_parse_error_not_a_memory_leak() -> None:
    parser = SSEParser(max_line=100)
    try:
        for _ in range(10):
            parser.feed(b"data: " + b"x" * 50)
    except SSEError as exc:
        assert "longer than 100" in str(exc)
    else:
        raise AssertionError("no SSEError")
