"""The team commands from the command line (``assign``, ``status``) and a session that
follows the reviewer's queue in the app."""

from __future__ import annotations

from gradebench.engine.grading.assignments import reviewer_queue
from gradebench.engine.store.database import open_db
from tests.tui.helpers import DEMO_SUITE, make_app, wait_until

DEMO_IDS = ["demo/add-two", "demo/counter-class", "demo/unique-sorted"]


def test_assign_prints_each_queue_and_status_reads_them(tmp_path, cli):
    db_path = tmp_path / "grades.db"

    made = cli(
        "assign", "--suite", DEMO_SUITE, "--reviewers", "ann,bob,cy", "--overlap", "2",
        "--seed", "4", "--db", db_path,
    )  # fmt: skip
    status = cli("status", "--suite", DEMO_SUITE, "--db", db_path)

    assert made.code == 0, made.err
    assert "assigned 3 problems" in made.out and "2 per problem" in made.out
    assert "ann+bob 1, ann+cy 1, bob+cy 1" in made.out
    assert status.code == 0, status.err
    lines = status.out.splitlines()
    assert lines[0].startswith("reviewer")
    assert [line.split()[:4] for line in lines[1:]] == [
        ["ann", "0", "/", "2"],
        ["bob", "0", "/", "2"],
        ["cy", "0", "/", "2"],
    ]


def test_team_commands_give_one_line_errors(tmp_path, cli):
    db_path = tmp_path / "grades.db"
    cases = [
        (("assign", "--suite", DEMO_SUITE), "--reviewers"),
        (("assign", "--suite", DEMO_SUITE, "--reviewers", "ann", "--overlap", "2"), "--overlap"),
        (("assign", "--suite", DEMO_SUITE, "--handout", "ann"), "-o FILE"),
        (("assign", "--suite", DEMO_SUITE, "--handout", "ann", "-o", tmp_path / "a.db"), "ann"),
        (("status", "--suite", DEMO_SUITE), "nothing is assigned"),
    ]
    for args, expected in cases:
        result = cli(*args, "--db", db_path)
        assert result.code != 0 and expected in result.err, (args, result.err)
        assert result.err.count("\n") == 1 and "Traceback" not in result.err


async def test_a_session_on_the_assigned_problems_follows_the_queue(tmp_path, cli):
    db_path = tmp_path / "grades.db"
    assert cli(
        "assign", "--suite", DEMO_SUITE, "--reviewers", "tess,uma", "--overlap", "1",
        "--db", db_path,
    ).code == 0  # fmt: skip
    db = open_db(db_path)
    queue = reviewer_queue(db, "tess", DEMO_IDS)
    db.conn.close()
    assert 1 <= len(queue) < len(DEMO_IDS)

    app = make_app(tmp_path, which="assigned")
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: app.session is not None)
        assert [p.id for p in app.session.problems] == queue
        header = str(app.screen.query_one("#progress").render())
        assert f"assigned to you: problem 1 of {len(queue)}" in header
