"""The fast paths of ``harness.make_encoder`` write exactly the text of a plain walk.

The encoder finds runs of ints and floats with one identity pass and packs long float
runs at C speed; long ASCII strings with nothing to escape are copied instead of escaped.
These tests compare it, on fixed-seed random values and on hand-picked edge cases, with
``reference_encode`` below: a straightforward item-by-item walk of the same format (see
the module docstring of ``engine/evaluation/harness.py``), and check that no code of the values'
classes (or metaclasses) runs while encoding.
"""

from __future__ import annotations

import builtins
import itertools
import json
import math
import operator
import random
import struct

import pytest

from gradebench.engine.evaluation import harness

N = harness.FLAT_MIN_ITEMS
LONG = harness.PLAIN_STR_MIN_CHARS
ESCAPE = json.encoder.encode_basestring_ascii
NAME = type.__dict__["__name__"].__get__


def reference_encode(value: object) -> str:
    """The wire text of ``value``, item by item, with exact type checks (``is``)."""

    def walk(v: object) -> str:
        t = type(v)
        if t is type(None):
            return '["n"]'
        if t is bool:
            return '["b","1"]' if v else '["b","0"]'
        if t is int:
            return '["i",' + ESCAPE(hex(v)) + "]"
        if t is float:
            return '["f",' + ESCAPE(v.hex()) + "]"
        if t is complex:
            return '["c",' + ESCAPE(v.real.hex()) + "," + ESCAPE(v.imag.hex()) + "]"
        if t is str:
            return '["s",' + ESCAPE(v) + "]"
        if t is bytes:
            return '["y",' + ESCAPE(v.hex()) + "]"
        if t is list or t is tuple or t is set or t is frozenset:
            tag = "l" if t is list else "t" if t is tuple else "S" if t is set else "F"
            items = list(v)
            numeric = all(type(x) is int or type(x) is float for x in items)
            if (t is list or t is tuple) and len(items) >= N and numeric:
                texts = []
                for is_float, group in itertools.groupby(items, key=lambda x: type(x) is float):
                    run = list(group)
                    if is_float and len(run) >= N and not any(math.isnan(x) for x in run):
                        packed = b"".join(struct.pack("<d", x) for x in run)
                        texts.append('["*f","' + packed.hex() + '"]')
                    else:
                        texts.extend(walk(x) for x in run)
                return '["' + tag + '",[' + ",".join(texts) + "]]"
            return '["' + tag + '",[' + ",".join(walk(x) for x in items) + "]]"
        if t is dict:
            pairs = ("[" + walk(k) + "," + walk(x) + "]" for k, x in v.items())
            return '["d",[' + ",".join(pairs) + "]]"
        return '["o",' + ESCAPE(NAME(t)) + ',""]'

    return walk(value)


class MyInt(int):
    pass


class MyFloat(float):
    pass


class MyStr(str):
    pass


SPECIAL_FLOATS = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1e-310, 1.7976931348623157e308]
SPECIAL_INTS = [0, -1, 1, 2**31, -(2**63), 2**1023, 2**1100, -(10**400)]
SPECIAL_STRS = [
    "",
    "plain words 123",
    'a "quoted" word',
    "back\\slash",
    "tab\tnewline\n",
    "\x00\x1f\x7f",
    "caf\u00e9",
    "\u2603 snow",
    "\U0001f600",
    "lone \ud800 surrogate",
]


