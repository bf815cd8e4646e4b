"""A ``streaming`` answer is its run's claim on the pair: who may replace it, and what
several processes starting the same pairs at once end with.

The oracle is the rows read back with SQL: one current row per pair, the replaced row
superseded (a claim taken over is also closed ``cancelled``), nothing written on refusal.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gradebench.engine.answers.recording import AlreadyGenerated, start_answer
from gradebench.engine.store.generations import claim_alive
from gradebench.engine.store.runs import CLAIM_TIMEOUT, RunHeartbeat, beat, start_run
from tests.conftest import REPO
from tests.seed import add_contender, add_generation, add_problem, add_run

HERE = socket.gethostname()


def _ago(age: timedelta) -> str:
    return (datetime.now(UTC) - age).isoformat()


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of another process that lives for the test."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield child.pid
    child.kill()
    child.wait()


@pytest.fixture(scope="module")
def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def _rows(db) -> list[tuple[str, str, str | None]]:
    return db.execute(
        "SELECT id, status, superseded_at FROM generations ORDER BY started_at"
    ).fetchall()


def _claim(db, host: dict, heartbeat_at: str | None = None) -> tuple[str, str]:
    """A pair ``demo/p`` x ``c`` streaming in a run of ``host``; (run id, answer id)."""
    run = add_run(db, host=host)
    if heartbeat_at is not None:
        db.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", [heartbeat_at, run])
        db.conn.commit()
    return run, add_generation(db, "demo/p", "c", status="streaming", run_id=run)


def _start(db, **kwargs):
    return start_answer(db, problem_id="demo/p", contender_id="c", prompt_text="p", **kwargs)


def test_a_live_claim_of_another_process_is_refused_and_nothing_is_written(db, live_pid) -> None:
    _run, answer = _claim(db, {"hostname": HERE, "pid": live_pid})
    before = _rows(db)
    with pytest.raises(AlreadyGenerated) as refused:
        _start(db, replace_own_run=True, redo=("cancelled", "error"))
    assert refused.value.claimed_elsewhere
    assert refused.value.current.generation_id == answer
    assert _rows(db) == before
    assert claim_alive(db, answer)


def test_a_claim_whose_process_died_is_taken_over(db, dead_pid) -> None:
    _run, answer = _claim(db, {"hostname": HERE, "pid": dead_pid})
    assert not claim_alive(db, answer)
    writer = _start(db)
    rows = dict((gid, (status, superseded)) for gid, status, superseded in _rows(db))
    assert rows[answer][0] == "cancelled" and rows[answer][1] is not None
    assert rows[writer.generation_id] == ("streaming", None)


@pytest.mark.parametrize(
    ("heartbeat_age", "taken_over"),
    [(timedelta(seconds=2), False), (CLAIM_TIMEOUT + timedelta(seconds=5), True)],
    ids=["beating", "silent"],
)
def test_a_claim_elsewhere_lives_as_long_as_its_run_beats(db, heartbeat_age, taken_over) -> None:
    """Another host name (or a container): the pid means nothing here, the heartbeat does."""
    _run, answer = _claim(
        db, {"hostname": HERE + "-elsewhere", "pid": os.getpid()}, _ago(heartbeat_age)
    )
    assert claim_alive(db, answer) is not taken_over
    if taken_over:
        writer = _start(db)
        assert dict((g, s) for g, s, _ in _rows(db))[writer.generation_id] == "streaming"
    else:
        with pytest.raises(AlreadyGenerated):
            _start(db)
        assert len(_rows(db)) == 1


def test_a_session_may_restart_its_own_stream_but_not_another_live_runs(db) -> None:
    add_problem(db, "demo/p")
    add_contender(db, "c")
    own = start_run(db, "grade", "demo")
    first = _start(db, run_id=own)
    with pytest.raises(AlreadyGenerated):
        _start(db, run_id=own)  # look-ahead and batches never replace a stream
    second = _start(db, run_id=own, replace_own_run=True)
    with pytest.raises(AlreadyGenerated):
        _start(db, run_id=start_run(db, "grade", "demo"), replace_own_run=True)
    statuses = {gid: (status, sup is None) for gid, status, sup in _rows(db)}
    assert statuses == {
        first.generation_id: ("cancelled", False),
        second.generation_id: ("streaming", True),
    }


def test_regenerating_is_explicit_and_replaces_even_a_live_claim(db, live_pid) -> None:
    _run, answer = _claim(db, {"hostname": HERE, "pid": live_pid})
    writer = _start(db, regenerate=True)
    current = [gid for gid, _status, sup in _rows(db) if sup is None]
    assert current == [writer.generation_id] and answer != writer.generation_id


def test_a_finished_answer_is_never_replaced_without_regenerating(db) -> None:
    done = add_generation(db, "demo/p", "c", status="done")
    with pytest.raises(AlreadyGenerated) as refused:
        _start(db, replace_own_run=True, redo=("cancelled", "error"))
    assert not refused.value.claimed_elsewhere
    assert [gid for gid, _s, _sup in _rows(db)] == [done]


def test_the_heartbeat_thread_keeps_the_run_beating_until_stopped(db, db_path: Path) -> None:
    run = start_run(db, "grade", "demo")
    first = db.execute("SELECT heartbeat_at FROM runs WHERE id = ?", [run]).fetchone()[0]
    assert first is not None  # a run beats from its start
    heartbeat = RunHeartbeat(db_path, run, every=0.05).start()
    deadline = time.monotonic() + 30
    while heartbeat.beats < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    heartbeat.stop()
    later = db.execute("SELECT heartbeat_at FROM runs WHERE id = ?", [run]).fetchone()[0]
    assert heartbeat.beats >= 2 and later > first
    beats = heartbeat.beats
    time.sleep(0.2)
    assert heartbeat.beats == beats  # stopped


def test_a_finished_run_no_longer_beats(db) -> None:
    run = add_run(db, host={}, finished_at=_ago(timedelta(0)))
    beat(db, run)
    assert db.execute("SELECT heartbeat_at FROM runs WHERE id = ?", [run]).fetchone()[0] is None


PAIRS = [(f"demo/p{i}", "c") for i in range(6)]

RACER = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from gradebench.engine.answers.recording import AlreadyGenerated, start_answer
from gradebench.engine.store.database import open_db
from gradebench.engine.store.runs import start_run

db = open_db(sys.argv[1])
run = start_run(db, "generate", "demo")
while time.time() < float(sys.argv[2]):  # every racer starts at the same instant
    pass
outcome = []
for problem, contender in json.loads(sys.argv[4]):
    try:
        start_answer(db, problem_id=problem, contender_id=contender, prompt_text="p", run_id=run)
        outcome.append("started")
    except AlreadyGenerated as refused:
        outcome.append("claimed" if refused.claimed_elsewhere else "other")
    except Exception as exc:  # an IntegrityError here is the bug this test is for
        outcome.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(outcome), flush=True)
time.sleep(1.0)  # the claims stay alive while the others look at them
"""


def test_processes_starting_the_same_pairs_at_once_make_exactly_one_answer_each(
    db, db_path: Path
) -> None:
    for problem, contender in PAIRS:
        add_problem(db, problem)
        add_contender(db, contender)
    db.conn.commit()
    start = time.time() + 3.0  # the racers have imported and opened the file by then
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(db_path), str(start), str(REPO), json.dumps(PAIRS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    ends = [racer.communicate(timeout=60) for racer in racers]
    assert all(racer.returncode == 0 for racer in racers), [err[-600:] for _o, err in ends]
    outcomes = [json.loads(out) for out, _err in ends]
    per_pair = list(zip(*outcomes, strict=True))
    assert all(sorted(pair) == ["claimed"] * 3 + ["started"] for pair in per_pair), outcomes
    rows = db.execute(
        "SELECT problem_id, COUNT(*), SUM(superseded_at IS NULL) FROM generations"
        " GROUP BY problem_id"
    ).fetchall()
    assert sorted(rows) == [(problem, 1, 1) for problem, _ in PAIRS]
