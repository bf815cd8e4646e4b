"""The reference's outputs as stored in ``expected_outputs.outputs``: one BLOB per problem
content, a header line then one tagged line per test (``=`` a plain encoded output, ``~``
one holding an opaque value or NaN, ``!`` an error message as JSON). Reading it is a scan
for newlines into views of the BLOB (no copy, no decoding); rows written by earlier
versions (two text forms, the oldest re-encoded with the harness's encoder, which is why
the codec lives beside the harness and not in ``store``) are still read. The table itself
is read and written by ``gradebench.engine.store.reference_outputs``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.compare import Opaque


class EncodedOutputs(Sequence):
    """The reference's outputs per test as the harness encoded them, all in one UTF-8
    buffer (the stored form, ``STORED_OUTPUTS_BLOB_HEADER``): item ``i`` is the text
    (``str``, decoded on request) or None where the reference gave no output.

    An answer's output is compared with ``view(i)`` (a slice of the buffer, no copy);
    ``plain(i)`` says whether the text holds neither an opaque value nor NaN, which
    decided once when the text was stored instead of on every load."""

    def __init__(
        self, data: bytes, starts: Sequence[int], ends: Sequence[int], plain: bytes
    ) -> None:
        self.data = data
        self._starts = starts
        self._ends = ends
        self._plain = plain
        self._buffer = memoryview(data)

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        start = self._starts[index]
        if start < 0:
            return None
        return self._buffer[start : self._ends[index]].tobytes().decode("utf-8", "surrogatepass")

    def view(self, index: int) -> memoryview | None:
        """Test ``index``'s text as UTF-8 bytes (a view into the buffer), or None."""
        start = self._starts[index]
        return None if start < 0 else self._buffer[start : self._ends[index]]

    def plain(self, index: int) -> bool:
        """True when test ``index`` has a text with no opaque value and no NaN."""
        return bool(self._plain[index])


def plain_text(text: bytes) -> bool:
    """No opaque value and no NaN in an encoded output (a string holding ``nan`` also
    counts as NaN here: such an output is then decoded and compared, never wrongly
    passed). ``["o`` can only be the opaque tag: inside a string a quote is escaped, and
    no other tag begins with ``o``; searched for by its rare last byte, it is a quick
    scan of texts that are mostly ``,`` ``"`` and ``[``."""
    return b'["o' not in text and b"nan" not in text


STORED_OUTPUTS_HEADER = "gradebench-outputs-2"


"""Text rows written by earlier versions (still read): a header line, then per test
the encoded output or the error as a JSON string."""


STORED_OUTPUTS_BLOB_HEADER = b"gradebench-outputs-3\n"
_OUTPUT_PLAIN, _OUTPUT_MARKED, _OUTPUT_ERROR = b"=", b"~", b"!"


def encode_stored_outputs(
    encoded: Sequence[str | bytes | None], errors: Sequence[str | None]
) -> bytes:
    """The reference's outputs as stored (a BLOB): ``STORED_OUTPUTS_BLOB_HEADER``, then
    one line per test: ``=`` and the output's encoded text (JSON, never a raw newline),
    ``~`` and the text when it holds an opaque value or NaN (so it is never matched
    by its text alone), or ``!`` and the error message as a JSON string when the
    reference gave no output. Loading it is a scan for newlines, no copy, no decoding."""
    parts = [STORED_OUTPUTS_BLOB_HEADER]
    for text, error in zip(encoded, errors, strict=True):
        if error is not None or text is None:
            message = error if error is not None else "no output"
            parts += (_OUTPUT_ERROR, json.dumps(message).encode("utf-8"), b"\n")
        else:
            data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
            parts += (_OUTPUT_PLAIN if plain_text(data) else _OUTPUT_MARKED, data, b"\n")
    return b"".join(parts)


def read_stored_outputs(stored: bytes | str) -> tuple[EncodedOutputs, list[str | None]]:
    """(the encoded outputs, error or None per test) from a stored value of any version;
    ``ValueError`` when it is damaged."""
    if isinstance(stored, str) or not stored.startswith(STORED_OUTPUTS_BLOB_HEADER):
        text = stored if isinstance(stored, str) else stored.decode("utf-8", "surrogatepass")
        encoded, errors = _parse_stored_outputs(text)
        stored = encode_stored_outputs(encoded, errors)
    starts: list[int] = []
    ends: list[int] = []
    plain = bytearray()
    errors = []
    position, size, find = len(STORED_OUTPUTS_BLOB_HEADER), len(stored), stored.find
    plain_tag, marked_tag, error_tag = _OUTPUT_PLAIN[0], _OUTPUT_MARKED[0], _OUTPUT_ERROR[0]
    while position < size:
        end = find(b"\n", position)
        if end < 0:
            raise ValueError("stored outputs: last line unterminated")
        tag = stored[position]
        if tag in (plain_tag, marked_tag):
            starts.append(position + 1)
            ends.append(end)
            plain.append(tag == plain_tag)
            errors.append(None)
        elif tag == error_tag:
            starts.append(-1)
            ends.append(-1)
            plain.append(0)
            errors.append(str(json.loads(stored[position + 1 : end])))
        else:
            raise ValueError(f"stored outputs: unknown line tag {tag!r}")
        position = end + 1
    return EncodedOutputs(stored, starts, ends, bytes(plain)), errors


def _parse_stored_outputs(stored: str) -> tuple[list[str | None], list[str | None]]:
    """(encoded output or None, error or None) per test, from either text form of
    earlier versions."""
    encoded: list[str | None] = []
    errors: list[str | None] = []
    if stored.startswith(STORED_OUTPUTS_HEADER + "\n") or stored == STORED_OUTPUTS_HEADER:
        for line in stored.split("\n")[1:]:
            if line.startswith('"'):
                encoded.append(None)
                errors.append(str(json.loads(line)))
            else:
                encoded.append(line)
                errors.append(None)
        return encoded, errors
    for item in json.loads(stored):  # rows written by earlier versions: a JSON list
        if isinstance(item, dict) and "error" in item:
            encoded.append(None)
            errors.append(str(item.get("error")))
        elif isinstance(item, dict):  # {"v": encoded text}
            encoded.append(str(item["v"]))
            errors.append(None)
        else:  # a decoded node
            encoded.append(harness.encode(harness.decode_node(item, Opaque)))
            errors.append(None)
    return encoded, errors
