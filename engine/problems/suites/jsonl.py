"""Reading JSONL data files, plain or gzipped (told apart by the gzip magic bytes).

Two readers: ``read_jsonl`` for data sets that must load whole (the first bad line
is a ``UserError`` naming the file and line), and ``read_jsonl_lenient`` for files a
user writes by hand, where a bad line becomes one ``ProblemError`` and the rest
loads.

The strict reader decompresses, decodes and splits the whole file at once (fast).
If any of that fails, the file is read again line by line, which finds the same
fault and reports it as a line-by-line reader does (the first bad line wins, and a
line's JSON error is worded as with its newline).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import ProblemError

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """True when the file starts with the gzip magic bytes; ``UserError`` when unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == GZIP_MAGIC
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a JSONL file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None


def _describe(path: Path, gzipped: bool) -> str:
    return "gzip JSONL" if gzipped else "JSONL"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL file, plain or gzipped; ``UserError`` naming the file (and line)."""
    path = Path(path)
    gzipped = is_gzip(path)
    try:
        return _read_whole(path, gzipped)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, EOFError, ValueError, RecursionError, _NotAnObject):
        return _read_by_line(path, gzipped)


class _NotAnObject(Exception):
    """A line holds JSON that is not an object."""


def _read_whole(path: Path, gzipped: bool) -> list[dict[str, Any]]:
    if gzipped:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    else:
        data = path.read_bytes()
    text = data.decode("utf-8")
    if "\r" in text:  # newlines as a text-mode file reads them
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    rows: list[dict[str, Any]] = []
    loads = _json_loads()
    for line in text.split("\n"):
        if line.strip():
            row = loads(line)
            if not isinstance(row, dict):
                raise _NotAnObject
            rows.append(row)
    return rows


def _json_loads() -> Callable[[str], Any]:
    """``json.loads``, sped up by msgspec's parser where that is installed.

    msgspec gives the same values as ``json.loads`` for the JSON it accepts
    (big ints stay ints); what it refuses (``NaN``, ``1e400``, lone surrogates,
    malformed lines) goes to ``json.loads``, which decides as before.
    """
    try:
        from msgspec import DecodeError
        from msgspec.json import Decoder
    except ImportError:
        return json.loads
    decode = Decoder().decode

    def loads(line: str) -> Any:
        try:
            return decode(line)
        except (DecodeError, RecursionError):
            return json.loads(line)

    return loads


def _open_text(path: Path, gzipped: bool) -> IO[str]:
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return io.open(path, encoding="utf-8")  # noqa: UP020 (the same as open, named for clarity)


def _lines(path: Path, gzipped: bool) -> Iterator[tuple[int, str]]:
    """(line number, line) for every non-blank line; ``UserError`` when unreadable."""
    try:
        with _open_text(path, gzipped) as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        what = _describe(path, gzipped)
        raise UserError(f"{path}: not a readable {what} file ({exc})") from None


def _read_by_line(path: Path, gzipped: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for number, line in _lines(path, gzipped):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: line {number}: not JSON ({exc.msg})") from None
        except RecursionError:
            raise UserError(f"{path}: line {number}: not JSON (nested too deeply)") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}: line {number}: not a JSON object")
        rows.append(row)
    return rows


def read_jsonl_lenient(
    path: Path,
) -> tuple[list[tuple[int, dict[str, Any]]], list[ProblemError]]:
    """((line number, row) per good line, one ``ProblemError`` per bad line).

    A file that cannot be read at all (missing, broken gzip, not UTF-8) is still a
    ``UserError``: there is nothing to load around it."""
    path = Path(path)
    gzipped = is_gzip(path)
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[ProblemError] = []
    for number, line in _lines(path, gzipped):
        where = f"{path}: line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(ProblemError(where, "", f"not JSON ({exc.msg})"))
            continue
        except RecursionError:
            errors.append(ProblemError(where, "", "not JSON (nested too deeply)"))
            continue
        if not isinstance(row, dict):
            errors.append(ProblemError(where, "", "not a JSON object"))
            continue
        rows.append((number, row))
    return rows, errors
