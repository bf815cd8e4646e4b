"""gradebench.engine.reporting.report.report_in_stages: the cheap table first, then the same whole report."""

from __future__ import annotations

import sqlite3

import pytest

from gradebench.engine.reporting.model import Report, ReportTables, Selection
from gradebench.engine.reporting.report import build_report, report_in_stages
from tests.grades_fixture import build


@pytest.fixture
def conn(tmp_path):
    connection = sqlite3.connect(str(build(tmp_path / "graded.db")))
    yield connection
    connection.close()


@pytest.mark.parametrize("by", [("contender",), ("contender", "difficulty"), ("contender", "tag")])
@pytest.mark.parametrize("combine", ["mean", "majority"])
def test_the_table_stage_comes_first_with_the_rows_of_the_whole_report(conn, by, combine):
    selection = Selection(suite="demo", combine=combine)
    stages = list(report_in_stages(conn, selection, by=by))
    assert [type(stage) for stage in stages] == [ReportTables, Report]
    tables, report = stages
    assert tables.rows == report.rows
    assert tables.contender_rows == report.contender_rows
    assert (tables.selection, tables.by, tables.ks) == (report.selection, report.by, report.ks)
    assert report == build_report(conn, selection, by=by)
    assert [row.contender for row in tables.contender_rows] == ["gamma", "alpha", "beta"]


def test_a_bad_selection_fails_before_any_stage(conn):
    from gradebench.engine.errors import UserError

    stages = report_in_stages(conn, Selection(suite="nope"))
    with pytest.raises(UserError, match="--suite"):
        next(stages)
