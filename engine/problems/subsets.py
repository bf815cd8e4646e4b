"""Choosing part of a suite: by task ids, id globs, difficulty, tag, a file of ids,
and a seeded random sample, the same way in every entry point (``evaluate``,
``generate``, ``problems list|check``, ``export``, the app).

Filters combine: a problem is kept when it matches one of the ids or globs (when
any is given), one of the difficulties (when any), and one of the tags (when any).
Ids and globs (``fnmatch`` patterns, ``Mbpp/1*``) are matched against the problem id
and the data set's own task id (``Mbpp/2`` for ``Mbpp+/2``). Then ``sample`` draws
N of the kept problems with ``random.Random(seed)`` from the suite's order, and the
result keeps the suite's order: the same suite, filters and seed give the same
problems on every machine, so a study can run the same 40 tasks on every model.

An id that names no problem, a glob or filter that keeps nothing, or a sample
larger than what is left is a one-line ``UserError``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import Problem

GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class Subset:
    """Which problems of a suite to take; the default takes all of them."""

    ids: tuple[str, ...] = ()
    """Task ids or id globs."""
    difficulties: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    ids_file: Path | None = None
    """A file of ids or globs, one per line (``#`` starts a comment)."""
    sample: int | None = None
    seed: int = 0

    def is_everything(self) -> bool:
        return not (self.ids or self.difficulties or self.tags or self.ids_file or self.sample)

    def describe(self) -> str:
        """A short text for messages and reports, e.g. ``ids Mbpp/1*, sample 40 seed 1``."""
        parts = []
        if self.ids:
            parts.append("ids " + ",".join(self.ids))
        if self.ids_file:
            parts.append(f"ids from {self.ids_file}")
        if self.difficulties:
            parts.append("difficulty " + ",".join(self.difficulties))
        if self.tags:
            parts.append("tag " + ",".join(self.tags))
        if self.sample:
            parts.append(f"sample {self.sample} seed {self.seed}")
        return "; ".join(parts) or "all"

    def select(self, problems: Sequence[Problem], suite: str = "") -> list[Problem]:
        """The chosen problems, in the suite's order."""
        where = f"suite {suite}" if suite else "the suite"
        chosen = list(problems)
        patterns = [*self.ids, *read_ids_file(self.ids_file)] if self.ids_file else list(self.ids)
        if patterns:
            chosen = _by_ids(chosen, patterns, where)
        if self.difficulties:
            wanted = set(self.difficulties)
            chosen = [p for p in chosen if p.difficulty in wanted]
            if not chosen:
                raise UserError(f"difficulty {','.join(self.difficulties)}: no problem in {where}")
        if self.tags:
            wanted = set(self.tags)
            chosen = [p for p in chosen if wanted.intersection(p.tags)]
            if not chosen:
                raise UserError(f"tag {','.join(self.tags)}: no problem in {where}")
        if self.sample is not None:
            if self.sample < 1:
                raise UserError(f"--sample: must be at least 1, got {self.sample}")
            if self.sample > len(chosen):
                raise UserError(
                    f"--sample {self.sample}: only {len(chosen)} problems to sample from in {where}"
                )
            picked = set(random.Random(self.seed).sample(range(len(chosen)), self.sample))
            chosen = [p for index, p in enumerate(chosen) if index in picked]
        return chosen


def names_of(problem: Problem) -> tuple[str, ...]:
    """The ids a problem answers to: its own and its data set's task id."""
    task_id = problem.extra.get("task_id")
    return (
        (problem.id, task_id)
        if isinstance(task_id, str) and task_id != problem.id
        else (problem.id,)
    )


def _by_ids(problems: list[Problem], patterns: list[str], where: str) -> list[Problem]:
    keep: set[int] = set()
    for pattern in patterns:
        if GLOB_CHARACTERS.intersection(pattern):
            hits = [
                i
                for i, p in enumerate(problems)
                if any(fnmatchcase(n, pattern) for n in names_of(p))
            ]
            if not hits:
                raise UserError(f"id glob {pattern!r} matches no problem in {where}")
        else:
            hits = [i for i, p in enumerate(problems) if pattern in names_of(p)]
            if not hits:
                raise UserError(f"id {pattern!r}: no such problem in {where}")
        keep.update(hits)
    return [p for i, p in enumerate(problems) if i in keep]


def read_ids_file(path: Path | None) -> list[str]:
    """Ids or globs from a file, one per line; blank lines and ``#`` comments skipped."""
    if path is None:
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: ids file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the ids file ({exc})") from None
    ids = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    ids = [i for i in ids if i]
    if not ids:
        raise UserError(f"{path}: the ids file names no problem")
    return ids


def split_list(text: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


SPEC_KEYS = ("difficulty", "tag", "sample", "seed", "file")


def parse_subset(text: str) -> Subset:
    """A subset from one line of text, as the app's start screen and ``--problems`` take it:
    comma- or space-separated ids and globs, and ``difficulty:D``, ``tag:T``,
    ``sample:N``, ``seed:S``, ``file:PATH`` (e.g. ``Mbpp/1* tag:easy sample:40 seed:1``).
    ``UserError`` names a bad token."""
    ids: list[str] = []
    difficulties: list[str] = []
    tags: list[str] = []
    sample: int | None = None
    seed = 0
    ids_file: Path | None = None
    for token in text.replace(",", " ").split():
        key, colon, value = token.partition(":")
        if not colon or key not in SPEC_KEYS:
            ids.append(token)
            continue
        if not value:
            raise UserError(f"problems {token!r}: {key}: needs a value")
        if key == "difficulty":
            difficulties.append(value)
        elif key == "tag":
            tags.append(value)
        elif key == "file":
            ids_file = Path(value).expanduser()
        else:
            try:
                number = int(value)
            except ValueError:
                raise UserError(f"problems {token!r}: {key} must be a whole number") from None
            if key == "sample":
                if number < 1:
                    raise UserError(f"problems {token!r}: sample must be at least 1")
                sample = number
            else:
                seed = number
    return Subset(
        ids=tuple(ids),
        difficulties=tuple(difficulties),
        tags=tuple(tags),
        ids_file=ids_file,
        sample=sample,
        seed=seed,
    )


def subset_spec(subset: Subset) -> str:
    """The text ``parse_subset`` reads back as ``subset``."""
    parts = list(subset.ids)
    parts += [f"difficulty:{d}" for d in subset.difficulties]
    parts += [f"tag:{t}" for t in subset.tags]
    if subset.ids_file is not None:
        parts.append(f"file:{subset.ids_file}")
    if subset.sample is not None:
        parts += [f"sample:{subset.sample}", f"seed:{subset.seed}"]
    return " ".join(parts)
