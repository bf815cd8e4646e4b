"""``gradebench merge``: bring other reviewers' databases into one.

Checks every file before anything is written (it exists, is a gradebench database, is not
the target, has no migration this gradebench does not know), migrates a file of an older
schema in a temporary copy (the original is never written to), then merges them all in
one transaction (``engine.store.merge``). Merging is idempotent: a second run adds
nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.store.database import open_db, utc_now
from gradebench.engine.store.database_files import applied_migrations, copy_database
from gradebench.engine.store.merge import TABLE_RULES, MergeCounts, merge_attached
from gradebench.engine.store.migrations import MIGRATION_NAMES


@dataclass(frozen=True)
class MergeOutcome:
    """What ``merge_files`` did: rows added and advanced per table, the files that were
    migrated in a copy first, and the pairs that now hold answers from two machines."""

    counts: MergeCounts
    migrated: tuple[Path, ...]

    def lines(self) -> list[str]:
        nouns = {rule.table: rule.noun or rule.table.replace("_", " ") for rule in TABLE_RULES}
        added = [f"{n} {nouns[t]}" for t, n in self.counts.added.items() if n]
        updated = sum(self.counts.updated.values())
        out = [f"added: {', '.join(added)}" if added else "added: nothing new"]
        if updated:
            out.append(f"brought up to date: {updated} rows (ended answers, runs, reveals)")
        if self.counts.doubled_pairs:
            out.append(
                f"{self.counts.doubled_pairs} (problem, contender, sample) now hold answers"
                " made on different machines: all kept, the one graded by the most reviewers"
                " is current"
            )
        for path in self.migrated:
            out.append(f"{path}: older schema, migrated in a temporary copy (file unchanged)")
        return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_source(path: Path, target: Path) -> bool:
    """Validate one file; True when its schema is older than this gradebench's."""
    if not path.exists():
        raise UserError(f"merge: {path}: no such file")
    if path.is_dir():
        raise UserError(f"merge: {path}: is a directory")
    if _same_file(path, target):
        raise UserError(f"merge: {path}: is the target database itself")
    try:
        applied = applied_migrations(path)
    except UserError as problem:
        raise UserError(f"merge: {problem}") from None
    unknown = [name for name in applied if name not in MIGRATION_NAMES]
    if unknown:
        raise UserError(
            f"merge: {path}: made by a newer gradebench (migration {unknown[0]});"
            " upgrade gradebench to merge it"
        )
    return len(set(applied)) < len(MIGRATION_NAMES)


def merge_files(target: Path, sources: Sequence[Path]) -> MergeOutcome:
    """Merge ``sources`` into the database at ``target`` (created if missing)."""
    if not sources:
        raise UserError("merge: name at least one database file to merge")
    seen: list[Path] = []
    for path in sources:
        if any(_same_file(path, other) for other in seen):
            raise UserError(f"merge: {path}: named twice")
        seen.append(path)
    older = [path for path in sources if _check_source(path, target)]
    with tempfile.TemporaryDirectory(prefix="gradebench-merge-") as scratch:
        readable: list[Path] = []
        for index, path in enumerate(sources):
            if path in older:
                copy = Path(scratch) / f"{index}-{path.name}"
                copy_database(path, copy)
                open_db(copy).conn.close()  # migrates the copy
                readable.append(copy)
            else:
                readable.append(path)
        db = open_db(target)
        try:
            counts = merge_attached(db, readable, utc_now(), labels=list(sources))
        finally:
            db.conn.close()
    return MergeOutcome(counts, tuple(older))
