"""Human grading: append-only grade events, votes, presentations, and the queries over them.

Everything a reviewer decides lands here, one short transaction per event, so a
crash right after a key press cannot lose it. Nothing is ever updated in place:
editing a grade appends a new event naming the one it replaces, and "the current
grade" of a (generation, reviewer) is the event no later event replaces.

Also owned here: the rubric read from the config's ``[rubric]`` table, the
reviewer's remembered name and resume position (``settings`` table), the blind
shuffle of contenders per problem (recorded as a ``presentations`` row), and the
navigation queries (next ungraded, next failing) the grading screen asks.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.store.database import new_id, to_json, utc_now
from gradebench.engine.store.sqlite import Database

VOTE_OUTCOMES = ("a", "b", "tie", "both_bad")
PASSING_VERDICTS = frozenset({"pass"})


# --- rubric -----------------------------------------------------------------


@dataclass(frozen=True)
class ScoreLevel:
    value: float
    label: str


@dataclass(frozen=True)
class Rubric:
    """The scores a reviewer can give, plus whether the format flag is asked."""

    levels: tuple[ScoreLevel, ...] = (
        ScoreLevel(0.0, "incorrect"),
        ScoreLevel(0.5, "partially correct"),
        ScoreLevel(1.0, "correct"),
    )
    format_flag: bool = True

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(level.value for level in self.levels)

    def label(self, value: float | None) -> str:
        if value is None:
            return "-"
        for level in self.levels:
            if abs(level.value - value) < 1e-9:
                return level.label
        return f"{value:g}"

    def nearest(self, value: float) -> float:
        """The rubric level closest to ``value`` (a suggested score may be a share)."""
        return min(self.values, key=lambda level: (abs(level - value), -level))


def rubric_from_config(config: Config) -> Rubric:
    """``[rubric] scores = [0, 0.5, 1]``, ``labels = [...]``, ``format_flag = true``."""
    section = config.section("rubric")
    if not section:
        return Rubric()
    unknown = set(section) - {"scores", "labels", "format_flag"}
    if unknown:
        raise UserError(f"{config.where}: rubric.{sorted(unknown)[0]}: unknown key")
    scores = section.get("scores", [0, 0.5, 1])
    if (
        not isinstance(scores, list)
        or not 2 <= len(scores) <= 9
        or not all(isinstance(s, int | float) and not isinstance(s, bool) for s in scores)
    ):
        raise UserError(f"{config.where}: rubric.scores must be a list of 2 to 9 numbers")
    if len(set(scores)) != len(scores) or any(not 0 <= s <= 1 for s in scores):
        raise UserError(f"{config.where}: rubric.scores must be distinct numbers from 0 to 1")
    labels = section.get("labels", [f"{s:g}" for s in scores])
    if (
        not isinstance(labels, list)
        or len(labels) != len(scores)
        or not all(isinstance(x, str) and x for x in labels)
    ):
        raise UserError(f"{config.where}: rubric.labels must be one non-empty string per score")
    flag = section.get("format_flag", True)
    if not isinstance(flag, bool):
        raise UserError(f"{config.where}: rubric.format_flag must be true or false")
    levels = tuple(
        ScoreLevel(float(s), label) for s, label in sorted(zip(scores, labels, strict=True))
    )
    return Rubric(levels=levels, format_flag=flag)


# --- grade events -----------------------------------------------------------


@dataclass(frozen=True)
class GradeEvent:
    id: str
    generation_id: str
    reviewer: str
    created_at: str
    score: float
    format_ok: bool | None
    note: str
    suggested_score: float | None
    replaces_id: str | None
    blind: bool
    run_id: str | None = None
    rubric: dict[str, Any] = field(default_factory=dict, compare=False)


def _grade_from_row(row: dict[str, Any]) -> GradeEvent:
    return GradeEvent(
        id=row["id"],
        generation_id=row["generation_id"],
        reviewer=row["reviewer"],
        created_at=row["created_at"],
        score=row["score"],
        format_ok=None if row["format_ok"] is None else bool(row["format_ok"]),
        note=row["note"],
        suggested_score=row["suggested_score"],
        replaces_id=row["replaces_id"],
        blind=bool(row["blind"]),
        run_id=row["run_id"],
        rubric=json.loads(row["rubric"] or "{}"),
    )


def _rows(db: Database, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def current_grade(db: Database, generation_id: str, reviewer: str) -> GradeEvent | None:
    """The reviewer's grade for this answer now: the latest event nothing replaces."""
    rows = _rows(
        db,
        """
        SELECT * FROM grade_events g
        WHERE g.generation_id = ? AND g.reviewer = ?
          AND NOT EXISTS (SELECT 1 FROM grade_events later WHERE later.replaces_id = g.id)
        ORDER BY g.created_at DESC, g.rowid DESC LIMIT 1
        """,
        (generation_id, reviewer),
    )
    return _grade_from_row(rows[0]) if rows else None


