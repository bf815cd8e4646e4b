"""What an answer's outputs are compared with: the reference's outputs and times per test
(``ExpectedOutputs``), the content key they are cached under, and the test inputs in the
form they travel to the child (made once per problem content).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.compare import Opaque
from gradebench.engine.evaluation.sandbox import prepare_args
from gradebench.engine.evaluation.stored_outputs import EncodedOutputs
from gradebench.engine.problems.model import MISSING, Problem, TestCase


@dataclass(frozen=True)
class ExpectedOutputs:
    """The reference's output and time per test, in ``problem.tests`` order."""

    outputs: tuple[Any, ...]
    seconds: tuple[float | None, ...]
    errors: tuple[str | None, ...]
    """Why the reference produced no output for a test (None where it did)."""
    complete: bool = True
    """False when the reference run was stopped (then nothing is cached in the DB)."""
    encoded: EncodedOutputs | None = None
    """Each output as ``harness.encode`` writes it (None with an error): an answer whose
    output arrives as the same text passes without decoding (``Evaluator.match_texts``)."""


class LazyOutputs(Sequence):
    """Expected outputs decoded from their encoded text on first use (most never are:
    a matching answer is recognised by its text)."""

    def __init__(self, encoded: Sequence[str | None]) -> None:
        self._encoded = encoded
        self._decoded: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self._encoded)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        if index not in self._decoded:
            text = self._encoded[index]
            self._decoded[index] = None if text is None else harness.decode(text, Opaque)
        return self._decoded[index]


def canonical(node: Any) -> Any:
    """Encoded data with set items sorted, so equal tests hash equally in every process."""
    if isinstance(node, list) and node and node[0] in ("S", "F"):
        return [node[0], sorted((canonical(x) for x in node[1]), key=json.dumps)]
    if isinstance(node, list):
        return [canonical(x) for x in node]
    return node


_NOT_PLAIN_PICKLE = re.compile(b"[\x82-\x84\x8f-\x91\x93]")


"""Pickle (protocol 5) opcodes of a global lookup (STACK_GLOBAL, EXT1/2/4) and of sets.
A pickle without any of these bytes holds only plain data in a fixed order, so its
bytes can name the inputs and be unpickled in the child with no global lookup. The
bytes may also occur inside data; then the slower, exact path is taken."""


def prepared_inputs(problem: Problem) -> tuple[str, tuple[tuple[str, bytes | str], ...]]:
    """(content hash of everything that decides the reference's outputs, how each test's
    args travel to the child), in one pass over the tests.

    Args whose pickle is plain data are named by the pickle itself (C speed); the
    others (complex numbers, sets, anything that is not plain data) by their encoded
    text with set items in canonical order, and travel as ``prepare_args`` says."""
    parts: list[bytes] = []
    prepared: list[tuple[str, bytes | str]] = []
    for test in problem.tests:
        data = pickle.dumps(test.args, protocol=5)
        if _NOT_PLAIN_PICKLE.search(data) is None:
            prepared.append(("pickle", data))
            parts.append(b"p" + data)
            continue
        text = harness.encode(test.args)
        prepared.append(prepare_args(test.args, text))
        if '["S",' in text or '["F",' in text:
            text = json.dumps(canonical(json.loads(text)))
        parts.append(b"e" + text.encode("utf-8", "surrogatepass"))
    digest = hashlib.sha256()
    for part in (
        harness.PROTOCOL,
        problem.kind,
        problem.entry_point,
        repr(problem.take),
        problem.reference,
    ):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    for part in parts:
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest(), tuple(prepared)


def expected_key(problem: Problem) -> str:
    """Content hash of everything that decides the reference's outputs."""
    return prepared_inputs(problem)[0]


def expected_for(test: TestCase, expected: ExpectedOutputs, index: int) -> tuple[Any, str | None]:
    if test.expected is not MISSING:
        return test.expected, None
    try:
        return expected.outputs[index], expected.errors[index]
    except (ValueError, RecursionError):  # the reference's output text does not decode
        return None, "the reference's output could not be read"
