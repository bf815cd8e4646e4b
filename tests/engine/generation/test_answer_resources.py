"""The resources an answer took, from each backend into its ``generations`` row.

On every backend present (``tests/backends.py``) and the fake: a real answer is generated
and stored through ``start_answer`` / ``AnswerWriter.finish``, and the row is read back
with SQL. A model that runs in this process (gpt4all, llama.cpp) stores CPU seconds and
a peak RSS at least the size of its model file (the weights are resident while it
answers); an answer from the OpenAI-compatible test server (the model in a process we do
not own) and the fake store NULL for both. No wall-clock thresholds.
"""

from __future__ import annotations

import pytest

from gradebench.engine.answers.recording import start_answer
from tests.backends import SHORT_PROMPT
from tests.seed import add_contender, add_problem

pytestmark = pytest.mark.model


def test_an_answer_stores_the_resources_its_backend_measured(
    db, backend_entry, contract_backend
) -> None:
    add_problem(db, "demo/p")
    add_contender(db, "c")
    request = contract_backend.request(SHORT_PROMPT, 16)
    writer = start_answer(
        db, problem_id="demo/p", contender_id="c", prompt_text=request.prompt_text
    )
    result = contract_backend.backend.generate(request, writer.on_text)
    writer.finish(result)
    assert result.stop_reason in ("done", "max_tokens"), result
    cpu_seconds, peak_rss_bytes = db.execute(
        "SELECT cpu_seconds, peak_rss_bytes FROM generations WHERE id = ?",
        [writer.generation_id],
    ).fetchone()
    if backend_entry.measures_resources:
        assert cpu_seconds is not None and cpu_seconds > 0
        model_file = contract_backend.model.path
        assert model_file is not None
        model_bytes = model_file.stat().st_size
        assert model_bytes > 10 * 1024 * 1024  # the default model: tens of MB
        assert peak_rss_bytes is not None and peak_rss_bytes >= model_bytes
    else:
        assert (cpu_seconds, peak_rss_bytes) == (None, None)
