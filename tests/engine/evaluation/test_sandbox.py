"""The sandbox child and the value encoding: isolation, capture, deadlines, transfer."""

from __future__ import annotations

import json
import math
import os
import threading
import time
from pathlib import Path

import pytest

from gradebench.engine.evaluation import harness
from gradebench.engine.evaluation.compare import Opaque
from gradebench.engine.evaluation.expected_outputs import canonical
from gradebench.engine.evaluation.sandbox import SandboxJob, SandboxLimits, run_in_sandbox
from tests.conftest import REPO


def run(code: str, *tests, limits=None, **job) -> object:
    job.setdefault("test_limits", (5.0,) * len(tests))
    return run_in_sandbox(
        SandboxJob(code=code, entry_point=job.pop("entry_point", "f"), tests=tuple(tests), **job),
        limits,
    )


ROUND_TRIP_VALUES = [
    None,
    True,
    False,
    0,
    -7,
    2**200,
    -(10**5000),  # past int->str's digit limit: must still transfer
    0.1,
    -0.0,
    math.inf,
    -math.inf,
    1e-310,
    3 + 4j,
    "",
    'héllo\n"quoted" \\ tab\t',
    "\ud800 lone surrogate",
    b"\x00\xffbytes",
    [1, [2, [3, []]]],
    (1, (2,), ()),
    {1, 2, 3},
    frozenset({"a", "b"}),
    {"k": [1, 2], (1, 2): {"nested": None}, 3: frozenset()},
    [True, 1, 1.0],
]


@pytest.mark.parametrize(
    "value", ROUND_TRIP_VALUES, ids=[type(v).__name__ for v in ROUND_TRIP_VALUES]
)
def test_encoding_round_trips_builtin_values_exactly(value):
    decoded = harness.decode(harness.encode(value), Opaque)
    assert type(decoded) is type(value)
    assert decoded == value
    # also tells -0.0 from 0.0; sets are compared in canonical order (iteration order of a
    # rebuilt set may differ from the original's)
    assert canonical(json.loads(harness.encode(decoded))) == canonical(
        json.loads(harness.encode(value))
    )


def test_encoding_keeps_nan_and_bool_int_distinction():
    decoded = harness.decode(harness.encode([math.nan, True, 1]), Opaque)
    assert math.isnan(decoded[0])
    assert [type(x) for x in decoded] == [float, bool, int]


def test_non_builtin_values_and_subclasses_become_opaque():
    class MyInt(int):
        pass

    class Thing:
        pass

    decoded = harness.decode(harness.encode([MyInt(3), Thing(), print, range(3)]), Opaque)
    assert all(isinstance(x, Opaque) for x in decoded)
    assert [x.type_name for x in decoded] == [
        "MyInt",
        "Thing",
        "builtin_function_or_method",
        "range",
    ]


def test_too_deep_values_become_opaque_instead_of_crashing():
    deep: list = []
    for _ in range(harness.MAX_DEPTH + 5):
        deep = [deep]
    decoded = harness.decode(harness.encode(deep), Opaque)
    assert isinstance(decoded, Opaque) and decoded.type_name == "too large"


class _SpoofMeta(type):
    """A metaclass that claims to be equal to (and hash like) ``int``."""

    def __eq__(cls, other):
        return True

    def __hash__(cls):
        return hash(int)


class _Spoof(metaclass=_SpoofMeta):
    def __index__(self):
        return 1


