"""Look-ahead in the grading app (Pilot, scripted backend sharing a real thread budget)."""

from __future__ import annotations

from gradebench.engine.generation.thread_budget import ThreadBudget
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.fakes import FakeBackend
from tests.tui.helpers import make_app, wait_until


def panes(app) -> list[AnswerPane]:
    return list(app.screen.query(AnswerPane))


def result_line(pane: AnswerPane) -> str:
    """The verdict line of a pane: badge, tests passed, and (when shown) the run time."""
    return str(pane.query_one(".answer-result").render()).splitlines()[0].rstrip()


def settled(app) -> bool:
    return all(p.state.result is not None for p in panes(app))


def current_rows(app) -> list[tuple[str, str, str]]:
    return app.db.execute(
        "SELECT problem_id, contender_id, status FROM generations WHERE superseded_at IS NULL "
        "ORDER BY started_at"
    ).fetchall()


def answers_tested(app, problem_id: str) -> int:
    return app.db.execute(
        "SELECT COUNT(DISTINCT g.contender_id) FROM generations g JOIN executions e "
        "ON e.generation_id = g.id WHERE g.problem_id = ? AND g.superseded_at IS NULL",
        [problem_id],
    ).fetchone()[0]


async def test_look_ahead_prepares_the_next_problems_in_the_sessions_order(tmp_path):
    backend = FakeBackend(budget=ThreadBudget(2))
    app = make_app(tmp_path, backend, look_ahead=2)
    async with app.run_test(size=(120, 40)) as pilot:
        ids = [p.id for p in app.session.problems]
        await wait_until(pilot, lambda: settled(app) and answers_tested(app, ids[1]) == 2)
        await wait_until(pilot, lambda: answers_tested(app, ids[2]) == 2)
        order = [problem for problem, _c, _s in current_rows(app) if problem != ids[0]]
        assert order == [ids[1]] * 2 + [ids[2]] * 2  # the next problems, nearest first
        await wait_until(
            pilot, lambda: "next 2: 2 ready" in str(app.screen.query_one("#progress").render())
        )
        requests = len(backend.requests)
        await pilot.press("n")
        await wait_until(pilot, lambda: settled(app))
        assert len(backend.requests) == requests  # shown from the store, not regenerated
        assert all(p.state.prepared for p in panes(app))
        assert "prepared ahead" in str(panes(app)[0].border_subtitle)