def grade_history(
    db: Database, generation_id: str, reviewer: str | None = None
) -> list[GradeEvent]:
    """Every grade event for an answer, oldest first (optionally one reviewer's)."""
    sql = "SELECT * FROM grade_events WHERE generation_id = ?"
    params: list[Any] = [generation_id]
    if reviewer is not None:
        sql += " AND reviewer = ?"
        params.append(reviewer)
    return [_grade_from_row(r) for r in _rows(db, sql + " ORDER BY created_at, rowid", params)]


def record_grade(
    db: Database,
    *,
    generation_id: str,
    reviewer: str,
    score: float,
    format_ok: bool | None = None,
    note: str = "",
    suggested_score: float | None = None,
    blind: bool = False,
    run_id: str | None = None,
    rubric: dict[str, Any] | None = None,
) -> GradeEvent:
    """Append a grade event (replacing the reviewer's current one), committed at once."""
    if not reviewer.strip():
        raise UserError("reviewer: name must not be empty")
    previous = current_grade(db, generation_id, reviewer)
    event = GradeEvent(
        id=new_id(),
        generation_id=generation_id,
        reviewer=reviewer,
        created_at=utc_now(),
        score=float(score),
        format_ok=format_ok,
        note=note,
        suggested_score=suggested_score,
        replaces_id=previous.id if previous else None,
        blind=blind,
        run_id=run_id,
        rubric=rubric or {},
    )
    with db.conn:
        db.conn.execute(
            """
            INSERT INTO grade_events (id, generation_id, reviewer, created_at, score, format_ok,
                rubric, note, suggested_score, replaces_id, blind, run_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                event.id,
                event.generation_id,
                event.reviewer,
                event.created_at,
                event.score,
                None if format_ok is None else int(format_ok),
                to_json(event.rubric),
                event.note,
                event.suggested_score,
                event.replaces_id,
                int(blind),
                run_id,
            ),
        )
    return event


# --- votes ------------------------------------------------------------------


@dataclass(frozen=True)
class Vote:
    id: str
    problem_id: str
    reviewer: str
    created_at: str
    generation_a: str
    generation_b: str
    outcome: str
    replaces_id: str | None
    blind: bool


def current_vote(db: Database, problem_id: str, reviewer: str) -> Vote | None:
    rows = _rows(
        db,
        """
        SELECT * FROM votes v WHERE v.problem_id = ? AND v.reviewer = ?
          AND NOT EXISTS (SELECT 1 FROM votes later WHERE later.replaces_id = v.id)
        ORDER BY v.created_at DESC, v.rowid DESC LIMIT 1
        """,
        (problem_id, reviewer),
    )
    if not rows:
        return None
    r = rows[0]
    return Vote(
        r["id"],
        r["problem_id"],
        r["reviewer"],
        r["created_at"],
        r["generation_a"],
        r["generation_b"],
        r["outcome"],
        r["replaces_id"],
        bool(r["blind"]),
    )


def record_vote(
    db: Database,
    *,
    problem_id: str,
    reviewer: str,
    generation_a: str,
    generation_b: str,
    outcome: str,
    blind: bool = False,
    run_id: str | None = None,
) -> Vote:
    """Append a side-by-side preference (``a``/``b`` = left/right pane as shown)."""
    if outcome not in VOTE_OUTCOMES:
        raise UserError(f"vote: outcome must be one of {', '.join(VOTE_OUTCOMES)}")
    previous = current_vote(db, problem_id, reviewer)
    vote = Vote(
        new_id(),
        problem_id,
        reviewer,
        utc_now(),
        generation_a,
        generation_b,
        outcome,
        previous.id if previous else None,
        blind,
    )
    with db.conn:
        db.conn.execute(
            """
            INSERT INTO votes (id, problem_id, reviewer, created_at, generation_a, generation_b,
                outcome, replaces_id, blind, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                vote.id,
                problem_id,
                reviewer,
                vote.created_at,
                generation_a,
                generation_b,
                outcome,
                vote.replaces_id,
                int(blind),
                run_id,
            ),
        )
    return vote


# --- presentations (pane order, blind shuffle) -------------------------------


@dataclass(frozen=True)
class Presentation:
    id: str
    problem_id: str
    reviewer: str
    blind: bool
    contender_order: tuple[str, ...]
    created_at: str
    revealed_at: str | None

    @property
    def revealed(self) -> bool:
        return not self.blind or self.revealed_at is not None


def _presentation_from_row(r: dict[str, Any]) -> Presentation:
    return Presentation(
        r["id"],
        r["problem_id"],
        r["reviewer"],
        bool(r["blind"]),
        tuple(json.loads(r["contender_order"])),
        r["created_at"],
        r["revealed_at"],
    )