N = harness.FLAT_MIN_ITEMS
FLAT_VALUES = {
    "ints": [*range(-N, N), 2**100, -(10**5000)],
    "floats": [0.1 * i for i in range(N)] + [math.inf, -math.inf, -0.0, math.nan, 1e-310],
    "floats_packed": [0.1 * i for i in range(N)] + [math.inf, -math.inf, -0.0, 1e-310],
    "mixed": [1, 3.0, 2, 8.0] * N,
    "mixed_runs": [1, 2] + [0.5 * i for i in range(3 * N)] + [7] + [-0.0] * N,
    "strings": ["a", 'q"uote', "\\", "é", "\ud800", ""] * N,
    "tuple": tuple(range(N)),
    "bools": [True, False, 1, 0] * N,
    "subclass": [1] * N + [type("MyInt", (int,), {})(2)],
    "spoof": [1] * N + [_Spoof()],
    "nested": [list(range(N)) for _ in range(3)],
    "short": [1, 2.0, "x"],
}


@pytest.mark.parametrize("name", list(FLAT_VALUES))
def test_long_flat_lists_encode_as_the_item_walk_or_packed_floats_and_decode_exactly(name):
    """Lists of scalars have a path of their own in the encoder (its speed is measured in
    bench/, not here). Without long float runs its text equals the per-item walk's; long
    NaN-free float runs are packed; decoding gives back the same types and the same bits
    (-0.0 stays -0.0)."""
    value = FLAT_VALUES[name]
    tag = "l" if type(value) is list else "t"
    text = harness.encode(value)
    by_item = '["' + tag + '",[' + ",".join(harness.encode(x) for x in value) + "]]"
    packed = '["*f",' in text
    assert packed == (name in ("floats_packed", "mixed_runs"))
    if not packed:
        assert text == by_item
    decoded = harness.decode(text, Opaque)
    assert type(decoded) is type(value) and len(decoded) == len(value)
    for got, want in zip(decoded, value, strict=True):
        if isinstance(want, _Spoof) or type(want).__name__ == "MyInt":
            assert isinstance(got, Opaque)  # the odd item stays opaque, not an int
            continue
        assert type(got) is type(want)
        if type(want) is float:
            assert math.copysign(1, got) == math.copysign(1, want)
            assert got == want or (math.isnan(got) and math.isnan(want))
        else:
            assert got == want
    assert harness.encode(decoded) == text or name in ("subclass", "spoof")


def test_a_float_run_with_nan_stays_visible_as_text():
    text = harness.encode([1.5] * harness.FLAT_MIN_ITEMS + [math.nan])
    assert '["*f",' not in text and '"nan"' in text


@pytest.mark.parametrize("text", ['["l",[["*f","00"]]]', '["l",[["*f"]]]', '["*f","00"]'])
def test_malformed_float_runs_are_rejected(text):
    with pytest.raises(ValueError):
        harness.decode(text, Opaque)


def test_flat_lists_count_towards_the_value_cap(monkeypatch):
    monkeypatch.setattr(harness, "MAX_NODES", 1000)
    encode = harness.make_encoder()
    assert json.loads(encode(list(range(999))))[0] == "l"
    assert json.loads(encode(list(range(1000))))[:2] == ["o", "too large"]


def test_malformed_encoded_data_is_rejected():
    for text in ('["zz"]', '["i"]', "[1]", '["l","notalist"]', "{}"):
        with pytest.raises(ValueError):
            harness.decode(text, Opaque)


def test_child_returns_outputs_and_captures_stdout_and_stderr():
    result = run(
        "import sys\ndef f(a, b):\n    print('out', a)\n    sys.stderr.write('err\\n')\n    return a + b\n",
        (0, (1, 2)),
        (1, ([1], [2])),
    )
    assert result.stopped is None
    assert [o.output for o in result.outcomes] == [3, [1, 2]]
    assert result.stdout == "out 1\nout [1]\n"
    assert result.stderr == "err\nerr\n"


def test_output_beyond_the_cap_is_discarded_and_counted():
    result = run(
        "def f():\n    print('y' * 100000)\n    return 1\n",
        (0, ()),
        limits=SandboxLimits(output_bytes=1000),
    )
    assert result.outcomes[0].output == 1
    assert result.stdout.startswith("y" * 1000 + "\n[... ")
    assert "99001 more bytes discarded" in result.stdout