async def test_opening_a_problem_mid_look_ahead_takes_the_threads(tmp_path):
    budget = ThreadBudget(2)
    backend = FakeBackend(budget=budget, token_delay=0.01, default=[f"t{i} " for i in range(300)])
    backend.answers["sum of the integers"] = "```python\ndef add(a, b):\n    return a + b\n```\n"
    app = make_app(tmp_path, backend, look_ahead=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        # the first problem is done: look-ahead runs both threads on the next ones
        await wait_until(pilot, lambda: sum(t for _l, _a, t in budget.snapshot()) == 2)
        assert all(label for label, _a, _t in budget.snapshot())
        await pilot.press("n")
        screen_labels = {s.name for s in app.session.seats}
        problem = app.screen.problem.id

        def screen_has_the_threads() -> bool:
            leases = budget.snapshot()
            on_screen = [x for x in leases if x[0] in screen_labels and x[2] > 0]
            return len(on_screen) == 2 and sum(x[2] for x in leases) <= 2

        await wait_until(pilot, screen_has_the_threads)
        assert budget.in_use() <= 2
        assert problem == app.session.problems[1].id
        await pilot.press("escape")


async def test_quitting_mid_look_ahead_leaves_rows_the_next_session_resumes_once(tmp_path):
    backend = FakeBackend(token_delay=0.005, default=[f"t{i} " for i in range(200)])
    app = make_app(tmp_path, backend, look_ahead=2)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        await wait_until(
            pilot, lambda: any(p != app.screen.problem.id for p, _c, _s in current_rows(app))
        )
    # the app quit while look-ahead streamed: its rows are cancelled, never left streaming
    assert all(status != "streaming" for _p, _c, status in current_rows(app))
    again = make_app(tmp_path, FakeBackend(), look_ahead=2)
    async with again.run_test(size=(120, 40)) as pilot:
        ids = [p.id for p in again.session.problems]
        await wait_until(pilot, lambda: all(answers_tested(again, i) == 2 for i in ids))
        rows = current_rows(again)
        assert sorted((p, c) for p, c, _s in rows) == sorted(
            {(p, c) for p, c, _s in rows}
        )  # one current row per (problem, contender)
        assert len(rows) == 2 * len(ids)
        assert all(status in ("done", "max_tokens") for _p, _c, status in rows)


async def test_look_ahead_zero_generates_only_the_problem_on_screen(tmp_path):
    backend = FakeBackend()
    app = make_app(tmp_path, backend, look_ahead=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        await pilot.pause(0.2)
        assert {p for p, _c, _s in current_rows(app)} == {app.screen.problem.id}
        assert "ready" not in str(app.screen.query_one("#progress").render())
        assert len(backend.requests) == 2


async def test_blind_panes_show_no_speed_tokens_or_times_until_the_reveal(tmp_path):
    app = make_app(tmp_path, FakeBackend(), blind=True, stable_display=False, look_ahead=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        left, right = panes(app)
        for pane in (left, right):
            assert "tok" not in str(pane.border_subtitle)
            assert result_line(pane).endswith("tests")  # no run time after the counts
        await pilot.press("1", "tab", "1")
        await wait_until(pilot, lambda: app.screen.presentation.revealed)
        for pane in (left, right):
            assert "tok/s" in str(pane.border_subtitle)
            assert result_line(pane).endswith(" s")  # the run time, after the reveal


async def test_blind_panes_appear_together_so_finish_order_is_hidden(tmp_path):
    # the chain-of-thought contender's answer is ten times longer: live, it would finish
    # visibly later. Blind, neither pane shows any text until both are answered and tested.
    backend = FakeBackend(token_delay=0.02)
    backend.answers["step by step"] = " ".join(f"w{i}" for i in range(60)) + (
        "\n```python\ndef solve(x):\n    return x\n```\n"
    )
    app = make_app(tmp_path, backend, blind=True, stable_display=False, look_ahead=0)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: len(backend.requests) == 2)
        # wait until one answer is complete off screen while the other still streams
        await wait_until(
            pilot,
            lambda: (
                any(s.result is not None for s in screen.held.values())
                and any(s.streaming for s in screen.held.values())
            ),
        )
        for pane in panes(app):
            assert pane.state.answer is None  # a placeholder: no text, no verdict
            assert pane.state.text == ""
            assert "appear together" in pane.state.status
            shown = pane.query_one(f"#stream-{pane.index}").render()
            assert "appear together" in str(shown)  # the reviewer sees why the pane is empty
        await wait_until(pilot, lambda: settled(app))
        assert screen.held == {}
        assert all(p.state.answer is not None for p in panes(app))
        assert not any("tok" in str(p.border_subtitle) for p in panes(app))


async def test_open_mode_still_streams_live(tmp_path):
    backend = FakeBackend(token_delay=0.02, default=[f"t{i} " for i in range(80)])
    app = make_app(tmp_path, backend, blind=False, look_ahead=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: any(p.state.phase == "streaming" for p in panes(app)))
        assert app.screen.held == {}
        await pilot.press("escape")


async def test_opening_a_problem_mid_look_ahead_follows_its_answers_instead_of_redoing_them(
    tmp_path,
):
    budget = ThreadBudget(2)
    backend = FakeBackend(budget=budget, token_delay=0.01, default=[f"t{i} " for i in range(400)])
    backend.answers["sum of the integers"] = "```python\ndef add(a, b):\n    return a + b\n```\n"
    app = make_app(tmp_path, backend, look_ahead=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        second = app.session.problems[1].id

        def streaming_ahead() -> bool:
            rows = app.db.execute(
                "SELECT COUNT(*) FROM generations WHERE problem_id = ? AND status = 'streaming'"
                " AND length(coalesce(raw_answer, '')) > 0",
                [second],
            ).fetchone()[0]
            return rows == 2

        await wait_until(pilot, streaming_ahead)
        await pilot.press("n")
        assert app.screen.problem.id == second
        # the panes stream the look-ahead answers live, then settle with their verdicts
        await wait_until(pilot, lambda: any(p.state.phase == "streaming" for p in panes(app)))
        await wait_until(pilot, lambda: settled(app), timeout=30)
        rows = app.db.execute(
            "SELECT status, superseded_at FROM generations WHERE problem_id = ?", [second]
        ).fetchall()
        assert len(rows) == 2  # no answer was thrown away and started again
        assert all(status == "max_tokens" or status == "done" for status, _s in rows)
        assert all(superseded is None for _status, superseded in rows)
        statement = app.session.problems[1].statement.strip().splitlines()[0]
        asked = [r for r in backend.requests if statement in r.prompt_text]
        assert len(asked) == 2  # one request per contender for that problem, no more
        assert not any(p.state.prepared for p in panes(app))  # watched live, not ahead
