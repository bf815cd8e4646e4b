"""Headless generation: every pair once, streamed into SQLite, resumable after kill -9."""

from __future__ import annotations

import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from gradebench.engine.answers.recording import (
    INTERRUPTED,
    AlreadyGenerated,
    mark_stale_streaming,
    start_answer,
)
from gradebench.engine.generation.backend import GenerationResult
from gradebench.engine.store.database import open_db
from gradebench.engine.store.runs import start_run
from gradebench.engine.workflows.batch import (
    ProgressLine,
    plan_jobs,
    run_batch,
)
from tests.conftest import REPO
from tests.fakes import FakeBackend
from tests.seed import demo_message, reopened_from_before, seed_demo_contenders

ADD_ANSWER = "Sure:\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n"


def _current(db, status: str | None = None) -> list[tuple]:
    sql = "SELECT problem_id, contender_id, sample_index, status FROM generations WHERE superseded_at IS NULL"
    rows = db.execute(sql).fetchall()
    return [r for r in rows if status is None or r[3] == status]


def test_batch_answers_every_pair_once_and_tests_the_finished_answers(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path)
    jobs = plan_jobs(db, problems, seats, demo_message)
    assert len(jobs) == len(problems) * 2
    backend = FakeBackend(answers={"sum of the integers": ADD_ANSWER})
    verdicts: dict[str, str] = {}

    def evaluate(db, problem, generation_id, code):
        from gradebench.engine.workflows.batch import default_evaluate

        verdicts[generation_id] = default_evaluate(db, problem, generation_id, code)
        return verdicts[generation_id]

    summary = run_batch(db_path, backend, jobs, parallel=2, evaluate=evaluate)
    assert summary.count("done") == len(jobs)
    assert len(_current(db, "done")) == len(jobs)
    add_rows = db.execute(
        "SELECT id, prompt_text, extracted_code, extract_method FROM generations WHERE problem_id LIKE '%add-two'"
    ).fetchall()
    assert len(add_rows) == 2
    for gid, prompt_text, code, method in add_rows:
        assert prompt_text.startswith("USER: [") and prompt_text.endswith("\nASSISTANT: ")
        assert "return a + b" in code
        assert method
        assert verdicts[gid] == "pass"
    executions = db.execute("SELECT COUNT(*) FROM executions").fetchone()[0]
    assert executions == len(jobs)
    assert plan_jobs(db, problems, seats, demo_message) == []


