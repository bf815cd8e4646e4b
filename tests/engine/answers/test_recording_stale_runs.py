"""Which ``streaming`` answers ``mark_stale_streaming`` closes as interrupted, branch by branch.

Databases are merged across machines, so a run's pid only means something on the host that
wrote it: another host's fresh answer is left alone whatever our process table says, and
ages out after ``ORPHAN_AGE`` like an answer with no run at all. The oracle is the rows
read back with SQL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from gradebench.engine.answers.recording import INTERRUPTED, ORPHAN_AGE, mark_stale_streaming
from tests.seed import add_generation, add_run

HERE = socket.gethostname()
OTHER_HOST = HERE + "-elsewhere"


def _stamp(age: timedelta) -> str:
    return (datetime.now(UTC) - age).isoformat()


FRESH = timedelta(seconds=5)
OLD = ORPHAN_AGE + timedelta(minutes=1)


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def _streaming_answer(db, *, run_id: str | None, age: timedelta = FRESH) -> str:
    return add_generation(
        db, "demo/p", "c", status="streaming", run_id=run_id, started_at=_stamp(age)
    )


def _status(db, generation_id: str) -> tuple[str, str | None]:
    return db.execute(
        "SELECT status, error FROM generations WHERE id = ?", [generation_id]
    ).fetchone()


CLOSED = ("cancelled", INTERRUPTED)
KEPT = ("streaming", None)


def test_a_run_of_this_host_whose_process_is_gone_is_closed(db, dead_pid) -> None:
    answer = _streaming_answer(db, run_id=add_run(db, host={"hostname": HERE, "pid": dead_pid}))
    assert mark_stale_streaming(db) == 1
    assert _status(db, answer) == CLOSED


@pytest.mark.parametrize("whose", ["this process", "a live process"])
def test_a_run_of_this_host_whose_process_lives_is_kept_however_old(db, whose) -> None:
    pid = os.getpid() if whose == "this process" else os.getppid()
    run = add_run(db, host={"hostname": HERE, "pid": pid}, started_at=_stamp(OLD))
    answer = _streaming_answer(db, run_id=run, age=OLD)
    assert mark_stale_streaming(db) == 0
    assert _status(db, answer) == KEPT


def test_a_finished_run_leaves_no_answer_streaming_even_if_its_process_lives(db) -> None:
    run = add_run(db, host={"hostname": HERE, "pid": os.getpid()}, finished_at=_stamp(timedelta(0)))
    answer = _streaming_answer(db, run_id=run)
    assert mark_stale_streaming(db) == 1
    assert _status(db, answer) == CLOSED


def test_another_hosts_fresh_answer_is_kept_even_when_its_pid_is_dead_here(db, dead_pid) -> None:
    answer = _streaming_answer(
        db, run_id=add_run(db, host={"hostname": OTHER_HOST, "pid": dead_pid})
    )
    assert mark_stale_streaming(db) == 0
    assert _status(db, answer) == KEPT


def test_another_hosts_answer_older_than_the_orphan_age_is_closed_even_when_its_pid_lives_here(
    db,
) -> None:
    run = add_run(db, host={"hostname": OTHER_HOST, "pid": os.getpid()})
    answer = _streaming_answer(db, run_id=run, age=OLD)
    assert mark_stale_streaming(db) == 1
    assert _status(db, answer) == CLOSED


@pytest.mark.parametrize(("age", "expected"), [(FRESH, KEPT), (OLD, CLOSED)], ids=["fresh", "old"])
def test_an_answer_with_no_run_is_closed_only_after_the_orphan_age(db, age, expected) -> None:
    answer = _streaming_answer(db, run_id=None, age=age)
    assert mark_stale_streaming(db) == (expected == CLOSED)
    assert _status(db, answer) == expected


@pytest.mark.parametrize(("age", "expected"), [(FRESH, KEPT), (OLD, CLOSED)], ids=["fresh", "old"])
def test_a_run_that_recorded_no_pid_is_judged_by_age(db, age, expected) -> None:
    answer = _streaming_answer(db, run_id=add_run(db, host={}), age=age)
    assert mark_stale_streaming(db) == (expected == CLOSED)
    assert _status(db, answer) == expected


def test_finished_answers_are_never_touched(db, dead_pid) -> None:
    run = add_run(db, host={"hostname": HERE, "pid": dead_pid}, finished_at=_stamp(timedelta(0)))
    done = add_generation(db, "demo/p", "c", status="done", run_id=run, started_at=_stamp(OLD))
    assert mark_stale_streaming(db) == 0
    assert _status(db, done) == ("done", None)
