"""The grading app driven by Pilot with a scripted backend on the demo suite."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field

from gradebench.engine.grading.grades import current_grade, grade_history
from gradebench.engine.grading.presentations import latest_presentation
from gradebench.engine.grading.reviewer_settings import last_reviewer
from gradebench.engine.grading.votes import current_vote
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.fakes import FakeBackend, tokens_of
from tests.tui.helpers import make_app, wait_until

RIGHT_ADD = "Sure.\n```python\ndef add(a, b):\n    return a + b\n```\n"
WRONG_ADD = "```python\ndef add(a, b):\n    return a - b\n```\n"


@dataclass
class ByContender(FakeBackend):
    """Scripts picked by contender name (the request's label), else by prompt text."""

    by_label: dict[str, str] = field(default_factory=dict)

    def script_for(self, request):
        if request.label in self.by_label:
            return tokens_of(self.by_label[request.label])
        return super().script_for(request)


def panes(app) -> list[AnswerPane]:
    return list(app.screen.query(AnswerPane))


def settled(app) -> bool:
    return all(p.state.result is not None for p in panes(app))


def grade_rows(app) -> list[tuple]:
    return app.db.execute(
        "SELECT generation_id, score, replaces_id, id FROM grade_events ORDER BY rowid"
    ).fetchall()


async def test_streaming_shows_each_contenders_tokens_in_its_own_pane(tmp_path):
    slow_words = " ".join(f"word{i}" for i in range(60))
    backend = ByContender(
        by_label={"model-x": "alpha " + slow_words + "\n" + RIGHT_ADD, "model-y": WRONG_ADD},
        token_delay=0.01,
    )
    app = make_app(tmp_path, backend)
    async with app.run_test(size=(120, 40)) as pilot:
        left, right = panes(app)
        await wait_until(pilot, lambda: "word5" in "".join(left.state.pieces))
        assert left.state.streaming and left.state.tokens >= 6
        assert "alpha" not in "".join(right.state.pieces)
        await wait_until(pilot, lambda: settled(app))
        assert "a + b" in (left.state.answer.code or "") and "a - b" in (
            right.state.answer.code or ""
        )
        assert left.state.result.verdict == "pass" and right.state.result.verdict == "fail"
        assert right.state.result.first_failure is not None
        # fewer renders than tokens: the batcher hands text over in chunks
        assert len(left.state.pieces) == 1  # settled: the full answer, shown once


async def test_scoring_by_key_writes_one_event_and_editing_adds_a_second(tmp_path):
    app = make_app(tmp_path, ByContender(by_label={"model-x": RIGHT_ADD, "model-y": WRONG_ADD}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        left = panes(app)[0]
        assert app.focused is left
        await pilot.press("3")  # third rubric level: correct (1.0)
        rows = grade_rows(app)
        assert len(rows) == 1 and rows[0][1] == 1.0 and rows[0][2] is None
        assert rows[0][0] == left.state.answer.generation_id
        assert "correct" in str(left.query_one(".answer-grade").render())
        await pilot.press("2")  # change of mind: partially correct
        rows = grade_rows(app)
        assert len(rows) == 2 and rows[1][1] == 0.5
        event = current_grade(app.db, left.state.answer.generation_id, "tess")
        assert event.score == 0.5 and event.replaces_id == rows[0][3] == rows[1][2]
        history = grade_history(app.db, left.state.answer.generation_id)
        assert [e.score for e in history] == [1.0, 0.5]
        assert history[1].replaces_id == history[0].id


async def test_accept_flag_and_note_are_saved_as_new_events(tmp_path):
    app = make_app(tmp_path, ByContender(by_label={"model-x": RIGHT_ADD, "model-y": WRONG_ADD}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        await pilot.press("tab")  # right pane: the wrong answer
        right = panes(app)[1]
        assert app.focused is right
        await pilot.press("a")
        event = current_grade(app.db, right.state.answer.generation_id, "tess")
        assert event.score == app.rubric.nearest(right.state.result.suggested_score)
        assert event.suggested_score == right.state.result.suggested_score
        flag_before = event.format_ok
        await pilot.press("f")
        flagged = current_grade(app.db, right.state.answer.generation_id, "tess")
        assert flagged.format_ok is (not flag_before) and flagged.replaces_id == event.id
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "NoteScreen")
        await pilot.press(*"subtracts", "ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "GradingScreen")
        noted = current_grade(app.db, right.state.answer.generation_id, "tess")
        assert noted.note == "subtracts" and noted.score == event.score
        assert len(grade_history(app.db, right.state.answer.generation_id)) == 3


async def test_blind_mode_hides_names_until_the_problem_is_graded_and_records_the_shuffle(
    tmp_path,
):
    app = make_app(
        tmp_path,
        ByContender(by_label={"model-x": RIGHT_ADD, "model-y": WRONG_ADD}),
        blind=True,
        seed=3,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        left, right = panes(app)
        assert [left.border_title, right.border_title] == ["A", "B"]
        summary_before = str(app.screen.query_one("#progress").render())
        shown = latest_presentation(app.db, "demo/add-two", "tess")
        assert shown.blind and shown.revealed_at is None
        seats = {s.contender_id: s.name for s in app.session.seats}
        await pilot.press("3")
        assert left.border_title == "A"  # one of two graded: still hidden
        # and the running summary does not give away whose answer was just graded
        assert str(app.screen.query_one("#progress").render()) == summary_before
        await pilot.press("tab", "1")
        assert left.border_title == f"A · {seats[shown.contender_order[0]]}"
        assert right.border_title == f"B · {seats[shown.contender_order[1]]}"
        assert latest_presentation(app.db, "demo/add-two", "tess").revealed_at
        blind_flags = app.db.execute("SELECT DISTINCT blind FROM grade_events").fetchall()
        assert blind_flags == [(1,)]


async def test_vote_key_records_a_preference_between_the_two_panes(tmp_path):
    app = make_app(tmp_path, ByContender(by_label={"model-x": RIGHT_ADD, "model-y": WRONG_ADD}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        left, right = panes(app)
        await pilot.press("left_square_bracket")
        vote = current_vote(app.db, "demo/add-two", "tess")
        assert vote.outcome == "a"
        assert (vote.generation_a, vote.generation_b) == (
            left.state.answer.generation_id,
            right.state.answer.generation_id,
        )
        await pilot.press("equals_sign")
        assert current_vote(app.db, "demo/add-two", "tess").outcome == "tie"
        assert app.db["votes"].count == 2


async def test_next_ungraded_skips_problems_already_graded(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        for _ in range(2):  # grade problems 1 and 2 fully
            await wait_until(pilot, lambda: settled(app))
            await pilot.press("1", "tab", "1", "n")
        assert screen.index == 2
        await pilot.press("p", "p")
        await wait_until(pilot, lambda: screen.index == 0 and settled(app))
        await pilot.press("u")
        assert screen.index == 2


async def test_reopening_the_app_resumes_on_the_first_ungraded_problem_without_regenerating(
    tmp_path,
):
    backend = FakeBackend()
    app = make_app(tmp_path, backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        await pilot.press("3", "tab", "3", "n")
        await wait_until(pilot, lambda: settled(app))
    generated = len(backend.requests)
    assert generated == 4
    again = make_app(tmp_path, backend)
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(again))
        assert again.screen.index == 1
        assert again.screen.problem.id == "demo/counter-class"
        await pilot.press("p")
        await wait_until(pilot, lambda: settled(again))
        assert all(p.state.grade is not None and p.state.grade.score == 1.0 for p in panes(again))
    assert len(backend.requests) == generated  # stored answers were shown, not regenerated


async def test_escape_cancels_a_running_stream(tmp_path):
    long_answer = " ".join(f"t{i}" for i in range(400))
    backend = ByContender(by_label={"model-x": long_answer, "model-y": RIGHT_ADD}, token_delay=0.01)
    app = make_app(tmp_path, backend)
    async with app.run_test(size=(120, 40)) as pilot:
        left = panes(app)[0]
        await wait_until(pilot, lambda: left.state.tokens >= 5)
        await pilot.press("escape")
        await wait_until(pilot, lambda: left.state.answer is not None)
        assert left.state.answer.status == "cancelled"
        assert left.state.answer.tokens < 400
        status = app.db.execute(
            "SELECT status FROM generations WHERE id = ?", [left.state.answer.generation_id]
        ).fetchone()
        assert status == ("cancelled",)
        assert left.state.result is None  # a cancelled answer is not tested


async def test_regenerate_replaces_the_focused_answer_and_keeps_the_old_one(tmp_path):
    backend = ByContender(by_label={"model-x": WRONG_ADD, "model-y": RIGHT_ADD})
    app = make_app(tmp_path, backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        left = panes(app)[0]
        old = left.state.answer.generation_id
        backend.by_label["model-x"] = RIGHT_ADD
        await pilot.press("r")
        await wait_until(
            pilot, lambda: left.state.result is not None and left.state.answer is not None
        )
        assert left.state.answer.generation_id != old and left.state.result.verdict == "pass"
        rows = app.db.execute(
            "SELECT id, superseded_at IS NOT NULL FROM generations WHERE problem_id = ? "
            "AND contender_id = ? ORDER BY started_at",
            ["demo/add-two", app.session.seats[0].contender_id],
        ).fetchall()
        assert rows == [(old, 1), (left.state.answer.generation_id, 0)]


async def test_help_screen_and_command_palette_list_the_actions(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Next ungraded" in titles and "Accept suggested" in titles
        assert any(t.startswith("Score: correct") for t in titles)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "GradingScreen")


async def test_footer_hides_vote_keys_with_more_than_two_panes(tmp_path):
    from tests.tui.helpers import contenders

    app = make_app(tmp_path, contenders=contenders(tmp_path, 3))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        assert len(panes(app)) == 3
        assert app.screen.check_action("vote", ("a",)) is False
        assert app.screen.check_action("next_ungraded", ()) is True


async def test_session_screen_starts_grading_with_the_chosen_reviewer(tmp_path):
    app = make_app(tmp_path, ask=True, reviewer=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "SessionScreen")
        await pilot.press(*"rita", "enter")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "GradingScreen")
        assert app.session.reviewer == "rita"
        assert last_reviewer(app.db) == "rita"
        await wait_until(pilot, lambda: settled(app))


async def test_quitting_mid_stream_stops_every_generation_the_app_started(tmp_path):
    """Answers stream in worker threads, which can only be asked to stop: quitting while
    two answers still stream must end both generations (none keeps a thread busy)."""
    endless = FakeBackend(default=[f"t{i} " for i in range(100_000)], token_delay=0.01)
    app = make_app(tmp_path, backend=endless)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(endless.requests) == 2 and endless.active == 2)
        await pilot.press("q")
    deadline = time.monotonic() + 60
    while endless.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert endless.active == 0
    statuses = sqlite3.connect(tmp_path / "grades.db").execute("SELECT status FROM generations")
    assert sorted(status for (status,) in statuses) == ["cancelled", "cancelled"]


async def test_leaderboard_key_opens_it_and_is_held_back_while_blind_names_are_hidden(tmp_path):
    app = make_app(tmp_path, blind=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        assert app.check_action("leaderboard", ()) is None
        await pilot.press("3", "tab", "3")
        assert app.check_action("leaderboard", ()) is True
        await pilot.press("L")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "LeaderboardScreen")


async def test_a_job_that_raises_is_logged_with_its_traceback_and_only_its_pane_fails(tmp_path):
    backend = ByContender(by_label={"model-y": RIGHT_ADD}, raise_when="sum of the integers")
    backend.by_label["model-x"] = RIGHT_ADD
    app = make_app(tmp_path, backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: all(p.state.phase == "failed" for p in panes(app)))
        log = tmp_path / "gradebench.log"
        left = panes(app)[0]
        assert left.state.status.startswith(
            "error: internal error while generate demo/add-two / model-x:"
            " RuntimeError: scripted backend crash"
        )
        assert str(log) in left.state.status
        text = log.read_text()
        assert "Traceback (most recent call last)" in text and "scripted backend crash" in text
        assert "generate demo/add-two / model-x" in text
        backend.raise_when = None  # the app is still usable: the next problem streams
        await pilot.press("n")
        await wait_until(pilot, lambda: settled(app))
        assert app.screen.index == 1


async def test_footer_is_rebuilt_only_when_the_keys_it_shows_change(tmp_path):
    from gradebench.tui.widgets.key_footer import KeyFooter

    slow = ByContender(
        by_label={"model-x": RIGHT_ADD + " ".join(["pad"] * 40), "model-y": WRONG_ADD},
        token_delay=0.02,
    )
    app = make_app(tmp_path, slow)
    async with app.run_test(size=(160, 40)) as pilot:
        footer = app.screen.query_one(KeyFooter)

        def enabled() -> list[str]:
            keys = footer.children
            return [getattr(k, "description", "") for k in keys if not k.has_class("-disabled")]

        await wait_until(pilot, lambda: "cancel" in enabled())  # Escape applies while streaming
        await wait_until(pilot, lambda: settled(app))
        await wait_until(pilot, lambda: "cancel" not in enabled() and "regen" in enabled())
        await pilot.pause()
        before = list(footer.children)
        await pilot.press("tab")
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.focused is panes(app)[0]
        assert list(footer.children) == before  # focus moved, same keys: no rebuild


async def test_w_gives_a_reason_when_the_grade_disagrees_with_the_tests(tmp_path):
    import json

    from gradebench.engine.grading.progress import select_problems

    app = make_app(tmp_path, ByContender(by_label={"model-x": RIGHT_ADD, "model-y": WRONG_ADD}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: settled(app))
        left, right = panes(app)
        assert left.state.result.verdict == "pass" and right.state.result.verdict != "pass"
        await pilot.press("3")  # left passes its tests: full credit agrees
        await pilot.press("w")  # nothing to explain: no dialog, no event
        assert len(grade_rows(app)) == 1 and app.screen is not None
        await pilot.press("tab", "3")  # right fails its tests: full credit disagrees
        await pilot.press("w")
        await pilot.press("1")  # weak tests
        event = current_grade(app.db, right.state.answer.generation_id, "tess")
        assert event.score == 1.0 and event.rubric == {"reason": "weak_tests"}
        assert len(grade_rows(app)) == 3
        assert "why it differs from the tests: weak tests" in str(
            right.query_one(".answer-grade").render()
        )
        session = app.session
        chosen = select_problems(
            session.problems,
            "disagreeing",
            db=app.db,
            reviewer="tess",
            contender_ids=[s.contender_id for s in session.seats],
        )
        assert [p.id for p in chosen] == [session.problems[0].id]
        rubric = app.db.execute(
            "SELECT rubric FROM grade_events ORDER BY rowid DESC LIMIT 1"
        ).fetchone()[0]
        assert json.loads(rubric) == {"reason": "weak_tests"}
