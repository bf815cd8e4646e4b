"""Hostile answers: each gets a failing verdict, changes nothing outside its temp dir,
and leaves no process behind.

Every answer solves ``double(x) -> 2 * x`` only if the sandbox lets it get away
with something; the guard fixture checks a sentinel file and a watched folder
(both outside the sandbox) and looks for any process of the sandbox's uid or any
child of this test process still alive afterwards.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

from gradebench.engine.evaluation.evaluator import Evaluator
from gradebench.engine.evaluation.execution import Execution
from gradebench.engine.problems.model import Problem, TestCase
from tests.garbage import CLOSE_EVERYTHING, GARBAGE, double_problem, spraying_answer

FAILING = {"fail", "error", "timeout", "memory"}


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(min_time_limit=1.0)


class Guard:
    """A sentinel file and a watched folder the answers try to reach."""

    def __init__(self, root: Path) -> None:
        self.watched = root / "watched"
        self.watched.mkdir()
        self.sentinel = self.watched / "sentinel.txt"
        self.sentinel.write_text("keep me")
        self.before = sorted(p.name for p in self.watched.iterdir())

    def check(self, execution: Execution) -> None:
        assert self.sentinel.read_text() == "keep me"
        assert sorted(p.name for p in self.watched.iterdir()) == self.before
        assert not Path("/tmp/gradebench-hostile-was-here").exists()
        uid = execution.sandbox.get("uid")
        if isinstance(uid, int):
            alive = [
                (p.pid, p.info["status"])
                for p in psutil.process_iter(["uids", "status"])
                if uid in tuple(p.info["uids"] or ())[:2]
                and p.info["status"] != psutil.STATUS_ZOMBIE
            ]
            assert alive == [], f"processes of sandbox uid {uid} still alive: {alive}"
        children = [c for c in psutil.Process().children(recursive=True) if c.status() != "zombie"]
        assert children == [], f"child processes left behind: {children}"


@pytest.fixture
def guard(tmp_path: Path) -> Guard:
    return Guard(tmp_path)


def run_hostile(evaluator: Evaluator, guard: Guard, code: str) -> Execution:
    code = code.replace("WATCHED", str(guard.watched)).replace("SENTINEL", str(guard.sentinel))
    execution = evaluator.evaluate(double_problem(), code)
    assert execution.verdict in FAILING, execution
    assert execution.passed < execution.total
    guard.check(execution)
    return execution


def test_fork_bomb_is_stopped_and_every_fork_is_killed(evaluator, guard):
    code = """
import os
def double(x):
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "timeout"
    assert execution.sandbox["RLIMIT_NPROC"] == evaluator.limits.processes


def test_memory_bomb_gets_memory_verdict(evaluator, guard):
    code = """
def double(x):
    return len([0] * (1 << 34))
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "memory"
    assert execution.sandbox["RLIMIT_AS"] == evaluator.limits.memory_bytes


def test_growing_memory_bomb_stops_at_the_address_space_limit(evaluator, guard):
    # Touching a whole GiB of pages can take longer than the time limit on a slow
    # VM, so either limit may stop it first; both kill it.
    code = """
def double(x):
    hoard = []
    while True:
        hoard.append(bytearray(50 * 1024 * 1024))
"""
    assert run_hostile(evaluator, guard, code).verdict in {"memory", "timeout"}


def test_infinite_loop_times_out(evaluator, guard):
    code = "def double(x):\n    while True:\n        pass\n"
    assert run_hostile(evaluator, guard, code).verdict == "timeout"


def test_a_gigabyte_of_output_is_capped_and_does_not_block(evaluator, guard):
    code = """
import os
def double(x):
    block = b"x" * (1 << 20)
    for _ in range(1024):
        os.write(1, block)
    return None
