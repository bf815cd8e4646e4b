"""The grading app with a server contender beside a local one (Pilot, real parts): the
``openai`` answer streams into its pane from the real ``llama_cpp.server`` while the
llama.cpp answer streams into the other, both settle, are tested and stored, and the
server contender's row names the endpoint and the model the server reported."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gradebench.engine.config import Config
from gradebench.engine.generation.registry import Contender, load_registry
from gradebench.engine.problems.model import SuiteLoad
from gradebench.engine.problems.suites import load_suite
from gradebench.tui.app import GradebenchApp
from gradebench.tui.widgets.answer_pane import AnswerPane
from tests.llama_server import server_model_toml
from tests.tui.helpers import wait_until

pytestmark = [pytest.mark.model, pytest.mark.slow]

PATIENCE = 900.0
TESTED = ("done", "max_tokens")


def _one_problem(_name: str) -> SuiteLoad:
    load = load_suite("lowcost60")
    return SuiteLoad("lowcost60", load.problems[:1])


def _panes(app) -> list[AnswerPane]:
    return list(app.screen.query(AnswerPane))


async def test_a_server_contender_streams_into_its_pane_beside_a_local_one(
    tmp_path, llama_server
) -> None:
    import tomllib

    toml = "[generation]\nmax_threads = 1\n" + server_model_toml("served", llama_server.base_url)
    config = Config(data=tomllib.loads(toml))
    registry = load_registry(config)
    model = registry.models["served"]
    served = Contender("served-plain", model, "plain", model.params)
    local = registry.contender("smollm2-llamacpp-plain")
    contenders = [replace(c, params=replace(c.params, max_tokens=40)) for c in (served, local)]
    app = GradebenchApp(
        db_path=tmp_path / "grades.db",
        config=config,
        suite="lowcost60",
        contenders=contenders,
        reviewer="tess",
        ask=False,
        suite_loader=_one_problem,
        stable_display=True,
        seed=3,
    )
    seen_streaming: dict[str, str] = {}

    def watch() -> bool:
        for pane in _panes(app):
            if pane.state.phase == "streaming" and pane.state.text:
                seen_streaming.setdefault(pane.state.label, pane.state.text)
        panes = _panes(app)
        return len(panes) == 2 and all(
            p.state.answer is not None and p.state.result is not None for p in panes
        )

    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, watch, timeout=PATIENCE)
        shown = [p.state.answer for p in _panes(app)]
        await pilot.press("q")
    names = dict(app.db.execute("SELECT id, name FROM contenders").fetchall())
    answers = {names[a.contender_id]: a for a in shown}
    assert set(answers) == {"served-plain", "smollm2-llamacpp-plain"}
    assert all(a.status in TESTED and a.raw_answer.strip() for a in answers.values())
    # both panes showed part of their answer while it was still streaming
    assert set(seen_streaming) == {"served-plain", "smollm2-llamacpp-plain"}
    for name, partial in seen_streaming.items():
        assert answers[name].raw_answer.startswith(partial)
        assert len(partial) < len(answers[name].raw_answer)
    rows = dict(
        app.db.execute(
            "SELECT c.name, m.path FROM contenders c JOIN models m ON m.sha256 = c.model_sha256"
        ).fetchall()
    )
    assert rows["served-plain"] == f"{llama_server.base_url} (smollm2-served)"
