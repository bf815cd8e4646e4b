"""Contesting a test: a reviewer marks a test of a problem as wrong (wrong expected
output, invalid input, ambiguous statement, other), append-only per problem content and
reviewer; a later row withdraws it. While some reviewer's latest row for a test is a
dispute, the test is *disputed*, and every verdict is available two ways: as published
(all tests) and contested (without the disputed tests), recomputed from the test run's
per-test outcomes (``executions.test_statuses``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.evaluation.execution import LETTER_VERDICTS
from gradebench.engine.store.database import new_id, utc_now
from gradebench.engine.store.sqlite import Database
from gradebench.engine.store.test_disputes import (
    current_dispute_rows,
    insert_test_dispute,
    latest_dispute_row,
    latest_statuses_of,
    latest_statuses_rows,
    problem_content,
)

REASONS = ("wrong_expected", "invalid_input", "ambiguous", "other")
REASON_LABELS = {
    "wrong_expected": "wrong expected output",
    "invalid_input": "invalid input",
    "ambiguous": "ambiguous statement",
    "other": "other",
}


def dispute_test(
    db: Database, *, problem_id: str, test_index: int, reviewer: str, reason: str, note: str = ""
) -> str:
    """Record that ``reviewer`` disputes test ``test_index`` of the problem; its id."""
    if reason not in REASONS:
        raise UserError(f"dispute: reason must be one of {', '.join(REASONS)}, not {reason!r}")
    return _append(db, problem_id, test_index, reviewer, reason, note, withdraws=None)


def withdraw_dispute(db: Database, *, problem_id: str, test_index: int, reviewer: str) -> str:
    """Withdraw ``reviewer``'s dispute of the test; its id."""
    latest = latest_dispute_row(db, problem_id, test_index, reviewer)
    if latest is None or latest["withdraws_id"] is not None:
        raise UserError(f"dispute: {reviewer} does not dispute test {test_index} of {problem_id}")
    return _append(db, problem_id, test_index, reviewer, "withdrawn", "", withdraws=latest["id"])


def _append(
    db: Database,
    problem_id: str,
    test_index: int,
    reviewer: str,
    reason: str,
    note: str,
    withdraws: str | None,
) -> str:
    if not reviewer.strip():
        raise UserError("dispute: a reviewer name is needed")
    content = problem_content(db, problem_id)
    if content is None:
        raise UserError(f"dispute: problem {problem_id} is not in the database (open it first)")
    if test_index < 0:
        raise UserError(f"dispute: test {test_index}: tests are numbered from 0")
    row_id = new_id()
    insert_test_dispute(
        db,
        {
            "id": row_id,
            "problem_id": problem_id,
            "content_sha256": content,
            "test_index": test_index,
            "reviewer": reviewer.strip(),
            "created_at": utc_now(),
            "reason": reason,
            "note": note,
            "withdraws_id": withdraws,
        },
    )
    return row_id


@dataclass(frozen=True)
class DisputedTest:
    problem_id: str
    test_index: int
    reasons: tuple[tuple[str, str, str], ...]
    """(reviewer, reason, note) of every reviewer disputing it now."""


def disputed_tests(conn: Any, problem_ids: Sequence[str] | None = None) -> list[DisputedTest]:
    """The tests disputed now, by problem and test."""
    grouped: dict[tuple[str, int], list[tuple[str, str, str]]] = defaultdict(list)
    for row in current_dispute_rows(conn, problem_ids):
        grouped[row["problem_id"], row["test_index"]].append(
            (row["reviewer"], row["reason"], row["note"])
        )
    return [DisputedTest(p, t, tuple(r)) for (p, t), r in grouped.items()]


def contested_verdict(letters: str | None, disputed: Iterable[int]) -> tuple[str, int, int] | None:
    """(verdict, passed, total) without the ``disputed`` tests, from a test run's per-test
    outcomes; None when the run kept none (older runs, or no test ran: syntax, no code)."""
    if not letters:
        return None
    excluded = set(disputed)
    kept = [c for i, c in enumerate(letters) if i not in excluded and c != "-"]
    passed = sum(1 for c in kept if c == "p")
    failing = next((c for c in kept if c != "p"), None)
    verdict = "pass" if failing is None else LETTER_VERDICTS.get(failing, "error")
    return verdict, passed, len(kept)


@dataclass(frozen=True)
class ContestedAnswer:
    generation_rowid: int
    generation_id: str
    problem_id: str
    published: str
    contested: str


def contested_answers(conn: Any, disputes: Sequence[DisputedTest]) -> list[ContestedAnswer]:
    """Every current answer of a problem with disputed tests, its verdict as published
    (from the same per-test outcomes) and contested."""
    by_problem: dict[str, set[int]] = defaultdict(set)
    for d in disputes:
        by_problem[d.problem_id].add(d.test_index)
    found = []
    for rowid, gid, problem_id, letters in latest_statuses_rows(conn, list(by_problem)):
        published = contested_verdict(letters, ())
        contested = contested_verdict(letters, by_problem[problem_id])
        if published is None or contested is None:
            continue
        found.append(ContestedAnswer(rowid, gid, problem_id, published[0], contested[0]))
    return found


def answers_changed_by(conn: Any, disputes: Sequence[DisputedTest]) -> dict[tuple[str, int], int]:
    """Per disputed test: the current answers whose verdict that test alone decides (pass
    without it, not with it)."""
    changed: dict[tuple[str, int], int] = {}
    problems = sorted({d.problem_id for d in disputes})
    rows = latest_statuses_rows(conn, problems)
    for d in disputes:
        count = 0
        for _rowid, _gid, problem_id, letters in rows:
            if problem_id != d.problem_id:
                continue
            before = contested_verdict(letters, ())
            after = contested_verdict(letters, (d.test_index,))
            if before and after and before[0] != "pass" and after[0] == "pass":
                count += 1
        changed[d.problem_id, d.test_index] = count
    return changed


def disputed_by(db: Database, problem_id: str, reviewer: str) -> set[int]:
    """The tests of this problem that ``reviewer`` disputes now."""
    return {
        row["test_index"]
        for row in current_dispute_rows(db.conn, [problem_id])
        if row["reviewer"] == reviewer
    }


def contested_line(db: Database, problem_id: str, generation_id: str) -> str | None:
    """``PASS 2/2`` when the answer's latest verdict without the problem's disputed tests
    differs from the published one, else None."""
    disputed = {d.test_index for d in disputed_tests(db.conn, [problem_id])}
    if not disputed:
        return None
    letters = latest_statuses_of(db, generation_id)
    published = contested_verdict(letters, ())
    contested = contested_verdict(letters, disputed)
    if published is None or contested is None or published[0] == contested[0]:
        return None
    verdict, passed, total = contested
    return f"{verdict.upper()} {passed}/{total}"


def answer_statuses(db: Database, generation_id: str) -> str | None:
    """The per-test outcomes of this answer's latest test run (None: none kept)."""
    return latest_statuses_of(db, generation_id)
