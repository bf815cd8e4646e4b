"""The study run's progress line: per contender answers made and an ETA, from the plan's
estimate until the contender's first answer, then from this run's own seconds."""

from __future__ import annotations

from types import SimpleNamespace

from gradebench.engine.workflows.study_progress import StudyProgress


def _outcome(contender: str, seconds: float):
    job = SimpleNamespace(seat=SimpleNamespace(contender=SimpleNamespace(name=contender)))
    return SimpleNamespace(job=job, result=SimpleNamespace(total_seconds=seconds))


def test_the_eta_starts_from_the_plan_then_follows_the_answers_made() -> None:
    progress = StudyProgress()
    progress.expect("plain", 4, 10.0)
    progress.expect("cot", 2, None)
    line = progress.render()
    assert "[....................] 0/6" in line
    assert "plain 0/4 ETA 40s" in line and "cot 0/2 ETA ?" in line

    progress.add(_outcome("plain", 2.0))
    progress.add(_outcome("cot", 90.0))
    line = progress.render()
    assert "2/6" in line and "[######" in line
    assert "plain 1/4 ETA 6s" in line  # 3 left at this run's 2 s per answer
    assert "cot 1/2 ETA 1m30s" in line

    progress.add(_outcome("someone-else", 1.0))  # not in the plan: ignored
    assert "2/6" in progress.render()
