"""kill -9 right after a score key: the grade is in the database and the app shows it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from gradebench.engine.grading.grades import current_grade
from gradebench.engine.store.database import open_db
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.conftest import REPO
from tests.tui.helpers import make_app, wait_until

CHILD = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from tests.tui.helpers import make_app, wait_until
    from gradebench.tui.widgets.answer_pane import AnswerPane

    async def main():
        app = make_app(Path({tmp!r}))
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(
                pilot, lambda: all(p.state.result is not None for p in app.screen.query(AnswerPane))
            )
            print("READY", flush=True)
            sys.stdin.readline()
            await pilot.press("2")
            print("PRESSED", flush=True)
            time.sleep(60)  # the parent kills us here, mid-session

    asyncio.run(main())
    """
)


async def test_grade_survives_kill_9_right_after_the_score_key_and_shows_on_reopen(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO), tmp=str(tmp_path)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert child.stdout.readline().strip() == "READY"
        db = open_db(tmp_path / "grades.db")
        assert db["grade_events"].count == 0
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "PRESSED"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    db = open_db(tmp_path / "grades.db")
    rows = db.execute("SELECT score, reviewer FROM grade_events").fetchall()
    assert rows == [(0.5, "tess")]
    db.conn.close()
    again = make_app(tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot, lambda: all(p.state.answer is not None for p in again.screen.query(AnswerPane))
        )
        assert again.screen.index == 0  # the right pane is still ungraded
        left = again.screen.query(AnswerPane).first()
        assert left.state.grade is not None and left.state.grade.score == 0.5
        assert current_grade(again.db, left.state.answer.generation_id, "tess").score == 0.5


async def test_answers_left_streaming_by_a_dead_app_are_closed_when_a_session_opens(tmp_path):
    import socket

    from gradebench.engine.answers.recording import INTERRUPTED
    from tests.seed import add_generation, add_run

    dead = subprocess.Popen(["true"])  # a pid whose process has ended
    dead.wait()
    db = open_db(tmp_path / "grades.db")
    run_id = add_run(db, host={"pid": dead.pid, "hostname": socket.gethostname()}, kind="grade")
    stale = add_generation(db, "demo/old", "left-over", status="streaming", run_id=run_id)
    db.conn.close()

    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        db = open_db(tmp_path / "grades.db")
        row = db.execute("SELECT status, error FROM generations WHERE id = ?", (stale,)).fetchone()
        db.conn.close()

    assert row == ("cancelled", INTERRUPTED)


def test_closing_a_session_cancels_its_own_answers_still_streaming_and_no_others(tmp_path):
    from gradebench.engine.workflows.grading_session import (
        QUIT_WHILE_STREAMING,
        GradingSession,
        close_grading_session,
    )
    from tests.seed import add_generation, add_run

    db = open_db(tmp_path / "grades.db")
    mine = add_run(db, host={"pid": os.getpid()}, kind="grade")
    other = add_run(db, host={"pid": os.getpid()}, kind="generate")
    left = add_generation(db, "demo/p1", "c1", status="streaming", run_id=mine)
    done = add_generation(db, "demo/p2", "c1", status="done", run_id=mine)
    elsewhere = add_generation(db, "demo/p3", "c1", status="streaming", run_id=other)
    session = GradingSession("demo", [], [], "ann", False, "all", mine)

    close_grading_session(db, session)

    status = dict(db.execute("SELECT id, status FROM generations").fetchall())
    assert status == {left: "cancelled", done: "done", elsewhere: "streaming"}
    assert db.execute("SELECT error FROM generations WHERE id = ?", (left,)).fetchone()[0] == (
        QUIT_WHILE_STREAMING
    )
    assert db.execute("SELECT finished_at FROM runs WHERE id = ?", (mine,)).fetchone()[0]