def test_samples_give_n_current_answers_per_pair(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    jobs = plan_jobs(db, problems[:2], seats, demo_message, samples=3)
    assert sorted(j.sample_index for j in jobs) == [0, 0, 1, 1, 2, 2]
    run_batch(db_path, FakeBackend(), jobs, evaluate=None)
    rows = _current(db, "done")
    assert len(rows) == 6
    assert len({(p, c, s) for p, c, s, _ in rows}) == 6


def test_the_answers_a_reviewer_grades_come_first_in_the_reviewers_order(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    from gradebench.engine.grading.grades import record_grade
    from gradebench.engine.grading.progress import in_review_order

    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    ids = [p.id for p in problems]
    assert len(ids) >= 3
    first = plan_jobs(db, problems[:1], seats, demo_message)
    run_batch(db_path, FakeBackend(), first, evaluate=None)
    generation = _current_id(db, ids[0])
    record_grade(db, generation_id=generation, reviewer="ann", score=1.0)
    order = in_review_order(db, "ann", "demo", ids, [s.id for s in seats])
    assert order == [*ids[1:], ids[0]]  # ann resumes on the first problem she has not graded
    assert in_review_order(db, None, "demo", ids, [s.id for s in seats]) == ids
    by_id = {p.id: p for p in problems}
    jobs = plan_jobs(db, [by_id[i] for i in order], seats, demo_message, samples=2)
    # every first sample (what a reviewer grades) before any second one, in ann's order
    assert [(j.problem.id, j.sample_index) for j in jobs] == [
        *[(i, 0) for i in order[:-1]],
        *[(i, 1) for i in order],
    ]


def _current_id(db, problem_id: str) -> str:
    row = db.execute(
        "SELECT id FROM generations WHERE problem_id = ? AND superseded_at IS NULL", [problem_id]
    ).fetchone()
    return row[0]


def test_raw_answer_is_in_the_database_while_still_streaming(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    jobs = plan_jobs(db, problems[:1], seats, demo_message)
    backend = FakeBackend(default=[f"w{i} " for i in range(30)])
    observed: list[tuple[str, str]] = []
    reader = open_db(db_path)

    def on_text(job, chunk):
        if chunk == "w20 ":
            observed.append(reader.execute("SELECT status, raw_answer FROM generations").fetchone())

    run_batch(db_path, backend, jobs, evaluate=None, on_text=on_text, flush_seconds=0.0)
    status, partial = observed[0]
    assert status == "streaming"
    assert partial == "".join(f"w{i} " for i in range(21))


def test_cancelled_batch_resumes_with_exactly_one_answer_per_pair(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path)
    jobs = plan_jobs(db, problems, seats, demo_message)
    cancel = threading.Event()
    backend = FakeBackend(default=[f"w{i} " for i in range(50)], token_delay=0.001)

    def on_text(job, chunk):
        if chunk == "w10 " and job is jobs[2]:
            cancel.set()

    summary = run_batch(db_path, backend, jobs, evaluate=None, on_text=on_text, cancel=cancel)
    assert summary.interrupted
    assert summary.count("cancelled") >= 1
    left = plan_jobs(db, problems, seats, demo_message)
    assert 0 < len(left) < len(jobs)
    run_batch(db_path, FakeBackend(), left, evaluate=None)
    assert len(_current(db, "done")) == len(jobs)
    assert len(_current(db)) == len(jobs)
    kept = db.execute(
        "SELECT COUNT(*) FROM generations WHERE superseded_at IS NOT NULL AND status = 'cancelled' "
        "AND raw_answer LIKE 'w0 w1 %'"
    ).fetchone()[0]
    assert kept >= 1, "the cut-off answers are kept, superseded"


KILLED_BATCH = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from gradebench.engine.store.database import open_db
from gradebench.engine.workflows.batch import plan_jobs, run_batch
from tests.fakes import FakeBackend
from tests.seed import demo_message, seed_demo_contenders

db, problems, seats = seed_demo_contenders(Path({db!r}), Path({demo!r}), Path({tmp!r}))
jobs = plan_jobs(db, problems, seats, demo_message)
backend = FakeBackend(default=[f"w{{i}} " for i in range(100000)], token_delay=0.002,
                      answers={{"sum of the integers": {quick!r}}})
run_batch(Path({db!r}), backend, jobs, parallel=1, evaluate=None, flush_seconds=0.05)
"""


def _problem_of(db, generation_id: str) -> str:
    return db.execute(
        "SELECT problem_id FROM generations WHERE id = ?", [generation_id]
    ).fetchone()[0]


def _streaming_and_done(db_path: Path, *, done: bool = True) -> bool:
    """Read-only peek (no migrations) at the batch the other process is writing: an
    answer is streaming and (unless ``done=False``) another one is done."""
    if not db_path.exists():
        return False
    try:
        with sqlite3.connect(db_path, timeout=5) as peek:
            streamed = peek.execute(
                "SELECT COUNT(*) FROM generations WHERE status = 'streaming' "
                "AND length(raw_answer) > 20"
            ).fetchone()[0]
            finished = peek.execute(
                "SELECT COUNT(*) FROM generations WHERE status = 'done'"
            ).fetchone()
        return bool(streamed and (finished[0] or not done))
    except sqlite3.OperationalError:  # tables not created yet
        return False


def _killed_batch_script(db_path: Path, demo_suite_dir: Path, tmp_path: Path) -> Path:
    """The batch script (KILLED_BATCH) written for this test's database and suite."""
    script = tmp_path / "batch.py"
    script.write_text(
        KILLED_BATCH.format(
            repo=str(REPO),
            db=str(db_path),
            demo=str(demo_suite_dir),
            tmp=str(tmp_path),
            quick=ADD_ANSWER,
        )
    )
    return script


def test_kill_9_during_generate_then_rerun_finishes_with_exactly_one_answer_per_pair(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    script = _killed_batch_script(db_path, demo_suite_dir, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, str(script)], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
            if _streaming_and_done(db_path):
                break
        else:
            pytest.fail("the batch never got to stream an answer")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    assert process.returncode == -signal.SIGKILL
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path)
    partial = db.execute(
        "SELECT id, raw_answer FROM generations WHERE status = 'streaming'"
    ).fetchone()
    assert partial is not None and len(partial[1]) > 20
    left = plan_jobs(db, problems, seats, demo_message)
    assert any(j.problem.id == _problem_of(db, partial[0]) for j in left)
    run_batch(db_path, FakeBackend(), left, evaluate=None)
    pairs = {(p.id, s.id) for p in problems for s in seats}
    current = _current(db)
    assert len(current) == len(pairs)
    assert {(p, c) for p, c, _, _ in current} == pairs
    assert all(status == "done" for *_, status in current)
    interrupted = db.execute(
        "SELECT raw_answer, status, error, superseded_at FROM generations WHERE id = ?",
        [partial[0]],
    ).fetchone()
    assert interrupted[0].startswith(partial[1])  # the streamed text was not lost
    assert interrupted[1:3] == ("cancelled", INTERRUPTED)
    assert interrupted[3] is not None
    assert plan_jobs(db, problems, seats, demo_message) == []


def test_error_answers_are_kept_and_not_retried(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    jobs = plan_jobs(db, problems, seats, demo_message)
    run_batch(db_path, FakeBackend(fail_when="sum of the integers"), jobs, evaluate=None)
    assert len(_current(db, "error")) == 1
    assert plan_jobs(db, problems, seats, demo_message) == []


def test_regenerate_supersedes_the_current_answer_and_keeps_it(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    run_batch(
        db_path, FakeBackend(), plan_jobs(db, problems[:1], seats, demo_message), evaluate=None
    )
    key = {"problem_id": problems[0].id, "contender_id": seats[0].id, "prompt_text": "p"}
    with pytest.raises(AlreadyGenerated):
        start_answer(db, **key)
    writer = start_answer(db, **key, regenerate=True)
    rows = db.execute(
        "SELECT id, superseded_at IS NULL FROM generations WHERE problem_id = ?", [problems[0].id]
    ).fetchall()
    assert len(rows) == 2
    assert dict(rows)[writer.generation_id] == 1
    assert sum(current for _, current in rows) == 1


def test_streaming_rows_of_a_live_run_are_not_marked_stale(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    run_id = start_run(db, "grade")  # this process: alive
    start_answer(
        db, problem_id=problems[0].id, contender_id=seats[0].id, prompt_text="p", run_id=run_id
    )
    assert mark_stale_streaming(db) == 0
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    db.execute(
        "UPDATE runs SET host = json_set(host, '$.pid', ?) WHERE id = ?", [int(dead.stdout), run_id]
    )
    db.conn.commit()
    assert mark_stale_streaming(db) == 1
    assert db.execute("SELECT status, error FROM generations").fetchone() == (
        "cancelled",
        INTERRUPTED,
    )


def test_progress_line_shows_count_rate_and_eta() -> None:
    progress = ProgressLine(total=4, started=time.monotonic() - 10)
    for _ in range(50):
        progress.token()
    assert "0/4" in progress.render() and "ETA ?" in progress.render()
    progress.add(None)  # type: ignore[arg-type]
    line = progress.render()
    assert "1/4" in line
    assert "tok/s" in line
    assert "ETA 30s" in line or "ETA 29s" in line or "ETA 31s" in line


def test_the_kill_script_template_is_valid_python() -> None:
    compile(
        textwrap.dedent(KILLED_BATCH.format(repo="r", db="d", demo="x", tmp="t", quick="q")),
        "s",
        "exec",
    )


def test_an_answer_another_live_process_is_streaming_is_left_alone(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    run_id = start_run(db, "grade")  # alive: this very process
    start_answer(
        db, problem_id=problems[0].id, contender_id=seats[0].id, prompt_text="p", run_id=run_id
    )
    left = plan_jobs(db, problems, seats, demo_message)
    assert [j.problem.id for j in left] == [p.id for p in problems[1:]]
    with pytest.raises(AlreadyGenerated):
        start_answer(db, problem_id=problems[0].id, contender_id=seats[0].id, prompt_text="p")


def test_ctrl_c_cancels_the_running_answers_and_keeps_them_for_the_next_run(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    """The batch runs beside other readers of the file, as it does beside the app.

    Readers that closed their connection while it ran (the peeks, collected here) and
    one still open when it exits: the cancelled answer must still reach the file.
    """
    script = _killed_batch_script(db_path, demo_suite_dir, tmp_path)
    process = _interruptible(script)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _streaming_and_done(db_path):
            time.sleep(0.05)
        gc.collect()  # the peeks' connections (kept by a cycle) close now, mid-batch
        with closing(sqlite3.connect(db_path)) as reader:
            reader.execute("SELECT COUNT(*) FROM generations").fetchone()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert "KeyboardInterrupt" in err  # the batch re-raises it after cancelling
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path)
    statuses = [r[0] for r in db.execute("SELECT status FROM generations")]
    assert "streaming" not in statuses, "every running answer was closed before exiting"
    assert "cancelled" in statuses
    run_batch(db_path, FakeBackend(), plan_jobs(db, problems, seats, demo_message), evaluate=None)
    assert len(_current(db, "done")) == len(problems) * len(seats)
    assert len(_current(db)) == len(problems) * len(seats)


SLOW_TO_STOP_BATCH = """
import sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from gradebench.engine.workflows.batch import plan_jobs, run_batch
from tests.fakes import FakeBackend
from tests.seed import demo_message, seed_demo_contenders


class SlowToStop(FakeBackend):
    def generate(self, request, on_text=None, cancel=None):
        result = super().generate(request, on_text, cancel)
        if cancel is not None and cancel.is_set():
            time.sleep(3)  # winding down after the first Ctrl-C: the second lands here
        return result


db, problems, seats = seed_demo_contenders(Path({db!r}), Path({demo!r}), Path({tmp!r}), styles=("plain",))
jobs = plan_jobs(db, problems, seats, demo_message)
backend = SlowToStop(default=[f"w{{i}} " for i in range(100000)], token_delay=0.002)
run_batch(Path({db!r}), backend, jobs, parallel=1, evaluate=None, flush_seconds=0.05)
"""


def test_a_second_ctrl_c_while_the_batch_winds_down_still_closes_the_run(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "slow_to_stop.py"
    script.write_text(
        SLOW_TO_STOP_BATCH.format(
            repo=str(REPO), db=str(db_path), demo=str(demo_suite_dir), tmp=str(tmp_path)
        )
    )
    process = _interruptible(script)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _streaming_and_done(db_path, done=False):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)  # cancels; the worker takes 3 s to stop
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert err.count("KeyboardInterrupt") >= 1
    with closing(sqlite3.connect(db_path)) as reader:
        runs = reader.execute("SELECT kind, finished_at FROM runs").fetchall()
    assert [kind for kind, _ in runs] == ["generate"]
    assert runs[0][1] is not None, "the run is marked finished despite the second Ctrl-C"


def _interruptible(script: Path) -> subprocess.Popen:
    """``script`` run as a batch the way a terminal runs it: Ctrl-C (SIGINT) raises
    KeyboardInterrupt in it; its stderr is kept."""
    return subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def test_answers_written_after_another_process_closed_the_database_reach_the_file(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    """The process that created (migrated) the file keeps SQLite's lock on it.

    Losing it let another process closing its connection checkpoint and delete the
    WAL this one was writing: a Ctrl-C'd answer stayed 'streaming' for good.
    """
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    writer = start_answer(db, problem_id=problems[0].id, contender_id=seats[0].id, prompt_text="p")
    peek = [
        sys.executable,
        "-c",
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print(c.execute('SELECT status FROM generations').fetchone()[0]); c.close()",
        str(db_path),
    ]
    assert subprocess.run(peek, capture_output=True, text=True, check=True).stdout == "streaming\n"
    writer.finish(GenerationResult("w0 ", 1, "cancelled", None, 0.1))
    assert subprocess.run(peek, capture_output=True, text=True, check=True).stdout == "cancelled\n"


def test_the_extractors_notes_and_format_check_are_stored_and_read_back(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    from gradebench.engine.answers.pipeline import stored_answer

    db, problems, seats = seed_demo_contenders(
        db_path, demo_suite_dir, tmp_path, styles=("plain", "cot")
    )
    add = next(p for p in problems if p.id.endswith("add-two"))
    body_only = "```python\n    return a + b\n```\n"  # repaired: the signature is put in front
    backend = FakeBackend(answers={"[plain]": body_only, "[cot]": ADD_ANSWER})
    run_batch(db_path, backend, plan_jobs(db, [add], seats, demo_message), evaluate=None)
    repaired = stored_answer(db, add.id, seats[0].id)
    assert repaired is not None and repaired.extract_method == "signature-completion"
    assert repaired.extract_notes == ("the block is a function body; put the signature in front",)
    assert repaired.followed_format is False
    clean = stored_answer(db, add.id, seats[1].id)
    assert clean is not None and (clean.extract_notes, clean.followed_format) == ((), True)
    stored = dict(db.execute("SELECT contender_id, extract_notes FROM generations").fetchall())
    assert json.loads(stored[seats[1].id]) == []


def test_answers_of_a_file_from_before_the_extraction_details_read_as_unknown(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    from gradebench.engine.answers.pipeline import stored_answer

    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    add = next(p for p in problems if p.id.endswith("add-two"))
    run_batch(
        db_path,
        FakeBackend(answers={"[plain]": ADD_ANSWER}),
        plan_jobs(db, [add], seats, demo_message),
        evaluate=None,
    )
    db = reopened_from_before(
        db,
        db_path,
        "m007_extraction_details",
        "ALTER TABLE generations DROP COLUMN extract_notes;"
        " ALTER TABLE generations DROP COLUMN followed_format;",
    )
    answer = stored_answer(db, add.id, seats[0].id)
    assert (
        answer is not None and answer.extract_method == "fenced" and "return a + b" in answer.code
    )
    assert (answer.extract_notes, answer.followed_format) == ((), None)  # not known, not guessed


def test_a_failure_while_testing_one_answer_is_its_error_and_the_batch_goes_on(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    jobs = plan_jobs(db, problems, seats, demo_message)
    backend = FakeBackend(answers={"sum of the integers": ADD_ANSWER})

    def evaluate(db, problem, generation_id, code):
        if problem.id.endswith("add-two"):
            raise KeyError(0)  # gradebench failing on this one answer
        return "fail"

    summary = run_batch(db_path, backend, jobs, evaluate=evaluate)
    assert len(summary.outcomes) == len(jobs) and not summary.interrupted
    failed = [o for o in summary.outcomes if o.internal_error]
    assert [o.job.problem.id for o in failed] == ["demo/add-two"]
    assert failed[0].verdict == "error"
    assert "KeyError: 0" in failed[0].internal_error
    assert "Traceback" in (tmp_path / "gradebench.log").read_text()
    assert all(o.verdict == "fail" for o in summary.outcomes if not o.internal_error)


def test_starved_test_runs_are_run_again_once_the_batch_has_generated_everything(
    db_path: Path, demo_suite_dir: Path, tmp_path: Path
) -> None:
    """The first test run of each answer comes back ``inconclusive`` (as a run starved
    by the generations beside it does); the batch tests each again at its end, after the
    last answer was generated, and keeps that verdict."""
    db, problems, seats = seed_demo_contenders(db_path, demo_suite_dir, tmp_path, styles=("plain",))
    calls: list[tuple[str, int]] = []
    backend = FakeBackend()

    def starved_then_quiet(db, problem, generation_id, code):  # the scripted part
        calls.append((generation_id, len(backend.requests)))
        return "inconclusive" if sum(1 for g, _ in calls if g == generation_id) == 1 else "pass"

    jobs = plan_jobs(db, problems, seats, demo_message)
    summary = run_batch(db_path, backend, jobs, evaluate=starved_then_quiet)
    assert summary.reruns == len(jobs) == len(problems)
    assert [o.verdict for o in summary.outcomes] == ["pass"] * len(jobs)
    reruns = calls[len(jobs) :]
    assert all(requests == len(jobs) for _g, requests in reruns)  # after every generation
