"""``AnswerWriter.finish`` stores the resources an answer took (``cpu_seconds``,
``peak_rss_bytes``) as the backend measured them, and NULL where it measured nothing (a
model behind a server). The oracle is the row read back with SQL."""

from __future__ import annotations

import pytest

from gradebench.engine.answers.recording import start_answer
from gradebench.engine.generation.backend import GenerationResult
from tests.seed import add_contender, add_problem


@pytest.mark.parametrize(
    ("cpu_seconds", "peak_rss_bytes"),
    [(0.75, 210_000_000), (None, None)],
    ids=["local-model", "server-model"],
)
def test_finish_stores_the_measured_resources_or_null(
    db, cpu_seconds: float | None, peak_rss_bytes: int | None
) -> None:
    add_problem(db, "demo/p")
    add_contender(db, "c")
    writer = start_answer(db, problem_id="demo/p", contender_id="c", prompt_text="p")
    writer.on_text("def f(x): return x")
    writer.finish(
        GenerationResult(
            text="def f(x): return x",
            tokens=6,
            stop_reason="done",
            ttft_seconds=0.1,
            total_seconds=0.5,
            cpu_seconds=cpu_seconds,
            peak_rss_bytes=peak_rss_bytes,
        )
    )
    row = db.execute(
        "SELECT status, cpu_seconds, peak_rss_bytes FROM generations WHERE id = ?",
        [writer.generation_id],
    ).fetchone()
    assert tuple(row) == ("done", cpu_seconds, peak_rss_bytes)


def test_a_result_built_without_resources_stores_null() -> None:
    """Constructors that predate the fields (the fake, the batch's interrupted answer)."""
    result = GenerationResult("", 0, "cancelled", None, 0.0)
    assert (result.cpu_seconds, result.peak_rss_bytes) == (None, None)
