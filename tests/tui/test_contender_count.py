"""A session has 2 to 4 contenders, whether asked on the command line or at session start.

TODO(lead): the rule is written three times today (tui/cli/app.py, tui/app.py's
build_session, tui/screens/session.py's form); once it is one constant in
engine/workflows/, these tests keep pinning what every entry point does with it.
"""

from __future__ import annotations

import pytest

from gradebench.engine.errors import UserError
from gradebench.tui.app import SessionRequest
from tests.tui.helpers import DEMO_SUITE, contenders, make_app, wait_until


@pytest.mark.parametrize("count", [1, 5])
def test_the_command_line_refuses_fewer_than_2_or_more_than_4_contenders(cli, count) -> None:
    names = ",".join(f"smollm2-plain-{i}" for i in range(count))
    result = cli("--contenders", names, "--reviewer", "tess", "--start")
    assert result.code == 2
    assert result.err == "gradebench: --contenders: give 2 to 4 names separated by commas\n"
    assert result.out == ""


@pytest.mark.parametrize("count", [1, 5])
def test_session_start_refuses_fewer_than_2_or_more_than_4_contenders(tmp_path, count) -> None:
    app = make_app(tmp_path, contenders=contenders(tmp_path, 4))
    names = ["model-x", "model-y", "model-z", "model-w", "model-v"][:count]
    with pytest.raises(UserError, match=r"^contenders: choose 2 to 4$"):
        app.build_session(SessionRequest(suite=str(DEMO_SUITE), contenders=names, reviewer="tess"))
    assert app.db.execute("SELECT count(*) FROM runs").fetchone() == (0,)


@pytest.mark.parametrize("count", [2, 4])
def test_session_start_seats_2_to_4_contenders(tmp_path, count) -> None:
    app = make_app(tmp_path, contenders=contenders(tmp_path, 4))
    names = ["model-x", "model-y", "model-z", "model-w"][:count]
    session = app.build_session(
        SessionRequest(suite=str(DEMO_SUITE), contenders=names, reviewer="tess")
    )
    assert [seat.name for seat in session.seats] == names


async def test_an_app_started_with_one_contender_stays_on_the_session_form(tmp_path) -> None:
    from gradebench.tui.screens.session import SessionScreen

    app = make_app(tmp_path, contenders=contenders(tmp_path, 1))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, SessionScreen))
        assert app.session is None
    assert app.db.execute("SELECT count(*) FROM runs").fetchone() == (0,)