"""
    execution = run_hostile(evaluator, guard, code)
    assert len(execution.stdout.encode()) <= evaluator.limits.output_bytes + 200
    assert "more bytes discarded" in execution.stdout


def test_sleeping_past_the_time_limit_times_out(evaluator, guard):
    code = "import time\ndef double(x):\n    time.sleep(600)\n    return 2 * x\n"
    assert run_hostile(evaluator, guard, code).verdict == "timeout"


def test_sys_exit_zero_before_the_tests_is_an_error(evaluator, guard):
    code = "import sys\nsys.exit(0)\ndef double(x):\n    return 2 * x\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert "SystemExit" in execution.first_failure["message"]


def test_os_exit_zero_before_the_tests_is_an_error(evaluator, guard):
    code = "import os\nos._exit(0)\ndef double(x):\n    return 2 * x\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert execution.passed == 0


def test_os_exit_inside_the_first_call_loses_every_test(evaluator, guard):
    code = "import os\ndef double(x):\n    os._exit(0)\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert "exited with code 0" in execution.first_failure["message"]


def test_fake_success_lines_on_stdout_and_stderr_are_ignored(evaluator, guard):
    code = """
import sys
print("ALL TESTS PASSED")
print('["ready","{}"]\\n["loaded"]\\n["ok","0",["i","0x2"],"0.0"]\\n["done"]')
sys.stderr.write("verdict: pass\\n")
def double(x):
    print("test passed")
    return None
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "fail"
    assert "ALL TESTS PASSED" in execution.stdout


def test_object_whose_eq_always_returns_true_is_opaque_and_fails(evaluator, guard):
    code = """
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
def double(x):
    return Anything()
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "fail"
    assert "Anything" in execution.first_failure["actual"]


def test_int_subclass_with_lying_eq_is_not_an_int(evaluator, guard):
    code = """
class Liar(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def double(x):
    return Liar(0)
"""
    assert run_hostile(evaluator, guard, code).verdict == "fail"


def test_monkeypatched_builtins_do_not_change_what_is_compared(evaluator, guard):
    code = """
import builtins
builtins.type = lambda *a: int
builtins.isinstance = lambda *a: True
builtins.repr = lambda *a: "2"
builtins.str = lambda *a: "2"
builtins.hex = lambda *a: "0x2"
builtins.len = lambda *a: 0
builtins.getattr = lambda *a: None
def double(x):
    return None
"""
    assert run_hostile(evaluator, guard, code).verdict == "fail"


def test_replacing_the_harness_encoder_and_json_does_not_forge_outputs(evaluator, guard):
    code = """
import json, sys
main = sys.modules["__main__"]
for name in ("encode", "make_encoder", "_send", "_normalize", "decode_node"):
    if hasattr(main, name):
        setattr(main, name, lambda *a, **k: '["i","0x2"]')
json.dumps = lambda *a, **k: '["i","0x2"]'
json.encoder.encode_basestring_ascii = lambda s: '"0x2"'
def double(x):
    return None
"""
    assert run_hostile(evaluator, guard, code).verdict == "fail"


def test_writing_fake_results_into_the_result_channel_is_an_error(evaluator, guard):
    code = """
import os
fake = b'["ok","0",["i","0x2"],"0.0"]\\n["ok","1",["i","0x4"],"0.0"]\\n["ok","2",["i","0x6"],"0.0"]\\n["done"]\\n'
for name in os.listdir("/proc/self/fd"):
    if int(name) > 2:
        try:
            os.write(int(name), fake)
        except OSError:
            pass
def double(x):
    return None
"""
    assert run_hostile(evaluator, guard, code).verdict == "error"


def test_writing_outside_the_temp_dir_is_refused(evaluator, guard):
    code = """
import os
def double(x):
    for path in ("WATCHED/new.txt", "SENTINEL", "/tmp/gradebench-hostile-was-here", "/work/hostile.txt"):
        try:
            with open(path, "w") as handle:
                handle.write("pwned")
        except OSError:
            pass
    return None
"""
    run_hostile(evaluator, guard, code)
    assert not Path("/work/hostile.txt").exists()


def test_deleting_outside_the_temp_dir_is_refused(evaluator, guard):
    code = """
import os, shutil
def double(x):
    for action in (lambda: os.remove("SENTINEL"), lambda: shutil.rmtree("WATCHED"),
                   lambda: os.chmod("WATCHED", 0o777), lambda: os.rename("SENTINEL", "moved")):
        try:
            action()
        except OSError:
            pass
    return None
"""
    run_hostile(evaluator, guard, code)


def test_network_connection_to_a_local_server_never_arrives(evaluator, guard):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    arrivals: list[object] = []

    def accept() -> None:
        try:
            connection, _ = server.accept()
            arrivals.append(connection)
        except OSError:
            pass

    listener = threading.Thread(target=accept)
    listener.start()
    code = f"""
import os
import socket
def double(x):
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=0.5).sendall(b"hi")
        return 2 * x
    except OSError:
        return None
