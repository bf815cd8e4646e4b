"""What ``study report`` reads a suite as: a suite taken whole is the database's problems
of that suite (its files are not read); a subset is drawn from the suite's files."""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.config import Config
from gradebench.engine.generation.prompts import load_prompt_templates
from gradebench.engine.generation.registry import load_registry
from gradebench.engine.problems.registry import SuiteSources
from gradebench.engine.workflows.batch import ensure_problem_rows
from gradebench.engine.workflows.study import report_study
from gradebench.engine.workflows.study_file import parse_study

STUDY = """
[[contenders]]
model = "smollm2-135m"
prompt_styles = ["plain", "cot"]

[[suites]]
name = "lowcost60"
{subset}
"""


class CountingSources(SuiteSources):
    loads: int = 0

    def load(self, name: str):
        CountingSources.loads += 1
        return super().load(name)


def _study(subset: str):
    config = Config()
    templates = load_prompt_templates(config)
    registry = load_registry(config, styles=templates.styles)
    text = STUDY.format(subset=subset)
    return parse_study(Path("s.toml"), text, registry, templates.styles), templates


def test_a_whole_suite_is_read_from_the_database_and_a_subset_from_its_files(db) -> None:
    sources = CountingSources()
    seen = list(sources.load("lowcost60").problems[:3])
    ensure_problem_rows(db, seen)
    CountingSources.loads = 0

    whole, templates = _study("")
    report = report_study(db, whole, sources, templates)
    assert CountingSources.loads == 0
    assert report.suites[0].name == "lowcost60"
    assert sorted(report.suites[0].problem_ids) == sorted(p.id for p in seen)
    assert report.footer.value("data sets").startswith("lowcost60: 3 problems")

    sampled, templates = _study("sample = 5")
    report = report_study(db, sampled, sources, templates)
    assert CountingSources.loads == 1
    assert len(report.suites[0].problem_ids) == 5
