"""Planning and running a study (``gradebench study plan|run``).

``plan_study`` resolves the study file's suites to problems and its contenders to
database rows, and counts per (suite, contender) the answers planned, those already
present and the time the rest should take, from the seconds per answer measured in this
database (this contender's answers, else any answer of its model). It writes only the
problem and contender rows a run would write anyway.

``run_study`` makes what is missing, model by model and one answer at a time (so each
answer's CPU time and peak memory are its own: two models in one process would share
both), suite by suite, in the order the reviewer meets the problems. Every batch is a
``runs`` row naming the study file's hash, with the facts the report's footer states
(model quantization, backend and its version); the file's text is kept in ``studies``.
Interrupted, it leaves finished answers stored and a later run makes only the rest.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradebench.engine.errors import UserError
from gradebench.engine.store.studies import (
    bytes_per_answer,
    graded_counts,
    measured_model_seconds,
    measured_seconds,
    record_study,
    suite_problem_ids,
)
from gradebench.engine.workflows.batch import BatchSummary, JobOutcome, run_batch
from gradebench.engine.workflows.batch_plan import BatchPlan, check_model_files, plan_batch

if TYPE_CHECKING:
    from gradebench.engine.generation.backend import Backend
    from gradebench.engine.generation.prompts import PromptTemplates
    from gradebench.engine.generation.registry import Contender, ModelSpec
    from gradebench.engine.problems.model import Problem
    from gradebench.engine.problems.registry import SuiteSources
    from gradebench.engine.reporting.study_report import StudyReport, StudySuiteInfo
    from gradebench.engine.store.sqlite import Database
    from gradebench.engine.workflows.batch import Evaluate, Job
    from gradebench.engine.workflows.study_file import Study, StudySuite


@dataclass(frozen=True)
class StudySlice:
    """One suite of the study with the problems its subset chose."""

    suite: str
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class PlanRow:
    suite: str
    contender: str
    contender_id: str
    planned: int
    present: int
    seconds_per_answer: float | None
    measured_from: str
    """Where the estimate comes from: this contender's answers, its model's, or none."""

    @property
    def missing(self) -> int:
        return self.planned - self.present


@dataclass(frozen=True)
class StudyPlan:
    study: Study
    slices: tuple[StudySlice, ...]
    rows: tuple[PlanRow, ...]
    contender_ids: dict[str, str]
    """Contender name -> id in the database."""
    warnings: tuple[str, ...]
    bytes_per_answer: float | None
    to_grade: int
    """First-sample answers of the hand-graded suites (each needs the plan's reviewers)."""
    graded: int
    """Of those, answers present with at least the plan's number of reviewers."""

    @property
    def planned(self) -> int:
        return sum(r.planned for r in self.rows)

    @property
    def present(self) -> int:
        return sum(r.present for r in self.rows)

    @property
    def missing(self) -> int:
        return self.planned - self.present

    @property
    def estimated_seconds(self) -> float | None:
        """The time the missing answers should take one at a time (None: a contender with
        missing answers has no measured speed yet)."""
        total = 0.0
        for row in self.rows:
            if row.missing:
                if row.seconds_per_answer is None:
                    return None
                total += row.missing * row.seconds_per_answer
        return total

    @property
    def estimated_bytes(self) -> float | None:
        return None if self.bytes_per_answer is None else self.missing * self.bytes_per_answer


DEFAULT_BYTES_PER_ANSWER = 16 * 1024
"""Disk per answer before a database has any (prompt, answer, code, test run, indexes)."""


def resolve_slices(study: Study, sources: SuiteSources) -> tuple[list[StudySlice], list[str]]:
    """Each suite's chosen problems, and the problems that failed to load (as messages)."""
    slices: list[StudySlice] = []
    warnings: list[str] = []
    for suite in study.suites:
        try:
            load = sources.load(suite.name)
        except UserError as exc:
            raise UserError(f"{study.path}: suites: {suite.name}: {exc}") from None
        warnings.extend(f"{suite.name}: {error}" for error in load.errors)
        try:
            chosen = suite.subset.select(load.problems, suite.name)
        except UserError as exc:
            raise UserError(f"{study.path}: suites: {exc}") from None
        slices.append(StudySlice(suite.name, tuple(chosen)))
    return slices, warnings


def _contenders(study: Study) -> list[Contender]:
    return [c.contender for c in study.contenders]


def plan_study(
    db: Database,
    study: Study,
    sources: SuiteSources,
    templates: PromptTemplates,
    *,
    reviewer: str | None = None,
) -> StudyPlan:
    """What ``run_study`` will make, what is there already and what the rest should cost."""
    contenders = _contenders(study)
    check_model_files(contenders)
    slices, warnings = resolve_slices(study, sources)
    rows: list[PlanRow] = []
    ids: dict[str, str] = {}
    for piece in slices:
        batch = _plan_piece(db, study, piece, contenders, templates, reviewer)
        missing: dict[str, int] = {}
        for job in batch.jobs:
            missing[job.seat.id] = missing.get(job.seat.id, 0) + 1
        measured = measured_seconds(db.conn, [s.id for s in batch.seats])
        for seat in batch.seats:
            ids[seat.contender.name] = seat.id
            planned = len(piece.problems) * study.samples
            seconds, source = _estimate(db, seat.id, seat.model_sha256, measured)
            rows.append(
                PlanRow(
                    piece.suite,
                    seat.contender.name,
                    seat.id,
                    planned,
                    planned - missing.get(seat.id, 0),
                    seconds,
                    source,
                )
            )
    to_grade, graded = _grading_progress(db, study, slices, list(ids.values()))
    return StudyPlan(
        study=study,
        slices=tuple(slices),
        rows=tuple(rows),
        contender_ids=ids,
        warnings=tuple(warnings),
        bytes_per_answer=bytes_per_answer(db.conn) or DEFAULT_BYTES_PER_ANSWER,
        to_grade=to_grade,
        graded=graded,
    )


def _plan_piece(
    db: Database,
    study: Study,
    piece: StudySlice,
    contenders: Sequence[Contender],
    templates: PromptTemplates,
    reviewer: str | None,
) -> BatchPlan:
    """The answers of ``contenders`` on one suite of the study, done or still to make."""
    return plan_batch(
        db,
        piece.suite,
        list(piece.problems),
        contenders,
        templates,
        samples=study.samples,
        reviewer=reviewer,
    )


def _estimate(
    db: Database, contender_id: str, model_sha256: str, measured: dict[str, tuple[int, float]]
) -> tuple[float | None, str]:
    if contender_id in measured:
        count, seconds = measured[contender_id]
        return seconds, f"{count} answers of this contender"
    by_model = measured_model_seconds(db.conn, model_sha256)
    if by_model is not None:
        count, seconds = by_model
        return seconds, f"{count} answers of its model"
    return None, "not measured yet"


def _grading_progress(
    db: Database, study: Study, slices: Sequence[StudySlice], contender_ids: list[str]
) -> tuple[int, int]:
    hand = [p.id for s in slices if s.suite in study.grading.by_hand for p in s.problems]
    to_grade = len(hand) * len(contender_ids)
    counts = graded_counts(db.conn, hand, contender_ids)
    graded = sum(1 for _, _, reviewers in counts if reviewers >= study.grading.reviewers)
    return to_grade, graded


def model_facts(model: ModelSpec) -> dict[str, Any]:
    """What the footer says about a model besides its hash: backend, its version and the
    GGUF's quantization (local files)."""
    distribution = {"gpt4all": "gpt4all", "llamacpp": "llama-cpp-python"}.get(model.backend)
    version = None
    if distribution is not None:
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = None
    quantization = None
    if model.path is not None:
        from gradebench.engine.generation.gguf_info import read_gguf_info

        try:
            quantization = read_gguf_info(Path(model.path)).file_type
        except UserError:
            quantization = None
    return {
        "name": model.name,
        "backend": model.backend,
        "backend_version": version,
        "quantization": quantization,
    }


def run_study(
    db_path: Path,
    plan: StudyPlan,
    templates: PromptTemplates,
    make_backend: Callable[[Sequence[Contender]], Backend],
    *,
    evaluate: Evaluate | None,
    reviewer: str | None = None,
    on_outcome: Callable[[JobOutcome], None] | None = None,
    on_text: Callable[[Job, str], None] | None = None,
) -> list[BatchSummary]:
    """Generate and test every missing answer of the planned study (``plan_study`` loaded
    its suites and checked its model files), one model at a time, one answer at a time."""
    from gradebench.engine.store.database import open_db

    study = plan.study
    db = open_db(db_path)
    try:
        record_study(db.conn, study.sha256, study.name, str(study.path), study.text)
        return _run_groups(
            db,
            db_path,
            study,
            plan.slices,
            _contenders(study),
            templates,
            make_backend,
            evaluate=evaluate,
            reviewer=reviewer,
            on_outcome=on_outcome,
            on_text=on_text,
        )
    finally:
        db.conn.close()


def _run_groups(
    db: Database,
    db_path: Path,
    study: Study,
    slices: Sequence[StudySlice],
    contenders: Sequence[Contender],
    templates: PromptTemplates,
    make_backend: Callable[[Sequence[Contender]], Backend],
    *,
    evaluate: Evaluate | None,
    reviewer: str | None,
    on_outcome: Callable[[JobOutcome], None] | None,
    on_text: Callable[[Job, str], None] | None,
) -> list[BatchSummary]:
    groups: dict[tuple[str, str], list[Contender]] = {}
    for contender in contenders:
        key = (contender.model.backend, contender.model.location)
        groups.setdefault(key, []).append(contender)
    summaries: list[BatchSummary] = []
    for group in groups.values():
        facts = {"models": {group[0].model.name: model_facts(group[0].model)}}
        pending = []
        for piece in slices:
            batch = _plan_piece(db, study, piece, group, templates, reviewer)
            if batch.jobs:
                pending.append((piece.suite, batch.jobs))
        if not pending:
            continue
        backend = make_backend(group)
        try:
            for suite, jobs in pending:
                summaries.append(
                    run_batch(
                        db_path,
                        backend,
                        jobs,
                        suite=suite,
                        parallel=1,
                        evaluate=evaluate,
                        on_outcome=on_outcome,
                        on_text=on_text,
                        study_sha256=study.sha256,
                        settings={"study": study.name, **facts},
                    )
                )
                if summaries[-1].interrupted:
                    return summaries
        finally:
            backend.close()
    return summaries


def _report_suite(
    db: Database, study: Study, suite: StudySuite, sources: SuiteSources
) -> StudySuiteInfo:
    """A suite of the study as its report sees it: its name in the database and the ids
    of its chosen problems. A suite taken whole is the database's problems of that suite
    (the report is about what the database holds; its files need not be read); a subset
    is drawn from the suite's files, in their order, as ``run`` drew it."""
    from gradebench.engine.reporting.study_report import StudySuiteInfo

    by_hand = suite.name in study.grading.by_hand
    if suite.subset.is_everything():
        ids = suite_problem_ids(db.conn, suite.name)
        if ids:
            return StudySuiteInfo(suite.name, tuple(ids), by_hand)
    (piece,), _ = resolve_slices(replace(study, suites=(suite,)), sources)
    # a suite given by its folder is named by its problems (as the database has it)
    name = piece.problems[0].suite if piece.problems else piece.suite
    return StudySuiteInfo(name, tuple(p.id for p in piece.problems), by_hand)


def report_study(
    db: Database, study: Study, sources: SuiteSources, templates: PromptTemplates
) -> StudyReport:
    """The study's report from what the database holds now (nothing is generated)."""
    from gradebench.engine.generation.contender_rows import register_contender
    from gradebench.engine.reporting.study_report import (
        StudyContenderInfo,
        build_study_report,
    )

    infos = []
    for entry in study.contenders:
        contender = entry.contender
        seat = register_contender(db, contender, templates.template(contender.prompt_style))
        infos.append(
            StudyContenderInfo(
                name=contender.name,
                id=seat.id,
                base=contender.name.rsplit("@t", 1)[0] if study.swept else contender.name,
                model=contender.model.name,
                prompt_style=contender.prompt_style,
                temperature=entry.temperature,
            )
        )
    suites = [_report_suite(db, study, suite, sources) for suite in study.suites]
    return build_study_report(
        db.conn,
        name=study.name,
        description=study.description,
        sha256=study.sha256,
        suites=suites,
        contenders=infos,
        ks=study.ks,
        seed=study.seed,
        swept=study.swept,
    )