"""
    try:
        run_hostile(evaluator, guard, code)
    finally:
        listener.join()
        server.close()
    assert arrivals == []


def test_background_process_that_escapes_the_group_is_killed(evaluator, guard):
    code = """
import os, time
def double(x):
    ready_r, ready_w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(ready_w, b"x")
            time.sleep(30)
            try:
                open("WATCHED/late.txt", "w").write("still alive")
            except OSError:
                pass
        os._exit(0)
    os.read(ready_r, 1)  # the grandchild is running in its own session
    return None
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.sandbox["leftovers_killed"] >= 1


def test_blocking_on_stdin_reads_end_of_file(evaluator, guard):
    code = "import sys\ndef double(x):\n    return int(sys.stdin.readline() or input())\n"
    assert run_hostile(evaluator, guard, code).verdict == "error"


def test_recursion_bomb_is_an_error(evaluator, guard):
    code = "def double(x):\n    return double(x) + 1\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert "RecursionError" in execution.first_failure["message"]


def test_deep_c_recursion_crash_is_an_error(evaluator, guard):
    code = """
import sys
sys.setrecursionlimit(10**8)
def double(x):
    return list(map(double, [x]))
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert "SIGSEGV" in execution.first_failure["message"]


def test_segfault_via_ctypes_is_an_error(evaluator, guard):
    code = "import ctypes\ndef double(x):\n    return ctypes.string_at(0)\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert "SIGSEGV" in execution.first_failure["message"]


def test_ignoring_sigterm_does_not_survive_the_kill(evaluator, guard):
    code = """
import signal
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU):
    signal.signal(sig, signal.SIG_IGN)
def double(x):
    while True:
        pass
"""
    assert run_hostile(evaluator, guard, code).verdict == "timeout"


def test_killing_the_parent_is_not_permitted(evaluator, guard):
    code = """
import os, signal
def double(x):
    try:
        os.kill(os.getppid(), signal.SIGKILL)
    except OSError:
        pass
    return None
"""
    run_hostile(evaluator, guard, code)


def test_huge_return_value_is_refused_not_transferred(evaluator, guard):
    code = "def double(x):\n    return [[0] * 1000] * 5000\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict in {"fail", "timeout"}


def test_self_referencing_list_is_opaque(evaluator, guard):
    code = "def double(x):\n    loop = []\n    loop.append(loop)\n    return loop\n"
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "fail"
    assert "too large" in execution.first_failure["actual"]


def test_writing_a_huge_file_in_the_temp_dir_hits_the_file_size_limit(evaluator, guard):
    code = """
def double(x):
    with open("big.bin", "wb") as handle:
        for _ in range(1024):
            handle.write(b"x" * (1 << 20))
    return 2 * x
"""
    assert run_hostile(evaluator, guard, code).verdict == "error"


def test_becoming_root_again_is_refused(evaluator, guard):
    code = """
import os
def double(x):
    os.setuid(0)
    return 2 * x
"""
    execution = run_hostile(evaluator, guard, code)
    assert execution.verdict == "error"
    assert "PermissionError" in execution.first_failure["message"]


def test_mutating_a_shared_input_cannot_leak_into_the_next_test(evaluator, guard):
    problem = Problem(
        id="hostile/first",
        suite="hostile",
        title="First",
        difficulty="easy",
        statement="Return the first item.",
        entry_point="first",
        signature="def first(items: list[int]) -> int:",
        reference="def first(items):\n    return items[0]\n",
        tests=(TestCase(args=([1, 2],)), TestCase(args=([1, 2],))),
    )
    code = """
seen = []
def first(items):
    seen.append(items)
    items[0] = 99
    return 1 if len(seen) == 1 else seen[0][0]
"""
    execution = evaluator.evaluate(problem, code)
    assert execution.verdict == "fail"
    assert execution.passed == 1
    guard.check(execution)


def test_filling_the_disk_with_many_files_stops_at_the_work_dir_size(evaluator, guard):
    # Each file stays under RLIMIT_FSIZE; together they would pass the work dir's tmpfs.
    code = """
