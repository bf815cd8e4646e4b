"""Two reviewers, two real app processes, one ``grades.db``, the same suite and contenders
at the same time (the walk of issue 15): each app shows the answer the other one is
streaming instead of making its own, so every pair has one answer, both reviewers' grades
sit on it (agreement can be computed), and nothing is left ``streaming`` after both quit.

Each child runs the real ``GradebenchApp`` under Pilot on the real default model (gpt4all,
one thread, short answers) with look-ahead on; they start together, so they race on the
first problem's answers and then on the ones look-ahead prepares.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from gradebench.engine.generation.default_model import installed_path
from tests.conftest import REPO

pytestmark = [pytest.mark.model, pytest.mark.slow]

PROBLEMS = 3
CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from dataclasses import replace
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from gradebench.engine.config import Config
    from gradebench.engine.generation.registry import load_registry
    from gradebench.engine.problems.model import SuiteLoad
    from gradebench.engine.problems.suites import load_suite
    from gradebench.tui.app import GradebenchApp
    from gradebench.tui.widgets.answer_pane import AnswerPane
    from tests.tui.helpers import wait_until

    reviewer, keys = sys.argv[1], sys.argv[2].split(",")
    problems = load_suite("lowcost60").problems[:{count}]

    def three(_name):
        return SuiteLoad("lowcost60", problems)

    config = Config(data={{"generation": {{"max_threads": 1}}}})
    registry = load_registry(config)
    short = [
        replace(c, params=replace(c.params, max_tokens=24))
        for c in (registry.contender("smollm2-plain"), registry.contender("smollm2-cot"))
    ]
    app = GradebenchApp(
        db_path=Path({db!r}), config=config, suite="lowcost60", contenders=short,
        reviewer=reviewer, ask=False, suite_loader=three, stable_display=True, seed=7,
        recheck_rate=0.0,
    )

    def settled(index):
        panes = list(app.screen.query(AnswerPane))
        return app.screen.problem.id == problems[index].id and len(panes) == 2 and all(
            p.state.answer is not None and p.state.answer.status != "streaming"
            and (p.state.result is not None or p.state.answer.status not in ("done", "max_tokens"))
            for p in panes
        )

    async def main():
        seen = []
        async with app.run_test(size=(140, 45)) as pilot:
            for index in range(len(problems)):
                await wait_until(pilot, lambda: settled(index), timeout=300)
                panes = list(app.screen.query(AnswerPane))
                seen.append([p.state.answer.generation_id for p in panes])
                await pilot.press(keys[index % len(keys)], "tab", keys[(index + 1) % len(keys)])
                await pilot.pause(0.05)
                if index + 1 < len(problems):
                    await pilot.press("n")
            header = str(app.screen.query_one("#progress").render())
            await pilot.press("q")
        print(json.dumps({{"seen": seen, "header": header}}), flush=True)

    asyncio.run(main())
    """
)


def _child(tmp_path, db_path, reviewer: str, keys: str) -> subprocess.Popen:
    script = tmp_path / f"{reviewer}.py"
    script.write_text(CHILD.format(repo=str(REPO), db=str(db_path), count=PROBLEMS))
    return subprocess.Popen(
        [sys.executable, str(script), reviewer, keys],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def test_two_reviewers_on_one_database_share_every_answer_and_both_grade_it(tmp_path) -> None:
    if not installed_path().is_file():
        pytest.fail("default model missing: run `gradebench models install-default`")
    db_path = tmp_path / "grades.db"
    ann = _child(tmp_path, db_path, "ann", "3,2,1")
    bob = _child(tmp_path, db_path, "bob", "3,1,2")
    ends = {name: child.communicate(timeout=900) for name, child in (("ann", ann), ("bob", bob))}
    for name, child in (("ann", ann), ("bob", bob)):
        assert child.returncode == 0, f"{name}: {ends[name][1][-1500:]}"
    reports = {name: json.loads(out.strip().splitlines()[-1]) for name, (out, _e) in ends.items()}
    seen = {name: report["seen"] for name, report in reports.items()}

    with sqlite3.connect(db_path) as db:
        answers = db.execute(
            "SELECT id, problem_id, contender_id, status, superseded_at FROM generations"
        ).fetchall()
        grades = db.execute("SELECT reviewer, generation_id, score FROM grade_current").fetchall()
        grade_runs = db.execute(
            "SELECT reviewer, finished_at FROM runs WHERE kind = 'grade'"
        ).fetchall()
    pairs = PROBLEMS * 2
    current = {gid for gid, _p, _c, _s, sup in answers if sup is None}
    assert len(current) == pairs  # one current answer per (problem, contender)
    assert len(answers) == pairs, answers  # and no answer made twice: nothing superseded
    assert all(status in ("done", "max_tokens") for _g, _p, _c, status, _s in answers)
    # both apps showed the same answers, pane by pane
    assert seen["ann"] == seen["bob"]
    assert {gid for pane_ids in seen["ann"] for gid in pane_ids} == current
    # every grade of both reviewers is on a current answer, and each answer has both
    assert {gid for _r, gid, _s in grades} == current
    per_answer = {gid: {r for r, g, _s in grades if g == gid} for gid in current}
    assert all(reviewers == {"ann", "bob"} for reviewers in per_answer.values())
    assert sorted(r for r, _f in grade_runs) == ["ann", "bob"]
    assert all(finished is not None for _r, finished in grade_runs)
    for report in reports.values():  # each header counts the reviewer's own grades
        assert f"graded {PROBLEMS}/{PROBLEMS}" in report["header"], report["header"]
