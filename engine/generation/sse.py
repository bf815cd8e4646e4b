"""Server-sent events: an incremental parser for what a streaming chat server sends.

A server's stream is untrusted input. ``SSEParser.feed(chunk)`` takes bytes in pieces
of any size (split anywhere, even inside a UTF-8 character or between ``\\r`` and
``\\n``) and returns the events completed so far; ``finish()`` ends the stream. The
rules are the WHATWG event-stream ones, cut to what chat servers use:

- lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r``; a blank line dispatches the
  event built from the lines before it;
- ``field: value`` (one optional space after the colon is dropped), ``field`` alone
  (empty value); a line starting with ``:`` is a comment (``SSEEvent`` never sees it);
- several ``data`` lines join with ``\\n``; ``event`` names the event (default
  ``message``); ``id`` and ``retry`` are kept; other fields are ignored;
- an event with no ``data`` line is not dispatched (as in browsers);
- ``data: [DONE]`` (the OpenAI end marker) is an ordinary event: ``SSEEvent.done``.

Anything that cannot be an event stream raises ``SSEError`` (one line): bytes that are
not UTF-8, a NUL byte, a line longer than ``max_line`` characters, an event larger
than ``max_event`` characters. The parser raises nothing else, whatever it is fed.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

MAX_LINE = 1 << 20
MAX_EVENT = 4 << 20
DONE = "[DONE]"


class SSEError(ValueError):
    """The bytes are not a server-sent-event stream (one line saying why)."""


@dataclass(frozen=True)
class SSEEvent:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None

    @property
    def done(self) -> bool:
        """The OpenAI stream's end marker, ``data: [DONE]``."""
        return self.data.strip() == DONE


class SSEParser:
    """Bytes in (any split), events out; see the module docstring."""

    def __init__(self, max_line: int = MAX_LINE, max_event: int = MAX_EVENT) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._buffer = ""
        self._pending_cr = False
        self._data: list[str] = []
        self._data_size = 0
        self._event = ""
        self._id: str | None = None
        self._retry: int | None = None
        self._first = True
        self.max_line = max_line
        self.max_event = max_event

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``."""
        try:
            text = self._decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise SSEError(f"stream is not UTF-8 ({exc.reason} at byte {exc.start})") from None
        return self._feed_text(text)

    def finish(self) -> list[SSEEvent]:
        """The stream ended: a last line without its newline still counts; an event
        without its blank line is dropped (it may be cut short)."""
        try:
            text = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SSEError("stream ends inside a UTF-8 character") from None
        events = self._feed_text(text)
        if self._buffer:
            self._line(self._buffer)
            self._buffer = ""
        return events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        if "\x00" in text:
            raise SSEError("stream contains a NUL byte")
        if self._first and text:
            self._first = False
            text = text.removeprefix("\ufeff")
        events: list[SSEEvent] = []
        if self._pending_cr and text:
            self._pending_cr = False
            if text.startswith("\n"):  # the second half of a \r\n split across chunks
                text = text[1:]
        buffer = self._buffer + text
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr < 0 and lf < 0:
                break
            end = lf if cr < 0 else cr if lf < 0 else min(cr, lf)
            line = buffer[start:end]
            if len(line) > self.max_line:
                raise SSEError(f"a line longer than {self.max_line} characters")
            if buffer[end] == "\r":
                if end + 1 < length:
                    start = end + 2 if buffer[end + 1] == "\n" else end + 1
                else:
                    start = end + 1
                    self._pending_cr = True
            else:
                start = end + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = buffer[start:]
        if len(self._buffer) > self.max_line:
            raise SSEError(f"a line longer than {self.max_line} characters")
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._data_size += len(value) + 1
            if self._data_size > self.max_event:
                raise SSEError(f"an event larger than {self.max_event} characters")
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = ""
            return None
        event = SSEEvent(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._id,
            retry=self._retry,
        )
        self._data = []
        self._data_size = 0
        self._event = ""
        return event


def parse_all(payload: bytes) -> list[SSEEvent]:
    """Every event of a complete stream (for tests and small bodies)."""
    parser = SSEParser()
    return [*parser.feed(payload), *parser.finish()]
