"""Exports: raw grades round-trip, table formats are well formed, the CLI's one-line errors."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from gradebench.engine.reporting.export import render_report
from gradebench.engine.reporting.formats.latex import latex_escape
from gradebench.engine.reporting.model import Selection
from gradebench.engine.reporting.raw_grades import (
    RAW_COLUMNS,
    read_raw_grades_csv,
    write_raw_grades,
)
from gradebench.engine.reporting.report import build_report
from tests.conftest import REPO
from tests.grades_fixture import build

GRADE_COLUMNS = (
    "id",
    "generation_id",
    "reviewer",
    "created_at",
    "score",
    "format_ok",
    "rubric",
    "note",
    "suggested_score",
    "replaces_id",
    "blind",
    "run_id",
)
RENAMED = {"id": "grade_id"}


@pytest.fixture
def graded(tmp_path) -> Path:
    return build(tmp_path / "graded.db")


@pytest.fixture
def conn(graded):
    connection = sqlite3.connect(str(graded))
    yield connection
    connection.close()


def database_events(conn) -> list[dict]:
    cursor = conn.execute(
        f"SELECT {', '.join(GRADE_COLUMNS)} FROM grade_events ORDER BY created_at, rowid"
    )
    return [dict(zip(GRADE_COLUMNS, row, strict=True)) for row in cursor]


def test_raw_grades_csv_read_back_equals_the_grade_events(conn):
    buffer = io.StringIO()
    count = write_raw_grades(conn, Selection(), "csv", buffer)
    rows = read_raw_grades_csv(io.StringIO(buffer.getvalue()))
    events = database_events(conn)
    assert count == len(events) == len(rows) == 14
    for event, row in zip(events, rows, strict=True):
        assert {c: row[RENAMED.get(c, c)] for c in GRADE_COLUMNS} == event
    # the context that makes a grade meaningful travels with it
    first = rows[0]
    assert (first["problem_id"], first["contender"], first["prompt_style"]) == (
        "demo/p1",
        "alpha",
        "plain",
    )
    assert first["model_sha256"] == "f" * 64
    superseded = next(r for r in rows if r["generation_id"] == "a1-old")
    assert superseded["generation_superseded_at"] is not None


def test_raw_grades_json_read_back_equals_the_grade_events(conn):
    buffer = io.StringIO()
    write_raw_grades(conn, Selection(), "json", buffer)
    rows = json.loads(buffer.getvalue())
    assert [list(r) for r in rows[:1]] == [[name for name, _, _ in RAW_COLUMNS]]
    assert [{c: r[RENAMED.get(c, c)] for c in GRADE_COLUMNS} for r in rows] == database_events(conn)


def test_raw_grades_csv_keeps_every_bit_of_a_real(conn):
    with conn:
        conn.execute("UPDATE grade_events SET suggested_score = ? WHERE id = 'ge05'", (7 / 9,))
        conn.execute("UPDATE grade_events SET suggested_score = ? WHERE id = 'ge06'", (1e-20,))
    buffer = io.StringIO()
    write_raw_grades(conn, Selection(), "csv", buffer)
    rows = {r["grade_id"]: r for r in read_raw_grades_csv(io.StringIO(buffer.getvalue()))}
    assert rows["ge05"]["suggested_score"] == 7 / 9
    assert rows["ge06"]["suggested_score"] == 1e-20
    assert rows["ge03"]["format_ok"] is None and rows["ge03"]["note"] == ""


def test_raw_grades_follow_the_filters(conn):
    buffer = io.StringIO()
    count = write_raw_grades(conn, Selection(reviewers=("ben",)), "csv", buffer)
    rows = read_raw_grades_csv(io.StringIO(buffer.getvalue()))
    assert count == 3 and {r["reviewer"] for r in rows} == {"ben"}
    buffer = io.StringIO()
    write_raw_grades(conn, Selection(suite="other"), "json", buffer)
    assert [r["problem_id"] for r in json.loads(buffer.getvalue())] == ["other/p4"]


def test_csv_table_has_one_row_per_group_with_plain_numbers(conn):
    text = render_report(build_report(conn, Selection(suite="demo")), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    header = list(rows[0])
    assert header[:4] == ["contender", "problems", "graded", "mean_score"]
    assert [r["contender"] for r in rows] == ["gamma", "alpha", "beta"]
    alpha = rows[1]
    assert float(alpha["mean_score"]) == pytest.approx(1.25 / 3)
    assert float(alpha["pass_at_1"]) == pytest.approx(2 / 3)


def test_json_report_holds_rows_agreement_and_pairwise(conn):
    payload = json.loads(render_report(build_report(conn, Selection(suite="demo")), "json"))
    assert [r["contender"] for r in payload["rows"]] == ["gamma", "alpha", "beta"]
    assert payload["agreement"]["cohen"][0]["kappa"] == pytest.approx(1 / 7)
    assert payload["pairwise"]["votes"] == 3
    assert payload["selection"]["combine"] == "mean"


def test_markdown_is_a_github_table_with_consistent_columns(conn):
    text = render_report(build_report(conn, Selection(suite="demo")), "md")
    table = [line for line in text.splitlines() if line.startswith("| ")]
    header_cells = table[0].count(" | ")
    assert re.fullmatch(r"\| (---:?( \| )?)+ \|", table[1])
    results = table[: 2 + 3]
    assert all(line.count(" | ") == header_cells for line in results)
    assert "| gamma | 2 | 2 | 1.000 [1.000, 1.000] |" in text
    assert "Krippendorff" in text and "Bradley-Terry" in text


def test_latex_is_a_booktabs_table_with_escaped_text(conn):
    text = render_report(build_report(conn, Selection(suite="demo")), "latex")
    body = text.split(r"\begin{table}")[1]
    assert r"\toprule" in body and r"\midrule" in body and r"\bottomrule" in body
    spec = re.search(r"\\begin\{tabular\}\{([lr]+)\}", body).group(1)
    rows = [
        line
        for line in body.split(r"\midrule")[1].split(r"\bottomrule")[0].splitlines()
        if line.strip()
    ]
    assert len(rows) == 3
    for line in rows:
        assert line.endswith(r"\\")
        assert line.count(" & ") == len(spec) - 1
    assert r"\%" in body and "%" not in body.replace(r"\%", "")
    assert latex_escape("a_b & 50% #1 {x}") == r"a\_b \& 50\% \#1 \{x\}"


def compile_latex(table: str, folder: Path) -> Path:
    """Compile a booktabs table in a minimal document with pdflatex; the PDF written."""
    document = (
        "\\documentclass{article}\\usepackage{booktabs}\\usepackage[utf8]{inputenc}"
        "\\usepackage[margin=1cm,landscape]{geometry}\\begin{document}\n"
        + table
        + "\\end{document}\n"
    )
    (folder / "t.tex").write_text(document)
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "Output written on t.pdf" in result.stdout
    return folder / "t.pdf"


@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex is not installed (Debian: apt-get install texlive-latex-recommended)",
)
def test_latex_compiles_with_pdflatex(conn, tmp_path):
    table = render_report(build_report(conn, Selection(suite="demo")), "latex")
    assert compile_latex(table, tmp_path).read_bytes().startswith(b"%PDF-")


def test_html_is_self_contained_with_svg_bars_and_whiskers(conn):
    text = render_report(build_report(conn, Selection(suite="demo")), "html")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text and "http://" not in text.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert "https://" not in text
    assert text.count("<svg") == 2
    # 3 contenders; contender x difficulty: alpha 3, beta 3, gamma 2 (no hard answer)
    assert text.count('class="bar"') == 3 + 8
    assert "Mean score per contender" in text and "<table>" in text


def _png_pixels(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) to an array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    assert header[8] == 8 and header[12] == 0, "only 8-bit non-interlaced PNG"
    channels = {2: 3, 6: 4}[header[9]]
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1)
        line = line.astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prev) % 256
        elif kind == 1:
            row = line.reshape(width, channels).cumsum(axis=0).reshape(-1) % 256
        else:  # average or paeth: byte by byte
            row = np.zeros(stride, dtype=np.int32)
            cur = line.tolist()
            up = prev.tolist()
            result = [0] * stride
            for x in range(stride):
                left = result[x - channels] if x >= channels else 0
                if kind == 3:
                    result[x] = (cur[x] + (left + up[x]) // 2) % 256
                else:
                    upleft = up[x - channels] if x >= channels else 0
                    p = left + up[x] - upleft
                    pa, pb, pc = abs(p - left), abs(p - up[x]), abs(p - upleft)
                    pred = left if pa <= pb and pa <= pc else (up[x] if pb <= pc else upleft)
                    result[x] = (cur[x] + pred) % 256
            row = np.array(result, dtype=np.int32)
        out[y] = row
        prev = row
    return out.reshape(height, width, channels)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.mark.skipif(
    chromium_binary() is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium)",
)
def test_html_opens_in_headless_chromium_and_the_screenshot_shows_the_bars(conn, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_report(build_report(conn, Selection(suite="demo")), "html"))
    shot = tmp_path / "shot.png"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "html_screenshot.py"), str(page), str(shot)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pixels = _png_pixels(shot.read_bytes())[..., :3].astype(int)
    first_bar = np.array([0x4E, 0x79, 0xA7])  # the first contender's bar colour
    matches = (np.abs(pixels - first_bar).sum(axis=2) < 12).sum()
    assert matches > 1000, f"only {matches} pixels of the bar colour in the screenshot"


class _HtmlCells(html.parser.HTMLParser):
    """The text of every table cell of a page (the HTML export's tables)."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("td", "th"):
            self._in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        if self._in_cell:
            self.cells[-1] += data


def test_cli_writes_every_format_to_a_file_each_parsed_as_that_format(cli, graded, tmp_path):
    written = {}
    for fmt in ("csv", "json", "md", "latex", "html"):
        out = tmp_path / f"results.{fmt}"
        result = cli(
            "--db", graded, "export", "--format", fmt, "--by", "contender,difficulty", "-o", out
        )
        assert result.code == 0, result.err
        assert result.err == f"wrote {out}\n"
        written[fmt] = out.read_text()
    # every suite: alpha answered p1, p4 (easy), p2 (medium), p3 (hard); beta p1-p3;
    # gamma p1 (easy), p2 (medium)
    rows = list(csv.DictReader(io.StringIO(written["csv"])))
    pairs = {(r["contender"], r["difficulty"]) for r in rows}
    assert len(rows) == len(pairs) == 8
    assert pairs == {
        *((c, d) for c in ("alpha", "beta") for d in ("easy", "medium", "hard")),
        ("gamma", "easy"),
        ("gamma", "medium"),
    }
    payload = json.loads(written["json"])
    assert {(r["contender"], r["difficulty"]) for r in payload["rows"]} == pairs
    table = [line for line in written["md"].splitlines() if line.startswith("| ")]
    assert re.fullmatch(r"\| (---:?( \| )?)+ \|", table[1])
    assert len({line.count(" | ") for line in table[: 2 + len(pairs)]}) == 1
    assert compile_latex(written["latex"], tmp_path).exists()
    cells = _HtmlCells()
    cells.feed(written["html"])
    assert {"alpha", "beta", "gamma"} <= {cell.strip() for cell in cells.cells}


def test_cli_raw_csv_to_stdout(cli, graded):
    result = cli("--db", graded, "export", "--format", "csv", "--raw", "--reviewer", "ben")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["reviewer"] for r in rows] == ["ben"] * 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "xlsx"), "--format: unknown format 'xlsx'"),
        (("--format", "md", "--contender", "delta"), "--contender: unknown contender 'delta'"),
        (("--format", "md", "--by", "model"), "--by: unknown key 'model'"),
        (("--format", "md", "--raw"), "--raw exports csv or json"),
        (("--format", "md", "--combine", "median"), "--combine: unknown rule 'median'"),
        (("--format", "md", "--reviewer", "zed"), "--reviewer: no grades by 'zed'"),
    ],
)
def test_cli_bad_arguments_give_one_line_and_a_nonzero_exit(cli, graded, args, message):
    result = cli("--db", graded, "export", *args)
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert message in lines[0]
    assert result.out == ""