def random_scalar(rng: random.Random, kind: str) -> object:
    if kind == "int":
        return rng.choice(SPECIAL_INTS) if rng.random() < 0.2 else rng.randint(-(10**6), 10**6)
    if kind == "float":
        return rng.choice(SPECIAL_FLOATS) if rng.random() < 0.1 else rng.uniform(-1e6, 1e6)
    if kind == "str":
        if rng.random() < 0.3:
            return rng.choice(SPECIAL_STRS)
        return "".join(rng.choice("abc xyz019.,;") for _ in range(rng.randint(0, 12)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "myint":
        return MyInt(rng.randint(-5, 5))
    if kind == "myfloat":
        return MyFloat(rng.random())
    return MyStr(rng.choice(SPECIAL_STRS))


def random_sequence(rng: random.Random) -> list:
    """Runs of one kind each, so run boundaries and lengths around FLAT_MIN_ITEMS occur."""
    kinds = ["int", "float"] if rng.random() < 0.7 else ["int", "float", "str"]
    if rng.random() < 0.3:
        kinds.append(rng.choice(["bool", "none", "myint", "myfloat", "mystr"]))
    items: list = []
    for _ in range(rng.randint(0, 4)):
        kind = rng.choice(kinds)
        length = rng.choice([1, 2, N - 1, N, N + 1, rng.randint(0, 3 * N)])
        items.extend(random_scalar(rng, kind) for _ in range(length))
    return items


def random_value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if roll < 0.45 or depth > 2:
        items = random_sequence(rng)
        return tuple(items) if rng.random() < 0.2 else items
    if roll < 0.6:
        return [
            rng.choice(SPECIAL_STRS) * rng.randint(0, 3) for _ in range(rng.randint(N - 1, N + 2))
        ]
    if roll < 0.75:
        return random_scalar(rng, rng.choice(["str", "float", "int", "mystr"]))
    if roll < 0.9:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, N + 1))]
    return {rng.randint(0, 99): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("seed", range(6))
def test_random_values_encode_to_the_text_of_the_item_by_item_walk(seed):
    rng = random.Random(seed)
    encode = harness.make_encoder()
    for _ in range(150):
        value = random_value(rng)
        assert encode(value) == reference_encode(value), value


def _floats(count: int, start: float = 0.5) -> list[float]:
    return [start + i / 8 for i in range(count)]


EDGE_VALUES = {
    "empty": [],
    "15_floats": _floats(N - 1),
    "16_floats": _floats(N),
    "17_floats_tuple": tuple(_floats(N + 1)),
    "two_ints_then_floats": [1, 3, *_floats(N)],
    "two_ints_then_15_floats": [1, 3, *_floats(N - 1)],
    "floats_then_ints": [*_floats(N), 1, 2],
    "ints_then_floats_then_ints": [*range(N), *_floats(N), *range(3)],
    "alternating": [1, 2.5] * N,
    "only_ints": list(range(-N, N)),
    "nan_in_a_long_run": [*_floats(N), math.nan],
    "nan_in_a_short_run_only": [*_floats(N), 7, math.nan, 8],
    "nan_in_the_second_long_run": [*_floats(N), 7, *_floats(N), math.nan],
    "inf_and_minus_inf": [math.inf, *_floats(N), -math.inf],
    "infs_with_ints": [1, 3, math.inf, -math.inf, *_floats(N)],
    "signed_zeros_and_subnormals": [-0.0, 0.0, 5e-324, -5e-324, *_floats(N)],
    "huge_int_and_long_float_run": [2**1100, *_floats(N)],
    "huge_negative_int_after_floats": [*_floats(N), -(10**400)],
    "largest_convertible_int": [2**1023, *_floats(N)],
    "bool_among_floats": [*_floats(N), True],
    "bool_first": [False, *_floats(N)],
    "int_subclass_among_ints": [*range(N), MyInt(3)],
    "float_subclass_among_floats": [MyFloat(1.0), *_floats(N)],
    "float_subclass_last": [*_floats(N), MyFloat(1.0)],
    "none_last": [*range(N), None],
    "strings": ["a", "b c", "", "d"] * N,
    "strings_with_a_quote": ["a"] * N + ['say "hi"'],
    "strings_with_a_backslash": ["a"] * N + ["C:\\dir"],
    "strings_with_a_control_char": ["a"] * N + ["\x1f"],
    "strings_with_del": ["a"] * N + ["\x7f"],
    "strings_non_ascii": ["a"] * N + ["\u00e9"],
    "strings_lone_surrogate": ["a"] * N + ["\udfff"],
    "strings_and_a_str_subclass": ["a"] * N + [MyStr("a")],
    "string_then_int": ["a"] * N + [1],
    "long_plain_string": "0 1 2 3 " * LONG,
    "string_one_short_of_the_fast_path": "x" * (LONG - 1),
    "string_at_the_fast_path": "x" * LONG,
    "long_string_quote_at_end": "x" * LONG + '"',
    "long_string_backslash_first": "\\" + "x" * LONG,
    "long_string_newline": "x" * LONG + "\n",
    "long_string_del": "x" * LONG + "\x7f",
    "long_string_nul": "\x00" + "x" * LONG,
    "long_string_non_ascii": "x" * LONG + "\u00e9",
    "long_string_astral": "x" * LONG + "\U0001f600",
    "long_string_lone_surrogate": "x" * LONG + "\ud800",
    "long_str_subclass": MyStr("x" * LONG),
    "nested": {"k": [[1, 3, *_floats(N)], ("x" * LONG, [math.nan] * N)]},
}


@pytest.mark.parametrize("name", list(EDGE_VALUES))
def test_edge_cases_encode_to_the_text_of_the_item_by_item_walk(name):
    value = EDGE_VALUES[name]
    assert harness.make_encoder()(value) == reference_encode(value)


def test_long_float_runs_are_packed_and_runs_with_nan_or_under_the_minimum_are_not():
    encode = harness.make_encoder()
    assert encode(_floats(N)).count('["*f",') == 1
    assert '["*f",' not in encode(_floats(N - 1))
    assert '["*f",' not in encode([*_floats(N), math.nan])
    # inf + -inf makes the C-speed sum NaN; with no NaN item the run is still packed
    assert encode([math.inf, *_floats(N), -math.inf]).count('["*f",') == 1
    # the clean run is packed even though another long run holds a NaN
    assert encode([*_floats(N), 7, *_floats(N), math.nan]).count('["*f",') == 1
    # an int too large for a double next to a long run: the run is packed on its own
    assert encode([2**1100, *_floats(N)]).count('["*f",') == 1


def test_every_character_escapes_as_json_does_in_a_long_string():
    encode = harness.make_encoder()
    characters = [*range(0x800), 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFFFF, 0x1F600, 0x10FFFF]
    for code in characters:
        text = "x" * LONG + chr(code)
        assert encode(text) == '["s",' + ESCAPE(text) + "]", hex(code)
        assert encode([chr(code)] * N) == reference_encode([chr(code)] * N), hex(code)


HOOK_CALLS: list[str] = []
"""The names of the hooks below that were called (none may be)."""


def _hook(name: str, result: object):
    def hook(*args, **kwargs):
        HOOK_CALLS.append(name)
        return result

    return hook


_LYING_HOOKS = {
    "__eq__": _hook("__eq__", True),
    "__ne__": _hook("__ne__", False),
    "__hash__": _hook("__hash__", hash(float)),
    "__float__": _hook("__float__", 2.0),
    "__index__": _hook("__index__", 2),
    "__int__": _hook("__int__", 2),
    "__add__": _hook("__add__", 2.0),
    "__radd__": _hook("__radd__", 2.0),
    "__repr__": _hook("__repr__", "2.0"),
    "__str__": _hook("__str__", "2.0"),
    "__len__": _hook("__len__", 0),
    "__iter__": _hook("__iter__", iter(())),
    "__bool__": _hook("__bool__", False),
    "isascii": _hook("isascii", True),
    "encode": _hook("encode", b""),
    "translate": _hook("translate", ""),
    "hex": _hook("hex", "0x2"),
}


class _LyingMeta(type):
    """Claims to equal (and hash like) every builtin type it is compared with."""

    __eq__ = _hook("meta __eq__", True)
    __ne__ = _hook("meta __ne__", False)
    __hash__ = _hook("meta __hash__", hash(float))
    __instancecheck__ = _hook("meta __instancecheck__", True)
    __subclasscheck__ = _hook("meta __subclasscheck__", True)


LyingFloat = type("LyingFloat", (float,), dict(_LYING_HOOKS))
LyingInt = type("LyingInt", (int,), dict(_LYING_HOOKS))
LyingStr = type("LyingStr", (str,), dict(_LYING_HOOKS))
LyingObject = type("LyingObject", (), dict(_LYING_HOOKS))
MetaSpoof = _LyingMeta("MetaSpoof", (), dict(_LYING_HOOKS))

SPOOFS = {
    "float_subclass": LyingFloat(1.5),
    "int_subclass": LyingInt(2),
    "str_subclass": LyingStr("x" * LONG),
    "plain_object": LyingObject(),
    "metaclass_spoof": MetaSpoof(),
}


def _spoofed_values(spoof: object) -> list[object]:
    floats = _floats(2 * N)
    return [
        [spoof, *floats],
        [*floats, spoof],
        [1, 3, *floats[:N], spoof, *floats[N:]],
        [*range(2 * N), spoof],
        [spoof, *range(2 * N)],
        (*floats, spoof, 7),
        ["a" * LONG] * N + [spoof],
        [spoof] + ["a"] * N,
        [spoof] * N,
        spoof,
        {"k": [spoof, *floats]},
    ]


@pytest.mark.parametrize("name", list(SPOOFS))
def test_lying_subclasses_and_metaclasses_become_opaque_without_running_their_code(name):
    """The new paths check types by identity, so an item whose class (or metaclass)
    would claim to be a float, int or str stays an opaque marker, and none of its
    ``__eq__``/``__hash__``/``__float__``/``__index__``/... hooks is ever called."""
    spoof = SPOOFS[name]
    encode = harness.make_encoder()
    for value in _spoofed_values(spoof):
        expected = reference_encode(value)
        HOOK_CALLS.clear()
        text = encode(value)
        assert HOOK_CALLS == [], value
        assert text == expected
        assert '["o","' + type(spoof).__name__ + '",""]' in text


def test_replacing_builtins_and_modules_after_the_encoder_is_built_changes_nothing():
    """The encoder uses only references captured when ``make_encoder()`` ran."""
    encode = harness.make_encoder()
    values = [
        [1, 3, *_floats(3 * N)],
        [*_floats(N), math.nan],
        [math.inf, *_floats(N), -math.inf],
        [2**1100, *_floats(N)],
        ["a b"] * N,
        "x" * LONG,
        'x"' * LONG,
        [True, *range(N)],
        [LyingFloat(1.0), *_floats(N)],
    ]
    expected = [reference_encode(value) for value in values]

    def broken(*args, **kwargs):
        raise AssertionError("a replaced builtin was called")

    targets = [
        (builtins, "sum"),
        (builtins, "map"),
        (builtins, "len"),
        (builtins, "type"),
        (builtins, "bytearray"),
        (builtins, "memoryview"),
        (builtins, "hex"),
        (builtins, "OverflowError"),
        (struct, "pack"),
        (math, "isnan"),
        (itertools, "islice"),
        (itertools, "repeat"),
        (operator, "is_"),
        (json.encoder, "encode_basestring_ascii"),
    ]
    saved = [(module, name, getattr(module, name)) for module, name in targets]
    # not pytest's monkeypatch: it needs these builtins itself while (un)patching
    try:
        for module, name, _ in saved:
            setattr(module, name, broken)
        texts = [encode(value) for value in values]
    finally:
        for module, name, original in saved:
            setattr(module, name, original)
    assert texts == expected