def test_stdin_is_empty_and_environment_is_clean(monkeypatch):
    monkeypatch.setenv("GRADEBENCH_TEST_SECRET", "hunter2")
    result = run(
        "import os, sys\ndef f():\n    return sys.stdin.read(), sorted(os.environ)\n",
        (0, ()),
    )
    stdin_text, names = result.outcomes[0].output
    assert stdin_text == ""
    assert "GRADEBENCH_TEST_SECRET" not in names
    assert set(names) <= {"PATH", "LANG", "HOME", "TMPDIR", "GRADEBENCH_SANDBOX", "LC_CTYPE"}


def test_each_child_gets_a_fresh_work_dir_that_is_deleted_afterwards():
    code = (
        "import os\ndef f():\n    open('note.txt', 'w').write('hi')\n"
        "    return os.getcwd(), sorted(os.listdir('.'))\n"
    )
    first = run(code, (0, ())).outcomes[0].output
    second = run(code, (0, ())).outcomes[0].output
    assert first[1] == second[1] == ["note.txt"]
    assert first[0] != second[0]
    assert not Path(first[0]).exists() and not Path(second[0]).exists()


def test_isolation_in_force_is_recorded():
    result = run("def f():\n    return 1\n", (0, ()))
    isolation = result.isolation
    assert isolation["RLIMIT_AS"] == SandboxLimits().memory_bytes
    assert isolation["RLIMIT_FSIZE"] == SandboxLimits().file_bytes
    assert isolation["RLIMIT_NOFILE"] == SandboxLimits().open_files
    assert isolation["RLIMIT_CORE"] == 0
    assert isinstance(isolation["RLIMIT_CPU"], int)
    if os.geteuid() == 0:
        assert isolation["uid"] == result.uid and result.uid >= 1_000_000
        assert isolation["RLIMIT_NPROC"] == SandboxLimits().processes
        assert "network namespace" in isolation["network"]


@pytest.mark.skipif(os.geteuid() != 0, reason="uid drop and namespaces need root")
def test_child_runs_unprivileged_without_network_and_with_private_tmp(tmp_path):
    code = """
import os, socket
def f():
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=0.5)
        network = "connected"
    except OSError as exc:
        network = type(exc).__name__
    return os.getuid(), os.geteuid(), network, sorted(os.listdir("/tmp")), os.path.exists(PARENT)
""".replace("PARENT", repr(str(tmp_path)))
    uid, euid, network, tmp_listing, sees_parent_tmp = run(code, (0, ())).outcomes[0].output
    assert uid == euid and uid >= 1_000_000
    assert network != "connected"
    assert tmp_listing == []
    assert sees_parent_tmp is False


def test_stdlib_modules_import_after_the_privilege_drop():
    code = (
        "def f():\n    import heapq, fractions, json, statistics, re\n    return json.dumps([1])\n"
    )
    assert run(code, (0, ())).outcomes[0].output == "[1]"


@pytest.mark.skipif(os.geteuid() != 0, reason="the fork server (and its preloads) runs as root")
def test_typing_is_already_loaded_for_answers_and_their_changes_stay_in_their_child():
    code = (
        "import sys\nLOADED = 'typing' in sys.modules\nimport typing\n"
        "typing.List = None\ndef f():\n    return LOADED\n"
    )
    assert run(code, (0, ())).outcomes[0].output is True
    after = "from typing import List\ndef f():\n    return List is None\n"
    assert run(after, (0, ())).outcomes[0].output is False  # a fresh copy per child


def test_a_slow_test_stops_the_child_at_that_test():
    code = "import time\ndef f(x):\n    if x == 2:\n        time.sleep(60)\n    return x\n"
    result = run(code, (0, (1,)), (1, (2,)), (2, (3,)), test_limits=(5.0, 0.5, 5.0))
    assert result.stopped == "timeout"
    assert result.stopped_test == 1
    assert [o.output for o in result.outcomes] == [1]


