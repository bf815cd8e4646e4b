"""Checking what the user asked a report for, before anything is computed.

``parse_by`` reads ``--by``; ``resolve_contenders`` turns contender names or ids into the
contenders of the database; ``check_selection`` rejects an unknown suite, reviewer or
combine rule. Each mistake is one ``UserError`` naming the argument.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from gradebench.engine.errors import UserError
from gradebench.engine.reporting.model import (
    COMBINE_CHOICES,
    GROUP_KEYS,
    ContenderInfo,
    Selection,
)
from gradebench.engine.store.report_reads import (
    contender_rows,
    known_reviewers,
    known_suites,
    reviewer_has_grades,
    suite_has_problems,
)


def parse_by(text: str | None) -> tuple[str, ...]:
    """``--by contender,difficulty`` -> ('contender', 'difficulty'); unknown keys are an error."""
    if not text:
        return ("contender",)
    keys = tuple(part.strip() for part in text.split(",") if part.strip())
    for key in keys:
        if key not in GROUP_KEYS:
            raise UserError(f"--by: unknown key {key!r} (choose from {', '.join(GROUP_KEYS)})")
    if len(set(keys)) != len(keys):
        raise UserError(f"--by: a key is repeated in {text!r}")
    return tuple(key for key in GROUP_KEYS if key in keys)


def _contenders(conn: sqlite3.Connection) -> list[ContenderInfo]:
    rows = contender_rows(conn)
    name_count: dict[str, int] = {}
    for row in rows:
        name_count[row[1]] = name_count.get(row[1], 0) + 1
    return [
        ContenderInfo(
            id=cid,
            name=name,
            label=name if name_count[name] == 1 else f"{name}#{cid[:6]}",
            model_sha256=sha,
            model_name=model,
            prompt_style=style,
        )
        for cid, name, sha, model, style in rows
    ]


def resolve_contenders(
    conn: sqlite3.Connection, wanted: Sequence[str]
) -> tuple[list[ContenderInfo], list[ContenderInfo]]:
    """(all contenders, the selected ones); an unknown name or id is a ``UserError``."""
    everyone = _contenders(conn)
    if not wanted:
        return everyone, everyone
    chosen: list[ContenderInfo] = []
    for text in wanted:
        matches = [c for c in everyone if text in (c.id, c.name, c.label)]
        if not matches:
            known = ", ".join(sorted({c.label for c in everyone})) or "none in the database"
            raise UserError(f"--contender: unknown contender {text!r} (known: {known})")
        chosen.extend(m for m in matches if m not in chosen)
    return everyone, chosen


def check_selection(conn: sqlite3.Connection, selection: Selection) -> None:
    """Unknown suite, reviewer or combine rule: one ``UserError`` naming the argument."""
    if selection.combine not in COMBINE_CHOICES:
        raise UserError(
            f"--combine: unknown rule {selection.combine!r} (choose mean, majority or adjudicated)"
        )
    if selection.suite is not None and not suite_has_problems(conn, selection.suite):
        known = ", ".join(known_suites(conn)) or "none in the database"
        raise UserError(f"--suite: no problems of suite {selection.suite!r} (known: {known})")
    for reviewer in selection.reviewers:
        if not reviewer_has_grades(conn, reviewer):
            known = ", ".join(known_reviewers(conn)) or "no grades yet"
            raise UserError(f"--reviewer: no grades by {reviewer!r} (known: {known})")
