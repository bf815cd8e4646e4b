"""``gradebench assign --handout NAME -o FILE``: a small database holding one reviewer's
assigned problems, their current answers and test runs, to grade on another machine
(``gradebench --db FILE --reviewer NAME --problems assigned``) and merge back
(``gradebench merge FILE``). ``engine.store.handout`` says what is copied."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.store.assignments import assignments_in_force
from gradebench.engine.store.database import open_db
from gradebench.engine.store.handout import answered_problems, write_handout


@dataclass(frozen=True)
class Handout:
    """What went into a handout: the reviewer's queue, rows per table, and the assigned
    problems that had no answer yet (the reviewer's app would generate its own)."""

    queue: tuple[str, ...]
    rows: dict[str, int]
    without_answers: tuple[str, ...]


def write_reviewer_handout(
    source: Path, destination: Path, reviewer: str, problem_ids: Sequence[str]
) -> Handout:
    if destination.exists():
        raise UserError(f"--output {destination}: exists; choose a new file")
    if not destination.parent.is_dir():
        raise UserError(f"--output {destination}: folder {destination.parent} does not exist")
    db = open_db(source)
    try:
        rows = [r for r in assignments_in_force(db, problem_ids) if r["reviewer"] == reviewer]
        if not rows:
            raise UserError(
                f"--handout {reviewer}: nothing is assigned to {reviewer} in this suite"
                " (gradebench assign --reviewers ...)"
            )
        rows.sort(key=lambda r: r["position"])
        queue = tuple(r["problem_id"] for r in rows)
    finally:
        db.conn.close()
    handout = open_db(destination)
    try:
        counts = write_handout(handout, source, reviewer, queue, [r["id"] for r in rows])
        answered = answered_problems(handout)
    except BaseException:
        handout.conn.close()
        for leftover in (destination, Path(f"{destination}-wal"), Path(f"{destination}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    handout.conn.close()
    return Handout(queue, counts, tuple(p for p in queue if p not in answered))
