"""A problem opened while another process streams one of its answers: the pane shows that
process's stored text as it grows instead of generating its own, settles on the answer it
finishes, and takes the answer over (generates it here) when that process dies first.

The other process is played by rows written straight into the file, claimed by the run of
a real child process that the test keeps alive or kills.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from gradebench.engine.generation.contender_rows import register_contender
from gradebench.engine.generation.prompts import PromptTemplates
from gradebench.engine.problems.suites.files import load_directory
from gradebench.engine.store.database import new_id, open_db, utc_now
from gradebench.tui.screens import pane_jobs
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.seed import add_run
from tests.tui.helpers import DEMO_SUITE, contenders, make_app, wait_until

PARTIAL = "```python\ndef add(a, b):\n"
REST = "    return a + b\n```\n"


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield child
    child.kill()
    child.wait()


def _claimed_answer(tmp_path, pid: int, problem_index: int = 0) -> tuple[str, str]:
    """A demo problem's first contender, ``streaming`` in the run of ``pid``; returns
    (answer id, contender id)."""
    db = open_db(tmp_path / "grades.db")
    problem = load_directory(DEMO_SUITE).problems[problem_index]
    contender = contenders(tmp_path)[0]
    registered = register_contender(
        db, contender, PromptTemplates().template(contender.prompt_style)
    )
    from gradebench.engine.answers.pipeline import ensure_problem_row

    ensure_problem_row(db, problem)
    run = add_run(db, host={"hostname": socket.gethostname(), "pid": pid}, kind="grade")
    answer = new_id()
    db["generations"].insert(
        {
            "id": answer,
            "run_id": run,
            "problem_id": problem.id,
            "contender_id": registered.id,
            "prompt_text": "p",
            "raw_answer": PARTIAL,
            "status": "streaming",
            "started_at": utc_now(),
        }
    )
    db.conn.close()
    return answer, registered.id


def _pane_of(app, contender_id: str) -> AnswerPane:
    return next(p for p in app.screen.panes if app.screen.seat_of(p).contender_id == contender_id)


def _rows(app) -> list[tuple[str, str, bool]]:
    return app.db.execute(
        "SELECT id, status, superseded_at IS NULL FROM generations ORDER BY started_at"
    ).fetchall()


async def test_the_pane_follows_the_other_process_and_settles_on_its_answer(
    tmp_path, other_process, monkeypatch
) -> None:
    monkeypatch.setattr(pane_jobs, "RESULT_GRACE_SECONDS", 0.5)
    answer, contender_id = _claimed_answer(tmp_path, other_process.pid)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = _pane_of(app, contender_id)
        await wait_until(pilot, lambda: PARTIAL in pane.state.text)
        assert pane.state.streaming
        with app.db.conn:
            app.db.execute(
                "UPDATE generations SET raw_answer = ? WHERE id = ?", [PARTIAL + REST[:10], answer]
            )
        await wait_until(pilot, lambda: (PARTIAL + REST[:10]) in pane.state.text)
        with app.db.conn:
            app.db.execute(
                "UPDATE generations SET raw_answer = ?, extracted_code = ?,"
                " extract_method = 'fenced', status = 'done', finished_at = ? WHERE id = ?",
                [PARTIAL + REST, "def add(a, b):\n    return a + b\n", utc_now(), answer],
            )
        await wait_until(pilot, lambda: pane.state.result is not None, timeout=60)
        assert pane.state.answer.generation_id == answer
        assert pane.state.result.verdict == "pass"  # no result came: tested here
        ids = [gid for gid, _s, _c in _rows(app)]
        assert answer in ids and len(ids) == 2  # this answer and the other pane's own
        assert all(current for _g, _s, current in _rows(app))
        await pilot.press("q")


async def test_the_pane_takes_the_answer_over_when_the_other_process_dies(
    tmp_path, other_process
) -> None:
    answer, contender_id = _claimed_answer(tmp_path, other_process.pid)
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = _pane_of(app, contender_id)
        await wait_until(pilot, lambda: PARTIAL in pane.state.text)
        other_process.kill()
        other_process.wait()
        await wait_until(pilot, lambda: pane.state.result is not None, timeout=60)
        taken = pane.state.answer.generation_id
        assert taken != answer
        rows = {gid: (status, current) for gid, status, current in _rows(app)}
        assert rows[answer] == ("cancelled", False)  # the dead claim, kept, superseded
        assert rows[taken] == ("done", True)
        await pilot.press("q")


def _header(app) -> str:
    return str(app.screen.query_one("#progress").render())


async def test_look_ahead_leaves_a_pair_to_the_process_making_it_and_takes_over_if_it_dies(
    tmp_path, other_process
) -> None:
    answer, _contender_id = _claimed_answer(tmp_path, other_process.pid, problem_index=1)
    app = make_app(tmp_path, look_ahead=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "next 1: 0 ready, 1 preparing" in _header(app))
        await pilot.pause(1.0)  # look-ahead polls the claim; it must not make its own answer
        assert "next 1: 0 ready, 1 preparing" in _header(app)
        second = app.session.problems[1].id
        made = app.db.execute(
            "SELECT COUNT(*) FROM generations WHERE problem_id = ?", [second]
        ).fetchone()[0]
        assert made == 2  # the claimed answer and the other contender's, made here
        other_process.kill()
        other_process.wait()
        await wait_until(pilot, lambda: "next 1: 1 ready" in _header(app), timeout=60)
        rows = app.db.execute(
            "SELECT id, status, superseded_at IS NULL FROM generations WHERE problem_id = ?",
            [second],
        ).fetchall()
        statuses = {gid: (status, current) for gid, status, current in rows}
        assert statuses[answer] == ("cancelled", False)
        assert sorted(v for g, v in statuses.items() if g != answer) == [("done", True)] * 2
        await pilot.press("q")