def test_a_total_time_budget_covers_all_tests_together():
    code = "import time\ndef f(x):\n    time.sleep(0.4)\n    return x\n"
    tests = [(i, (i,)) for i in range(6)]
    result = run(code, *tests, test_limits=(30.0,) * 6, total_limit=1.0)
    assert result.stopped == "timeout"
    assert len(result.outcomes) < 6


def test_module_level_loop_times_out_while_loading():
    result = run("while True:\n    pass\n", (0, ()), load_limit=0.5)
    assert result.stopped == "timeout"
    assert result.stopped_test is None
    assert result.outcomes == ()


def test_exceptions_are_reported_per_test_and_later_tests_still_run():
    code = "def f(x):\n    return 10 // x\n"
    result = run(code, (0, (0,)), (1, (5,)))
    first, second = result.outcomes
    assert not first.returned and first.error_type == "ZeroDivisionError"
    assert "division" in first.message
    assert second.returned and second.output == 2


def test_missing_entry_point_is_a_load_error():
    result = run("def g():\n    return 1\n", (0, ()))
    assert result.stopped == "load_error"
    assert result.load_error[0] == "NameError"


def test_iterators_are_taken_or_materialized_in_the_child():
    infinite = "import itertools\ndef f():\n    return itertools.count(5)\n"
    assert run(infinite, (0, ()), take=3).outcomes[0].output == [5, 6, 7]
    finite = "def f():\n    return (x * x for x in range(4))\n"
    assert run(finite, (0, ())).outcomes[0].output == [0, 1, 4, 9]
    endless = run(infinite, (0, ())).outcomes[0].output
    assert isinstance(endless, Opaque)


def test_class_tests_construct_then_call_methods_in_order():
    code = """
class Stack:
    def __init__(self, *items):
        self.items = list(items)
    def push(self, x):
        self.items.append(x)
    def pop(self):
        return self.items.pop()
"""
    result = run(
        code,
        (0, ((1, 2), [("push", (3,)), ("pop", ()), ("pop", ())])),
        entry_point="Stack",
        kind="class",
    )
    assert result.outcomes[0].output == [None, 3, 2]


def test_each_call_gets_a_fresh_copy_of_its_inputs():
    code = "def f(items):\n    items.append(0)\n    return len(items)\n"
    shared = [1, 2]
    result = run(code, (0, (shared,)), (1, (shared,)))
    assert [o.output for o in result.outcomes] == [3, 3]
    assert shared == [1, 2]


def test_parallel_children_from_threads_do_not_interfere():
    code = "import time\ndef f(x):\n    time.sleep(0.05)\n    return x * 10\n"
    results: dict[int, object] = {}

    def one(n: int) -> None:
        results[n] = run(code, (0, (n,)))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {n: r.outcomes[0].output for n, r in results.items()} == {n: n * 10 for n in range(4)}
    if os.geteuid() == 0:
        assert len({r.uid for r in results.values()}) == 4


def wait_dead(pid: int) -> str:
    """The process's state once it is gone or a zombie (PID 1 here does not reap), or
    what it still is after a few seconds."""
    status = Path(f"/proc/{pid}/status")
    state = ""
    for _ in range(300):
        if not status.exists():
            return "gone"
        state = next(
            (line for line in status.read_text().splitlines() if line.startswith("State:")), ""
        )
        if "zombie" in state:
            return "zombie"
        time.sleep(0.01)
    return state


ESCAPING_CHILD = """
import os, time
def f():
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:
        os.setsid()  # out of the process group: killpg no longer reaches it
        os.write(ready_w, b"x")
        time.sleep(60)
        os._exit(0)
    os.read(ready_r, 1)
    return child
"""


def test_a_process_that_left_the_group_is_found_and_killed_by_the_sweep():
    result = run(ESCAPING_CHILD, (0, ()))
    assert result.leftovers_killed >= 1
    assert wait_dead(result.outcomes[0].output) in {"gone", "zombie"}


