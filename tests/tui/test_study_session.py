"""``gradebench --study FILE``: the app opens on the study's contenders (inline ones are in
no config) and the problems of its first hand-graded suite; mistakes are one line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.tui.cli.app import study_session
from gradebench.tui.cli.context import Context

STUDY = """
[study]
name = "s"
seed = 3

[[contenders]]
model = "smollm2-135m"
prompt_styles = ["plain", "cot"]
max_tokens = 64

[[suites]]
name = "lowcost60"
sample = 4

[[suites]]
name = "{demo}"

[grading]
by_hand = ["{demo}"]
"""


def _context(tmp_path: Path, text: str) -> Context:
    study = tmp_path / "study.toml"
    study.write_text(text, encoding="utf-8")
    args = argparse.Namespace(study=str(study), data=None, db=None)
    return Context(args=args, config=Config())


def test_the_app_gets_the_study_contenders_and_its_hand_graded_suite(
    tmp_path: Path, demo_suite_dir: Path
) -> None:
    context = _context(tmp_path, STUDY.format(demo=demo_suite_dir))
    suite, contenders, subset = study_session(context, None, "")
    assert suite == str(demo_suite_dir)
    assert [c.name for c in contenders] == ["smollm2-135m-plain", "smollm2-135m-cot"]
    assert {c.params.max_tokens for c in contenders} == {64}
    demo_ids = {p.id for p in context.load_suite(suite).problems}
    assert set(subset.split()) == demo_ids

    suite, _, subset = study_session(context, "lowcost60", "")
    chosen = subset.split()
    assert suite == "lowcost60" and len(chosen) == 4
    assert all(pid.startswith("lowcost60/") for pid in chosen)


def test_a_suite_outside_the_study_or_a_single_contender_is_one_line(
    tmp_path: Path, demo_suite_dir: Path
) -> None:
    context = _context(tmp_path, STUDY.format(demo=demo_suite_dir))
    with pytest.raises(UserError, match=r"^--suite: 'humaneval' is not one of the study's suites"):
        study_session(context, "humaneval", "")
    single = STUDY.format(demo=demo_suite_dir).replace('["plain", "cot"]', '["plain"]')
    with pytest.raises(UserError, match=r"^--study: the app compares 2 to 4 contenders"):
        study_session(_context(tmp_path, single), None, "")
