"""A data set in one JSONL file (plain or gzipped): which kind it is, and loading it.

Kinds, told apart by the first row's fields:

``humaneval+``  EvalPlus's HumanEval+ (any release): ``base_input``, ``plus_input``
                and a ``HumanEval/N`` task id (or a ``test`` field).
``mbpp+``       EvalPlus's MBPP+: ``base_input``, ``plus_input`` and an ``Mbpp/N``
                task id (or an ``assertion`` field and no ``test``).
``human-eval``  the human-eval format: ``prompt``, ``entry_point``, ``test``.

A file of none of these is a one-line ``UserError`` naming the file and the fields
it has. EvalPlus files load whole (a line that is not JSON stops the load, naming
it); human-eval files are often written by hand, so a bad line is one load error
and the rest loads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradebench.engine.problems.suites.humaneval_format as humaneval_format
import gradebench.engine.problems.suites.humanevalplus as humanevalplus
import gradebench.engine.problems.suites.mbppplus as mbppplus
from gradebench.engine.collector import collector_paused
from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import SuiteLoad
from gradebench.engine.problems.suites.jsonl import read_jsonl, read_jsonl_lenient

KINDS = ("humaneval+", "mbpp+", "human-eval")
KIND_NAMES = {"humaneval+": "HumanEval+", "mbpp+": "MBPP+", "human-eval": "human-eval format"}
FILE_SUFFIXES = (".jsonl.gz", ".jsonl", ".json.gz", ".gz")


def detect_kind(row: dict[str, Any], path: Path) -> str:
    """The kind of data set whose first row is ``row``; ``UserError`` when it cannot tell."""
    task_id = str(row.get("task_id", ""))
    if "base_input" in row and "plus_input" in row:
        if task_id.startswith("Mbpp/"):
            return "mbpp+"
        if task_id.startswith("HumanEval/"):
            return "humaneval+"
        if "test" in row:
            return "humaneval+"
        if "assertion" in row:
            return "mbpp+"
        raise UserError(
            f"{path}: an EvalPlus file, but neither HumanEval+ nor MBPP+ (task_id "
            f"{task_id!r}, no test or assertion field)"
        )
    if all(key in row for key in humaneval_format.REQUIRED_FIELDS):
        return "human-eval"
    fields = ", ".join(sorted(map(str, row))) or "none"
    raise UserError(
        f"{path}: cannot tell which kind of data set this is (line 1 has fields: {fields}); "
        "EvalPlus files have base_input and plus_input, human-eval files have "
        "task_id, prompt, entry_point and test"
    )


def default_name(path: Path) -> str:
    """A suite name from a file name: ``my-tasks.jsonl.gz`` -> ``my-tasks``."""
    name = Path(path).name
    for suffix in FILE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)] or name
    return name


@dataclass(frozen=True)
class DataFile:
    """A data set file as ``gradebench problems suites`` shows it."""

    path: Path
    kind: str
    tasks: int
    sha256: str


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    return digest.hexdigest()


def load_data_file(path: Path, suite: str | None = None, *, expect: str | None = None) -> SuiteLoad:
    """Load a data set file of any kind as suite ``suite`` (default: the kind's name
    for EvalPlus files, the file's name for human-eval files). ``expect`` names the
    kind the caller needs (``humaneval+`` for ``--suite humaneval+``): another kind
    is a ``UserError`` saying which it is."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: data file not found")
    with collector_paused():
        try:
            rows = read_jsonl(path)
        except UserError:
            lenient, errors = read_jsonl_lenient(path)
            if lenient and detect_kind(lenient[0][1], path) == "human-eval":
                _check_expected(path, "human-eval", expect)
                return humaneval_format.load_rows(
                    path, lenient, errors, suite or default_name(path)
                )
            raise
        if not rows:
            raise UserError(f"{path}: the data file holds no tasks")
        kind = detect_kind(rows[0], path)
        _check_expected(path, kind, expect)
        if kind == "humaneval+":
            return humanevalplus.load_rows(
                path, rows, humanevalplus.problem_from_row, "HumanEval+", suite or kind
            )
        if kind == "mbpp+":
            return humanevalplus.load_rows(
                path, rows, mbppplus.problem_from_row, "MBPP+", suite or kind
            )
        numbered, errors = read_jsonl_lenient(path)  # line numbers for its messages
        return humaneval_format.load_rows(path, numbered, errors, suite or default_name(path))


def _check_expected(path: Path, kind: str, expect: str | None) -> None:
    if expect is not None and kind != expect:
        raise UserError(
            f"{path}: holds {KIND_NAMES[kind]} tasks, not {KIND_NAMES[expect]}"
            + (f" (use --suite {kind})" if kind in ("humaneval+", "mbpp+") else "")
        )


def kind_of_file(path: Path) -> str:
    """The kind of data set in a file, from its first readable row."""
    rows, errors = read_jsonl_lenient(path)
    if not rows:
        raise UserError(str(errors[0]) if errors else f"{path}: the data file holds no tasks")
    return detect_kind(rows[0][1], path)


def describe_file(path: Path) -> DataFile:
    """Kind, task count and sha256 of a data set file (it is loaded to count its tasks)."""
    load = load_data_file(path)
    return DataFile(Path(path), kind_of_file(path), len(load.problems), file_sha256(path))