def test_without_root_the_sweep_still_kills_an_escaped_background_process(monkeypatch):
    from gradebench.engine.evaluation import sandbox

    monkeypatch.setattr(sandbox, "running_as_root", lambda: False)
    result = run(ESCAPING_CHILD, (0, ()))
    assert result.uid is None
    assert "not root" in str(result.isolation["uid"])
    assert result.leftovers_killed >= 1
    assert wait_dead(result.outcomes[0].output) in {"gone", "zombie"}


def test_a_huge_output_does_not_eat_into_the_next_tests_time():
    code = "def f(n):\n    return list(range(n))\n"
    result = run(code, (0, (400_000,)), (1, (1,)), test_limits=(30.0, 1.0))
    assert result.stopped is None
    assert len(result.outcomes[0].output) == 400_000
    assert result.outcomes[1].output == [0]


@pytest.mark.skipif(os.geteuid() != 0, reason="the mount namespace needs root")
def test_repository_and_database_folders_are_hidden_from_the_answer(db_path, db):
    repo = REPO
    code = """
import os
def f(paths):
    return [os.path.exists(p) for p in paths]
"""
    paths = [str(repo / "engine" / "evaluation" / "harness.py"), str(db_path), str(Path.home())]
    assert all(os.path.exists(p) for p in paths)
    seen = run(code, (0, (paths,))).outcomes[0].output
    assert seen[:2] == [False, False]


@pytest.mark.skipif(os.geteuid() != 0, reason="the uid probe runs only as root")
def test_the_uid_probe_sees_a_live_process_of_the_uid_and_gives_root_back():
    """``harness._uid_has_processes`` answers 1 while a process of the uid lives and 0
    once it is gone; without ``stay`` the prober is root again afterwards (it is the
    monitor, which still has to fork the sandbox child). Run in a forked process, since
    the probe changes the credentials of whoever calls it."""
    uid = 1_999_123

    def probe(stay: bool) -> tuple[int, tuple[int, int, int]]:
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                answer = harness._uid_has_processes(uid, stay=stay)
                os.write(writer, json.dumps([answer, list(os.getresuid())]).encode())
            finally:
                os._exit(0)
        os.close(writer)
        os.waitpid(pid, 0)
        answer, ids = json.loads(os.read(reader, 1000))
        os.close(reader)
        return answer, tuple(ids)

    assert probe(stay=False) == (0, (0, 0, 0))
    ready_r, ready_w = os.pipe()
    holder = os.fork()
    if holder == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.write(ready_w, b"x")
            time.sleep(30)
        finally:
            os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"  # the holder is that uid now
    os.close(ready_r)
    try:
        assert probe(stay=False) == (1, (0, 0, 0))
        assert probe(stay=True) == (1, (uid, uid, 0))
    finally:
        os.kill(holder, 9)
        os.waitpid(holder, 0)
    assert probe(stay=False)[0] == 0


def test_outputs_equal_to_the_expected_text_are_matched_without_decoding():
    """A test whose output text is exactly its ``expected_encoded`` lands in ``matched``
    (index and seconds, in run order); a different output is decoded as usual."""
    code = "def f(x):\n    return x if x != 2 else [x, 'two']\n"
    want = tuple(harness.encode(v).encode() for v in (1, [2, "TWO"], 3, [4.5] * 20))
    result = run(
        code,
        (10, (1,)),
        (11, (2,)),
        (12, (3,)),
        (13, ([4.5] * 20,)),
        expected_encoded=want,
    )
    assert result.stopped is None
    assert [index for index, _ in result.matched] == [10, 12, 13]
    assert all(seconds >= 0 for _, seconds in result.matched)
    assert [(o.index, o.output) for o in result.outcomes] == [(11, [2, "two"])]