def latest_presentation(db: Database, problem_id: str, reviewer: str) -> Presentation | None:
    rows = _rows(
        db,
        "SELECT * FROM presentations WHERE problem_id = ? AND reviewer = ? "
        "ORDER BY created_at DESC, rowid DESC LIMIT 1",
        (problem_id, reviewer),
    )
    return _presentation_from_row(rows[0]) if rows else None


def present(
    db: Database,
    *,
    problem_id: str,
    reviewer: str,
    contender_ids: Sequence[str],
    blind: bool,
    run_id: str | None = None,
    rng: random.Random | None = None,
) -> Presentation:
    """The pane order for this problem: reused when the same set was shown before, else new.

    Blind mode shuffles the order per problem; open mode keeps the given order.
    Either way the order is recorded so a later analysis knows what was left.
    """
    previous = latest_presentation(db, problem_id, reviewer)
    if (
        previous is not None
        and previous.blind == blind
        and sorted(previous.contender_order) == sorted(contender_ids)
    ):
        return previous
    order = list(contender_ids)
    if blind:
        (rng or random.SystemRandom()).shuffle(order)
    presentation = Presentation(
        new_id(), problem_id, reviewer, blind, tuple(order), utc_now(), None
    )
    with db.conn:
        db.conn.execute(
            "INSERT INTO presentations (id, problem_id, reviewer, blind, contender_order, "
            "created_at, revealed_at, run_id) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
            (
                presentation.id,
                problem_id,
                reviewer,
                int(blind),
                to_json(list(order)),
                presentation.created_at,
                run_id,
            ),
        )
    return presentation


def reveal(db: Database, presentation: Presentation) -> Presentation:
    """Mark a blind presentation's names as revealed (once its grades are committed)."""
    if presentation.revealed_at is not None:
        return presentation
    when = utc_now()
    with db.conn:
        db.conn.execute(
            "UPDATE presentations SET revealed_at = ? WHERE id = ? AND revealed_at IS NULL",
            (when, presentation.id),
        )
    return Presentation(
        presentation.id,
        presentation.problem_id,
        presentation.reviewer,
        presentation.blind,
        presentation.contender_order,
        presentation.created_at,
        when,
    )


def blind_label(index: int) -> str:
    return chr(ord("A") + index)


# --- settings: reviewer name, resume position --------------------------------


def get_setting(db: Database, key: str, default: Any = None) -> Any:
    row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return default if row is None else json.loads(row[0])


def set_setting(db: Database, key: str, value: Any) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, to_json(value)),
        )


def last_reviewer(db: Database) -> str | None:
    return get_setting(db, "last_reviewer")


def remember_reviewer(db: Database, reviewer: str) -> None:
    set_setting(db, "last_reviewer", reviewer)


def save_position(db: Database, reviewer: str, suite: str, problem_id: str) -> None:
    set_setting(db, f"position:{reviewer}:{suite}", problem_id)


def saved_position(db: Database, reviewer: str, suite: str) -> str | None:
    return get_setting(db, f"position:{reviewer}:{suite}")


# --- what the reviewer has done, per problem ----------------------------------


def current_generation_ids(
    db: Database, problem_ids: Iterable[str], contender_ids: Sequence[str]
) -> dict[tuple[str, str], str]:
    """(problem_id, contender_id) -> the current (not superseded) generation's id."""
    problems = list(problem_ids)
    if not problems or not contender_ids:
        return {}
    found: dict[tuple[str, str], str] = {}
    marks_c = ",".join("?" * len(contender_ids))
    for start in range(0, len(problems), 400):
        chunk = problems[start : start + 400]
        marks_p = ",".join("?" * len(chunk))
        for problem_id, contender_id, generation_id in db.execute(
            f"""
            SELECT problem_id, contender_id, id FROM generations
            WHERE superseded_at IS NULL AND sample_index = 0
              AND problem_id IN ({marks_p}) AND contender_id IN ({marks_c})
            ORDER BY started_at
            """,
            [*chunk, *contender_ids],
        ):
            found[(problem_id, contender_id)] = generation_id
    return found


def current_scores(db: Database, reviewer: str, generation_ids: Iterable[str]) -> dict[str, float]:
    """generation_id -> the reviewer's current score, for those that have one."""
    ids = list(generation_ids)
    scores: dict[str, float] = {}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = ",".join("?" * len(chunk))
        for generation_id, score in db.execute(
            f"""
            SELECT g.generation_id, g.score FROM grade_events g
            WHERE g.reviewer = ? AND g.generation_id IN ({marks})
              AND NOT EXISTS (SELECT 1 FROM grade_events later WHERE later.replaces_id = g.id)
            ORDER BY g.created_at, g.rowid
            """,
            [reviewer, *chunk],
        ):
            scores[generation_id] = score
    return scores


