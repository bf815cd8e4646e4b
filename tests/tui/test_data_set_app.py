"""The grading app on data set files: a human-eval format file of three tasks (with and
without canonical solutions) and MBPP+, chosen by subset, answered, tested and graded."""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.grading.grades import current_grade
from tests.conftest import HUMANEVAL_FORMAT_FILE
from tests.fakes import FakeBackend
from tests.tui.helpers import make_app, wait_until

HUMANEVAL_ANSWERS = {
    "sum of a and b": "```python\ndef add(a, b):\n    return a + b\n```\n",
    "upper case": "```python\ndef shout(text):\n    return text.upper() + '!'\n```\n",
    "squares of": "```python\ndef squares(n):\n    return [i * i for i in range(n)]\n```\n",
}


def panes(app) -> list:
    from gradebench.tui.widgets.answer_pane import AnswerPane

    return list(app.screen.query(AnswerPane))


def settled(app) -> bool:
    return bool(panes(app)) and all(p.state.result is not None for p in panes(app))


async def test_a_human_eval_file_loads_evaluates_and_grades_in_the_app(tmp_path: Path):
    backend = FakeBackend(answers=dict(HUMANEVAL_ANSWERS))
    app = make_app(tmp_path, backend, suite=str(HUMANEVAL_FORMAT_FILE))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app), timeout=60)
        assert [p.extra["task_id"] for p in app.session.problems] == ["Mine/0", "Mine/1", "Mine/2"]
        left, right = panes(app)
        assert left.state.result.verdict == "pass" and right.state.result.verdict == "pass"
        await pilot.press("3")
        event = current_grade(app.db, left.state.answer.generation_id, "tess")
        assert event is not None and event.score == 1.0
        await pilot.press("n")  # the task without a canonical solution: its asserts decide
        await wait_until(
            pilot,
            lambda: settled(app) and panes(app)[0].state.answer.problem_id == "three_tasks/Mine/1",
            timeout=60,
        )
        first, _ = panes(app)
        assert first.state.result.verdict == "pass" and first.state.result.total == 4


async def test_the_app_runs_on_an_mbppplus_subset(tmp_path: Path, mbppplus_path: Path):
    from gradebench.engine.problems.registry import SuiteSources

    answers = {
        "shared elements": "```python\ndef similar_elements(a, b):\n"
        "    return tuple(set(a) & set(b))\n```\n"
    }
    app = make_app(
        tmp_path,
        FakeBackend(answers=answers),
        suite="mbpp+",
        subset="Mbpp/2 Mbpp/3",
        suite_loader=SuiteSources(data=mbppplus_path).load,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app), timeout=120)
        assert [p.id for p in app.session.problems] == ["Mbpp+/2", "Mbpp+/3"]
        left = panes(app)[0]
        assert left.state.answer.problem_id == "Mbpp+/2"
        assert left.state.result.verdict == "pass" and left.state.result.total == 111
        assert "Write a function to find the shared elements" in app.session.problems[0].statement
