"""Garbage an answer can write on the descriptors it inherited, one kind per entry, and
answers that write it; shared by the result-channel tests and the hostile answers.

Every kind is something the parent must survive: a verdict for that answer (``error``
at worst), never an exception, a hang past the deadline, or a ``pass`` for wrong
outputs.
"""

from __future__ import annotations

from gradebench.engine.problems.model import Problem, TestCase

HUGE = 8 << 20
"""Bytes in the longest garbage line (no newline)."""

GARBAGE: dict[str, bytes] = {
    "json_object": b'{"a": 1}\n',
    "json_number": b"12345\n",
    "json_string": b'"done"\n',
    "json_null": b"null\n",
    "json_true": b"true\n",
    "empty_list": b"[]\n",
    "nested_lists": b'[["ok"],["done"]]\n',
    "short_ok": b'["ok","0"]\n',
    "short_load_error": b'["load_error"]\n',
    "wrong_types": b'["ok",0,["i","0x2"],0.0]\n',
    "kind_not_a_string": b'[1,"0",["i","0x2"],"0.0"]\n',
    "unknown_kind": b'["pass","0"]\n',
    "unknown_test": b'["ok","99999",["i","0x2"],"0.0"]\n',
    "leading_zero_index": b'["ok","00",["i","0x2"],"0.0"]\n',
    "huge_index": b'["ok","' + b"9" * 5000 + b'",["i","0x2"],"0.0"]\n',
    "malformed_value": b'["ok","0",{"i":"0x2"},"0.0"]\n',
    "unhashable_key": b'["ok","0",["d",[[["l",[]],["n"]]]],"0.0"]\n',
    "phase_repeated": b'["ready","{}"]\n["prepared"]\n["loaded"]\n["loaded"]\n',
    "phase_out_of_order": b'["done"]\n["loaded"]\n["prepared"]\n',
    "ready_not_json": b'["ready","{not json"]\n',
    "ready_a_list": b'["ready","[1, 2]"]\n',
    "deep_nesting": b"[" * 200_000 + b"\n",
    "deep_value": b'["ok","0",' + b'["l",[' * 20_000 + b"]]" * 20_000 + b',"0.0"]\n',
    "deep_value_900": b'["ok","0",' + b'["l",[' * 900 + b"]]" * 900 + b',"0.0"]\n',
    "invalid_utf8": b'["ok","0",["s","\xff\xfe\xc3"],"0.0"]\n',
    "nul_bytes": b"\x00" * 4096 + b"\n",
    "nan": b'["ok","0",["f",NaN],NaN]\n',
    "infinity": b'["ok","0",["i","0x2"],"Infinity"]\n',
    "negative_seconds": b'["ok","0",["i","0x2"],"-1.0"]\n',
    "huge_line": b"x" * HUGE,
    "forged_all_wrong": b'["loaded"]\n["ok","0",["s","no"],"0.0"]\n["ok","1",["s","no"],"0.0"]\n'
    b'["ok","2",["s","no"],"0.0"]\n["done"]\n',
}
"""Each kind of garbage the issue names (and a few neighbours), as the bytes written."""


def spraying_answer(garbage: bytes, *, when: str, right: bool, entry: str = "double") -> str:
    """An answer to ``double(x) -> 2 * x`` that writes ``garbage`` on every descriptor it
    holds (``/proc/self/fd``: stdout, stderr, the result channel, whatever else), at
    module load (``when="load"``) or during its first call (``"call"``), then returns
    the right value (``right``) or a wrong one."""
    value = "2 * x" if right else "-x - 1"
    spray = "_spray()\n" if when == "load" else ""
    call = "    global _sprayed\n    if not _sprayed:\n        _sprayed = True\n        _spray()\n"
    return (
        "import os\n"
        f"_GARBAGE = bytes.fromhex({garbage.hex()!r})\n"
        "_sprayed = False\n"
        "def _spray():\n"
        '    for name in os.listdir("/proc/self/fd"):\n'
        "        try:\n"
        "            os.write(int(name), _GARBAGE)\n"
        "        except OSError:\n"
        "            pass\n"
        f"{spray}"
        f"def {entry}(x):\n"
        f"{call if when == 'call' else ''}"
        f"    return {value}\n"
    )


CLOSE_EVERYTHING = {
    "close_all_then_return": "import os\nos.closerange(0, 1 << 16)\n"
    "def double(x):\n    return 2 * x\n",
    "close_all_then_sleep": "import os, time\ndef double(x):\n"
    "    os.closerange(0, 1 << 16)\n    time.sleep(600)\n    return 2 * x\n",
}
"""Answers that close every descriptor before they answer (and one that then waits)."""


def double_problem() -> Problem:
    return Problem(
        id="hostile/double",
        suite="hostile",
        title="Double",
        difficulty="easy",
        statement="Return 2 * x.",
        entry_point="double",
        signature="def double(x: int) -> int:",
        reference="def double(x):\n    return 2 * x\n",
        tests=(TestCase(args=(1,), expected=2), TestCase(args=(2,)), TestCase(args=(3,))),
    )