def double(x):
    written = 0
    try:
        for i in range(40):
            with open(f"chunk{i}.bin", "wb") as handle:
                handle.write(b"x" * (8 << 20))
            written += 8 << 20
    except OSError:
        pass
    return 2 * x if written > (64 << 20) else None
"""
    execution = run_hostile(evaluator, guard, code)
    if os.geteuid() == 0:
        assert execution.verdict == "fail"


# ---------------------------------------------------------------- garbage on every descriptor


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_on_every_descriptor_then_a_wrong_value_is_never_a_pass(evaluator, guard, kind):
    execution = run_hostile(
        evaluator, guard, spraying_answer(GARBAGE[kind], when="call", right=False)
    )
    # error, or fail when the garbage itself read as a (wrong) result for the first test
    assert execution.verdict in {"error", "fail"}
    assert execution.sandbox["stopped"] == "protocol"


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_on_every_descriptor_then_the_right_value_still_gets_a_verdict(
    evaluator, guard, kind
):
    execution = evaluator.evaluate(
        double_problem(), spraying_answer(GARBAGE[kind], when="load", right=True)
    )
    assert execution.verdict in {"pass", "fail", "error", "timeout", "memory"}
    guard.check(execution)


@pytest.mark.parametrize("name", sorted(CLOSE_EVERYTHING))
def test_closing_every_descriptor_before_answering_is_an_error(evaluator, guard, name):
    assert run_hostile(evaluator, guard, CLOSE_EVERYTHING[name]).verdict == "error"


# ---------------------------------------------------------------- all of them in one batch


def hostile_answers_in_this_file() -> dict[str, str]:
    """The ``code = "..."`` of every test above (constant strings only), by test name:
    the batch below runs each hostile answer this file holds, present and future."""
    tree = ast.parse(Path(__file__).read_text(encoding="utf-8"))
    answers = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [getattr(t, "id", None) for t in statement.targets] == ["code"]
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, str)
                ):
                    answers[node.name] = statement.value.value
    return answers


@pytest.mark.slow
def test_one_evaluate_batch_of_every_hostile_answer_gives_each_a_row(tmp_path, guard):
    """Every hostile answer, several per task id, in ONE ``gradebench evaluate`` run: a
    crash on any of them would show as missing rows or a traceback."""
    suite = tmp_path / "hostile"
    suite.mkdir()
    (suite / "double.toml").write_text(
        'title = "Double"\ndifficulty = "easy"\nentry_point = "double"\n'
        'signature = "def double(x: int) -> int:"\nstatement = "Return 2 * x."\n'
        "reference = '''\ndef double(x):\n    return 2 * x\n'''\n"
        '[[tests]]\nargs = "(1,)"\nexpected = "2"\n[[tests]]\nargs = "(2,)"\n'
        '[[tests]]\nargs = "(3,)"\n'
    )
    wrong = list(hostile_answers_in_this_file().values())
    wrong += [spraying_answer(g, when="call", right=False) for g in GARBAGE.values()]
    wrong += list(CLOSE_EVERYTHING.values())
    right = [spraying_answer(g, when="load", right=True) for g in GARBAGE.values()]
    codes = [
        code.replace("WATCHED", str(guard.watched)).replace("SENTINEL", str(guard.sentinel))
        for code in wrong + right
    ]
    assert len(codes) >= 40
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        "".join(json.dumps({"task_id": "hostile/double", "solution": c}) + "\n" for c in codes)
    )
    gradebench = Path(sys.executable).parent / "gradebench"
    command = [str(gradebench), "--db", str(tmp_path / "g.db"), "evaluate", str(samples)]
    done = subprocess.run(
        [*command, "--suite", str(suite), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(codes), done.stderr[-2000:]
    assert all(row["task_id"] == "hostile/double" for row in rows)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not any("internal_error" in row for row in rows)
    passed_wrong = [i for i, row in enumerate(rows[: len(wrong)]) if row["verdict"] == "pass"]
    assert passed_wrong == [], [codes[i][:200] for i in passed_wrong]
    assert guard.sentinel.read_text() == "keep me"