def latest_verdicts(db: Database, generation_ids: Iterable[str]) -> dict[str, str]:
    """generation_id -> verdict of its latest execution."""
    ids = list(generation_ids)
    verdicts: dict[str, str] = {}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = ",".join("?" * len(chunk))
        for generation_id, verdict in db.execute(
            f"SELECT generation_id, verdict FROM executions WHERE generation_id IN ({marks}) "
            "ORDER BY created_at, rowid",
            chunk,
        ):
            verdicts[generation_id] = verdict
    return verdicts


@dataclass(frozen=True)
class ProblemStatus:
    """One problem as the reviewer stands with it."""

    problem_id: str
    generations: dict[str, str]  # contender_id -> generation_id (only those that exist)
    scores: dict[str, float]  # contender_id -> reviewer's current score
    verdicts: dict[str, str]  # contender_id -> latest verdict

    def graded(self, contender_ids: Sequence[str]) -> bool:
        return all(c in self.scores for c in contender_ids)

    def failing(self, contender_ids: Sequence[str]) -> bool:
        return any(
            c in self.verdicts and self.verdicts[c] not in PASSING_VERDICTS for c in contender_ids
        )


def problem_statuses(
    db: Database, reviewer: str, problem_ids: Sequence[str], contender_ids: Sequence[str]
) -> dict[str, ProblemStatus]:
    generations = current_generation_ids(db, problem_ids, contender_ids)
    scores = current_scores(db, reviewer, generations.values())
    verdicts = latest_verdicts(db, generations.values())
    statuses: dict[str, ProblemStatus] = {}
    for problem_id in problem_ids:
        gens = {
            c: generations[(problem_id, c)] for c in contender_ids if (problem_id, c) in generations
        }
        statuses[problem_id] = ProblemStatus(
            problem_id,
            gens,
            {c: scores[g] for c, g in gens.items() if g in scores},
            {c: verdicts[g] for c, g in gens.items() if g in verdicts},
        )
    return statuses


def next_matching(
    problem_ids: Sequence[str],
    start: int,
    matches: Any,
    *,
    wrap: bool = True,
) -> int | None:
    """Index of the first problem after ``start`` for which ``matches(problem_id)``."""
    n = len(problem_ids)
    for step in range(1, n + (1 if wrap else 0)):
        index = start + step
        if index >= n:
            if not wrap:
                return None
            index -= n
        if matches(problem_ids[index]):
            return index
    return None


def resume_index(
    db: Database,
    reviewer: str,
    suite: str,
    problem_ids: Sequence[str],
    contender_ids: Sequence[str],
) -> int:
    """Where this reviewer picks up: the first ungraded problem, else where they stopped."""
    if not problem_ids:
        return 0
    statuses = problem_statuses(db, reviewer, problem_ids, contender_ids)
    for index, problem_id in enumerate(problem_ids):
        if not statuses[problem_id].graded(contender_ids):
            return index
    saved = saved_position(db, reviewer, suite)
    return problem_ids.index(saved) if saved in problem_ids else 0


@dataclass(frozen=True)
class ContenderSummary:
    graded: int
    mean_score: float | None
    correct: int


def reviewer_summary(
    db: Database, reviewer: str, problem_ids: Sequence[str], contender_ids: Sequence[str]
) -> dict[str, ContenderSummary]:
    """Per contender: how many answers this reviewer graded, their mean and full marks."""
    statuses = problem_statuses(db, reviewer, problem_ids, contender_ids)
    summary: dict[str, ContenderSummary] = {}
    for contender_id in contender_ids:
        scores = [s.scores[contender_id] for s in statuses.values() if contender_id in s.scores]
        summary[contender_id] = ContenderSummary(
            graded=len(scores),
            mean_score=sum(scores) / len(scores) if scores else None,
            correct=sum(1 for s in scores if s >= 1.0),
        )
    return summary


def select_problems(
    problems: Sequence[Any],
    which: str,
    *,
    db: Database,
    reviewer: str,
    contender_ids: Sequence[str],
) -> list[Any]:
    """Which problems a session covers: ``all``, ``ungraded``, ``failing`` or a difficulty."""
    if which == "all":
        return list(problems)
    if which in ("easy", "medium", "hard", "unrated"):
        return [p for p in problems if p.difficulty == which]
    if which not in ("ungraded", "failing"):
        raise UserError(
            f"problems: {which!r} is not one of all, ungraded, failing, easy, medium, hard"
        )
    statuses = problem_statuses(db, reviewer, [p.id for p in problems], contender_ids)
    if which == "ungraded":
        return [p for p in problems if not statuses[p.id].graded(contender_ids)]
    return [p for p in problems if statuses[p.id].failing(contender_ids)]
