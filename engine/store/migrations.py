"""The database schema, as numbered migrations applied on every open.

Migrations are append-only: never edit one that has shipped, add the next number. (One
module of ~565 lines on purpose: the schema's history reads top to bottom in one place.)
``sqlite-utils`` records applied ones in ``_sqlite_migrations``; ``PRAGMA user_version``
mirrors the count so ``sqlite3 grades.db 'PRAGMA user_version'`` tells where a file stands.

Conventions: ids are ULID text (time-ordered), times are ISO-8601 UTC text, JSON
columns hold lists/objects as text. Grades and votes are append-only events; the
current grade is the latest event per (generation, reviewer) that no later event
replaces.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from gradebench.engine.store.sqlite import Database, Migrations

migrations = Migrations("gradebench")
MIGRATION_NAMES: list[str] = []
"""Every migration in order; ``SCHEMA_VERSION`` is their count."""


def migration(name: str) -> Callable[[Callable[[Database], None]], Callable[[Database], None]]:
    """Register a migration with sqlite-utils (which runs it and its record in one
    transaction) and in ``MIGRATION_NAMES``."""

    def register(function: Callable[[Database], None]) -> Callable[[Database], None]:
        MIGRATION_NAMES.append(name)
        return migrations(name=name)(function)

    return register


def statements(script: str) -> Iterator[str]:
    """The complete SQL statements of ``script`` (a trigger's ``BEGIN ... END`` is one)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement at the end of a migration: {pending[:60]!r}")


def run_script(db: Database, script: str) -> None:
    """Run ``script`` statement by statement inside the migration's transaction
    (``sqlite3``'s ``executescript`` would commit first, splitting the migration from its
    record)."""
    for statement in statements(script):
        db.execute(statement)


@migration("m001_initial")
def m001_initial(db: Database) -> None:
    run_script(
        db,
        """
        CREATE TABLE problems (
            id TEXT PRIMARY KEY,            -- 'lowcost60/easy-count-vowels', 'HumanEval/0'
            suite TEXT NOT NULL,
            title TEXT NOT NULL,
            difficulty TEXT NOT NULL,       -- easy | medium | hard | unrated
            entry_point TEXT NOT NULL,
            statement TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]', -- JSON list
            content_sha256 TEXT NOT NULL,   -- hash of statement + reference + tests
            updated_at TEXT NOT NULL
        );
        CREATE INDEX problems_suite ON problems(suite, difficulty);

        -- Expected outputs computed once from the reference solution (EvalPlus style).
        CREATE TABLE expected_outputs (
            problem_id TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,   -- problems.content_sha256 they were computed for
            outputs TEXT NOT NULL,          -- JSON: encoded outputs, one per test
            reference_seconds TEXT NOT NULL,-- JSON: the reference's time per test
            created_at TEXT NOT NULL,
            PRIMARY KEY (problem_id, content_sha256)
        );

        CREATE TABLE models (
            sha256 TEXT PRIMARY KEY,        -- of the GGUF file
            name TEXT NOT NULL,
            path TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            chat_template TEXT NOT NULL DEFAULT '{}', -- JSON: system_prompt, prompt_template
            first_seen_at TEXT NOT NULL
        );

        -- A contender = model + prompt style + sampling settings. The id is a hash of
        -- all of it, so changing any setting makes a new contender.
        CREATE TABLE contenders (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            model_sha256 TEXT NOT NULL REFERENCES models(sha256),
            prompt_style TEXT NOT NULL,     -- plain | cot | user-defined
            prompt_template TEXT NOT NULL,
            params TEXT NOT NULL,           -- JSON: temperature, top_p, top_k, max_tokens, repeat_penalty...
            created_at TEXT NOT NULL
        );
        CREATE INDEX contenders_name ON contenders(name);

        -- One invocation: a headless `generate` batch or a TUI grading session.
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,             -- generate | grade | evaluate
            suite TEXT,
            reviewer TEXT,
            settings TEXT NOT NULL DEFAULT '{}', -- JSON
            host TEXT NOT NULL DEFAULT '{}',     -- JSON: cpu count, python, gpt4all version
            started_at TEXT NOT NULL,
            finished_at TEXT
        );

        CREATE TABLE generations (
            id TEXT PRIMARY KEY,
            run_id TEXT REFERENCES runs(id),
            problem_id TEXT NOT NULL REFERENCES problems(id),
            contender_id TEXT NOT NULL REFERENCES contenders(id),
            sample_index INTEGER NOT NULL DEFAULT 0,
            prompt_text TEXT NOT NULL,      -- exactly what was sent
            raw_answer TEXT NOT NULL DEFAULT '',
            extracted_code TEXT,            -- NULL until extracted; '' when no code
            extract_method TEXT,            -- fenced | entry-block | unfenced | none ...
            status TEXT NOT NULL,           -- streaming | done | max_tokens | cancelled | error
            error TEXT,
            tokens INTEGER NOT NULL DEFAULT 0,
            threads INTEGER,
            ttft_seconds REAL,
            total_seconds REAL,
            tokens_per_second REAL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            superseded_at TEXT              -- set when the reviewer regenerates it
        );
        CREATE INDEX generations_problem ON generations(problem_id, contender_id);
        CREATE UNIQUE INDEX generations_current
            ON generations(problem_id, contender_id, sample_index)
            WHERE superseded_at IS NULL;

        CREATE TABLE executions (
            id TEXT PRIMARY KEY,
            generation_id TEXT REFERENCES generations(id),
            problem_id TEXT NOT NULL,
            verdict TEXT NOT NULL,          -- pass | fail | error | timeout | memory | syntax | no_code
            passed INTEGER NOT NULL,
            total INTEGER NOT NULL,
            base_verdict TEXT,              -- HumanEval+: verdict on base inputs only
            base_passed INTEGER,
            base_total INTEGER,
            first_failure TEXT,             -- JSON: test index, input, expected, actual, message
            stdout TEXT NOT NULL DEFAULT '',
            stderr TEXT NOT NULL DEFAULT '',
            seconds REAL NOT NULL,
            suggested_score REAL,           -- from the verdict: 1 pass, partial share, 0
            sandbox TEXT NOT NULL DEFAULT '{}', -- JSON: limits and isolation in force
            created_at TEXT NOT NULL
        );
        CREATE INDEX executions_generation ON executions(generation_id);

        -- Append-only: an edit is a new event naming the one it replaces.
        CREATE TABLE grade_events (
            id TEXT PRIMARY KEY,
            generation_id TEXT NOT NULL REFERENCES generations(id),
            reviewer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            score REAL NOT NULL,            -- default rubric: 0 | 0.5 | 1
            format_ok INTEGER,              -- 1 followed the requested format, 0 not, NULL unset
            rubric TEXT NOT NULL DEFAULT '{}', -- JSON: any further rubric fields
            note TEXT NOT NULL DEFAULT '',
            suggested_score REAL,           -- what the tests suggested at the time
            replaces_id TEXT REFERENCES grade_events(id),
            blind INTEGER NOT NULL DEFAULT 0,
            run_id TEXT REFERENCES runs(id)
        );
        CREATE INDEX grade_events_generation ON grade_events(generation_id, reviewer, created_at);
        CREATE INDEX grade_events_reviewer ON grade_events(reviewer, created_at);

        -- Side-by-side preference between two answers to one problem (append-only).
        CREATE TABLE votes (
            id TEXT PRIMARY KEY,
            problem_id TEXT NOT NULL REFERENCES problems(id),
            reviewer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            generation_a TEXT NOT NULL REFERENCES generations(id),  -- left pane
            generation_b TEXT NOT NULL REFERENCES generations(id),  -- right pane
            outcome TEXT NOT NULL,          -- a | b | tie | both_bad
            replaces_id TEXT REFERENCES votes(id),
            blind INTEGER NOT NULL DEFAULT 0,
            run_id TEXT REFERENCES runs(id)
        );
        CREATE INDEX votes_problem ON votes(problem_id, reviewer, created_at);

        -- How a problem was shown to a reviewer: pane order (shuffled in blind mode).
        CREATE TABLE presentations (
            id TEXT PRIMARY KEY,
            problem_id TEXT NOT NULL REFERENCES problems(id),
            reviewer TEXT NOT NULL,
            blind INTEGER NOT NULL,
            contender_order TEXT NOT NULL,  -- JSON list of contender ids, left to right
            created_at TEXT NOT NULL,
            revealed_at TEXT,
            run_id TEXT REFERENCES runs(id)
        );
        CREATE INDEX presentations_problem ON presentations(problem_id, reviewer);

        -- Small remembered settings: last reviewer name, last position per reviewer...
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL             -- JSON
        );
        """,
    )
    db["grade_events"].enable_fts(["note"], create_triggers=True)


@migration("m002_current_grade_index")
def m002_current_grade_index(db: Database) -> None:
    """Covering index for "each reviewer's latest grade": the leaderboard and exports read
    it without touching the table (half the time at 300,000 grade events)."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS grade_events_current"
        " ON grade_events(generation_id, reviewer, created_at, score, format_ok)"
    )


@migration("m003_grade_events_created_index")
def m003_grade_events_created_index(db: Database) -> None:
    """Grade events in creation order without a sort: the raw export streams them straight
    from this index (its rowid tie-break is the index's own last column)."""
    db.execute("CREATE INDEX IF NOT EXISTS grade_events_created ON grade_events(created_at)")


@migration("m004_current_tables")
def m004_current_tables(db: Database) -> None:
    """Each reviewer's current grade and each generation's latest execution, kept by
    triggers as the events arrive: the leaderboard and exports read them as plain tables
    instead of grouping every event (at 300,000 grade events the grouping was half of
    the leaderboard's reading time). Derived data only: ``grade_events`` and
    ``executions`` stay the record, and this migration fills both tables from them.
    Ties in ``created_at`` go to the row inserted last."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS grade_current (
            generation_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            event_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            score REAL NOT NULL,
            format_ok INTEGER,
            PRIMARY KEY (generation_id, reviewer)
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO grade_current
            SELECT generation_id, reviewer, id, created_at, score, format_ok FROM (
                SELECT *, ROW_NUMBER() OVER (
                    PARTITION BY generation_id, reviewer ORDER BY created_at DESC, rowid DESC
                ) AS rank FROM grade_events
            ) WHERE rank = 1;
        CREATE TRIGGER IF NOT EXISTS grade_events_keep_current AFTER INSERT ON grade_events
        BEGIN
            INSERT INTO grade_current
                (generation_id, reviewer, event_id, created_at, score, format_ok)
            VALUES (NEW.generation_id, NEW.reviewer, NEW.id, NEW.created_at, NEW.score,
                    NEW.format_ok)
            ON CONFLICT (generation_id, reviewer) DO UPDATE SET
                event_id = excluded.event_id, created_at = excluded.created_at,
                score = excluded.score, format_ok = excluded.format_ok
            WHERE excluded.created_at >= grade_current.created_at;
        END;

        CREATE TABLE IF NOT EXISTS execution_latest (
            generation_id TEXT PRIMARY KEY,
            execution_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            verdict TEXT NOT NULL,
            base_verdict TEXT
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO execution_latest
            SELECT generation_id, id, created_at, verdict, base_verdict FROM (
                SELECT *, ROW_NUMBER() OVER (
                    PARTITION BY generation_id ORDER BY created_at DESC, rowid DESC
                ) AS rank FROM executions WHERE generation_id IS NOT NULL
            ) WHERE rank = 1;
        CREATE TRIGGER IF NOT EXISTS executions_keep_latest AFTER INSERT ON executions
        WHEN NEW.generation_id IS NOT NULL
        BEGIN
            INSERT INTO execution_latest
                (generation_id, execution_id, created_at, verdict, base_verdict)
            VALUES (NEW.generation_id, NEW.id, NEW.created_at, NEW.verdict, NEW.base_verdict)
            ON CONFLICT (generation_id) DO UPDATE SET
                execution_id = excluded.execution_id, created_at = excluded.created_at,
                verdict = excluded.verdict, base_verdict = excluded.base_verdict
            WHERE excluded.created_at >= execution_latest.created_at;
        END;
        """,
    )


@migration("m005_vote_current")
def m005_vote_current(db: Database) -> None:
    """Each reviewer's current vote on a pair of answers, kept by a trigger as votes
    arrive: the leaderboard reads it as a plain table instead of ranking every vote
    with a window function. A pair is keyed by its two generation ids in sorted order
    (``generation_low``, ``generation_high``), so a vote with the panes swapped replaces
    the earlier one; ``generation_a``/``generation_b`` keep the panes as voted. Derived
    data only: ``votes`` stays the record, and this migration fills the table from it
    (latest ``created_at`` wins; ties go to the later rowid, the row inserted last,
    which is also what the trigger's ``>=`` picks)."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS vote_current (
            problem_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            generation_low TEXT NOT NULL,   -- min(generation_a, generation_b)
            generation_high TEXT NOT NULL,  -- max(generation_a, generation_b)
            vote_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            generation_a TEXT NOT NULL,
            generation_b TEXT NOT NULL,
            outcome TEXT NOT NULL,
            PRIMARY KEY (problem_id, reviewer, generation_low, generation_high)
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO vote_current
            SELECT problem_id, reviewer, generation_low, generation_high, id, created_at,
                   generation_a, generation_b, outcome
            FROM (
                SELECT problem_id, reviewer, id, created_at, generation_a, generation_b,
                       outcome,
                       min(generation_a, generation_b) AS generation_low,
                       max(generation_a, generation_b) AS generation_high,
                       ROW_NUMBER() OVER (
                           PARTITION BY problem_id, reviewer,
                                        min(generation_a, generation_b),
                                        max(generation_a, generation_b)
                           ORDER BY created_at DESC, rowid DESC
                       ) AS rank
                FROM votes
            )
            WHERE rank = 1;
        CREATE TRIGGER IF NOT EXISTS votes_keep_current AFTER INSERT ON votes
        BEGIN
            INSERT INTO vote_current
                (problem_id, reviewer, generation_low, generation_high, vote_id, created_at,
                 generation_a, generation_b, outcome)
            VALUES (NEW.problem_id, NEW.reviewer,
                    min(NEW.generation_a, NEW.generation_b),
                    max(NEW.generation_a, NEW.generation_b),
                    NEW.id, NEW.created_at, NEW.generation_a, NEW.generation_b, NEW.outcome)
            ON CONFLICT (problem_id, reviewer, generation_low, generation_high) DO UPDATE SET
                vote_id = excluded.vote_id, created_at = excluded.created_at,
                generation_a = excluded.generation_a, generation_b = excluded.generation_b,
                outcome = excluded.outcome
            WHERE excluded.created_at >= vote_current.created_at;
        END;
        """,
    )


@migration("m006_generation_figures_index")
def m006_generation_figures_index(db: Database) -> None:
    """Covering index of what the leaderboard reads from every current answer (contender,
    problem, timings): the scan no longer walks the rows with their prompts and answers."""
    db.execute(
        "CREATE INDEX IF NOT EXISTS generations_figures ON generations(superseded_at,"
        " contender_id, problem_id, ttft_seconds, tokens_per_second, tokens, total_seconds)"
    )


@migration("m007_extraction_details")
def m007_extraction_details(db: Database) -> None:
    """What the extractor did besides the code: its repairs (``extract_notes``, a JSON
    list such as "took the parseable part of the block") and whether the answer kept
    the requested format (``followed_format``: one fenced block in all; 1, 0 or NULL
    before extraction), so a reopened answer shows the same as a live one and the
    machine's format check can be compared with the reviewers'."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(generations)").fetchall()}
    if "extract_notes" not in columns:
        db.execute("ALTER TABLE generations ADD COLUMN extract_notes TEXT")
    if "followed_format" not in columns:
        db.execute("ALTER TABLE generations ADD COLUMN followed_format INTEGER")


@migration("m008_assignments")
def m008_assignments(db: Database) -> None:
    """Who grades which problems: one row per (problem, reviewer) of an assignment batch
    (one ``gradebench assign``); the latest batch touching a problem is in force."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS assignments (
            id TEXT PRIMARY KEY,
            batch_id TEXT NOT NULL,         -- one `gradebench assign`; ULID, latest in force
            suite TEXT NOT NULL,
            problem_id TEXT NOT NULL,
            reviewer TEXT NOT NULL,
            position INTEGER NOT NULL,      -- place in the reviewer's queue, from 0
            overlap INTEGER NOT NULL,       -- reviewers per problem in this batch
            seed INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS assignments_reviewer ON assignments(reviewer, batch_id);
        CREATE INDEX IF NOT EXISTS assignments_problem ON assignments(problem_id, batch_id);
        """,
    )


@migration("m009_adjudications")
def m009_adjudications(db: Database) -> None:
    """Settled disagreements: an adjudicator's final grade of an answer whose reviewers
    disagree, adopted from one reviewer's grade or new. Append-only; the latest per answer
    is the final grade (``--combine adjudicated``)."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS adjudications (
            id TEXT PRIMARY KEY,
            generation_id TEXT NOT NULL REFERENCES generations(id),
            adjudicator TEXT NOT NULL,
            created_at TEXT NOT NULL,
            score REAL NOT NULL,
            format_ok INTEGER,
            adopted_event_id TEXT REFERENCES grade_events(id), -- NULL: a grade of its own
            note TEXT NOT NULL DEFAULT '',
            replaces_id TEXT REFERENCES adjudications(id)
        );
        CREATE INDEX IF NOT EXISTS adjudications_generation
            ON adjudications(generation_id, created_at);
        """,
    )


@migration("m010_run_heartbeat")
def m010_run_heartbeat(db: Database) -> None:
    """A run's last sign of life (``heartbeat_at``, written every few seconds while the
    process lives): an answer ``streaming`` is a claim on its (problem, contender,
    sample) held by its run, and a claim whose run stopped beating is taken over even
    where the run's pid cannot be checked (another host name, a container)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)").fetchall()}
    if "heartbeat_at" not in columns:
        db.execute("ALTER TABLE runs ADD COLUMN heartbeat_at TEXT")


@migration("m011_rechecks")
def m011_rechecks(db: Database) -> None:
    """Second grades of answers a reviewer already graded, shown again blind and
    unannounced (``[grading] recheck_rate``): kept apart from ``grade_events`` so the
    results tables never see them; ``first_event_id`` is the grade that was current when
    the answer was shown again (the pair an intra-rater kappa compares)."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS rechecks (
            id TEXT PRIMARY KEY,
            generation_id TEXT NOT NULL REFERENCES generations(id),
            reviewer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            score REAL NOT NULL,
            format_ok INTEGER,
            first_event_id TEXT NOT NULL REFERENCES grade_events(id),
            run_id TEXT REFERENCES runs(id)
        );
        CREATE INDEX IF NOT EXISTS rechecks_reviewer ON rechecks(reviewer, generation_id);
        """,
    )


@migration("m012_drop_redundant_grade_index")
def m012_drop_redundant_grade_index(db: Database) -> None:
    """``grade_events_generation`` (generation, reviewer, time) is a prefix of the covering
    ``grade_events_current`` (m002), which serves every lookup it served; one index fewer
    to keep makes each grade event cheaper to write (a 300,000-event merge: 1 s less)."""
    db.execute("DROP INDEX IF EXISTS grade_events_generation")


@migration("m013_vote_adjudications")
def m013_vote_adjudications(db: Database) -> None:
    """Settled vote disagreements: for a pair of answers that reviewers voted on
    differently, the adjudicator's final outcome (adopted from one reviewer's vote or
    their own), told by the answers' ids (``low`` < ``high``), not by the panes.
    Append-only; the latest per pair is final (``--combine adjudicated``)."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS vote_adjudications (
            id TEXT PRIMARY KEY,
            problem_id TEXT NOT NULL REFERENCES problems(id),
            generation_low TEXT NOT NULL REFERENCES generations(id),
            generation_high TEXT NOT NULL REFERENCES generations(id),
            adjudicator TEXT NOT NULL,
            created_at TEXT NOT NULL,
            side TEXT NOT NULL,              -- low | high (the better answer) | tie | both_bad
            adopted_vote_id TEXT REFERENCES votes(id), -- NULL: the adjudicator's own
            replaces_id TEXT REFERENCES vote_adjudications(id)
        );
        CREATE INDEX IF NOT EXISTS vote_adjudications_pair
            ON vote_adjudications(problem_id, generation_low, generation_high, created_at);
        """,
    )


@migration("m014_extraction_choices")
def m014_extraction_choices(db: Database) -> None:
    """A reviewer's audit of an answer's extraction: the code candidate they chose for the
    tests to run (``extractor`` is the extractor's own choice), what the extractor had
    done (``extract_method``) and the verdict of the rerun. Append-only; the latest per
    (answer, reviewer) stands."""
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS extraction_choices (
            id TEXT PRIMARY KEY,
            generation_id TEXT NOT NULL REFERENCES generations(id),
            reviewer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            label TEXT NOT NULL,
            code TEXT NOT NULL,
            extract_method TEXT,
            execution_id TEXT REFERENCES executions(id),
            verdict TEXT NOT NULL,
            run_id TEXT REFERENCES runs(id)
        );
        CREATE INDEX IF NOT EXISTS extraction_choices_generation
            ON extraction_choices(generation_id, reviewer, created_at);
        """,
    )


@migration("m015_test_disputes")
def m015_test_disputes(db: Database) -> None:
    """Contested tests: each test run keeps every test's outcome (``test_statuses``, one
    letter per test in index order: p pass, f fail, e error, m memory, t timeout), so a
    verdict can be recomputed without the tests a reviewer disputes; ``test_disputes``
    holds the disputes, append-only per problem content and reviewer (a later row with
    ``withdraws_id`` withdraws one)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(executions)").fetchall()}
    if "test_statuses" not in columns:
        db.execute("ALTER TABLE executions ADD COLUMN test_statuses TEXT")
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS test_disputes (
            id TEXT PRIMARY KEY,
            problem_id TEXT NOT NULL REFERENCES problems(id),
            content_sha256 TEXT NOT NULL,    -- the problem content the test belongs to
            test_index INTEGER NOT NULL,
            reviewer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            reason TEXT NOT NULL,            -- wrong_expected | invalid_input | ambiguous | other
            note TEXT NOT NULL DEFAULT '',
            withdraws_id TEXT REFERENCES test_disputes(id)
        );
        CREATE INDEX IF NOT EXISTS test_disputes_problem
            ON test_disputes(problem_id, content_sha256, test_index);
        """,
    )


@migration("m016_studies")
def m016_studies(db: Database) -> None:
    """Studies and the resources an answer took: ``studies`` keeps each study file's text
    under its sha256 (the report's reproducibility footer reads it back), a run made by
    ``gradebench study run`` names its study (``runs.study_sha256``), and an answer made
    in this process records the CPU time the process spent on it (``cpu_seconds``) and
    the process's peak resident memory while it was made (``peak_rss_bytes``); both stay
    NULL where they cannot be measured (a model behind a server)."""
    run_columns = {row[1] for row in db.execute("PRAGMA table_info(runs)").fetchall()}
    if "study_sha256" not in run_columns:
        db.execute("ALTER TABLE runs ADD COLUMN study_sha256 TEXT")
    generation_columns = {row[1] for row in db.execute("PRAGMA table_info(generations)").fetchall()}
    if "cpu_seconds" not in generation_columns:
        db.execute("ALTER TABLE generations ADD COLUMN cpu_seconds REAL")
    if "peak_rss_bytes" not in generation_columns:
        db.execute("ALTER TABLE generations ADD COLUMN peak_rss_bytes INTEGER")
    run_script(
        db,
        """
        CREATE TABLE IF NOT EXISTS studies (
            sha256 TEXT PRIMARY KEY,         -- of the study file's bytes
            name TEXT NOT NULL,
            path TEXT NOT NULL,              -- where it was read from, as given
            text TEXT NOT NULL,              -- the file as it was
            created_at TEXT NOT NULL
        );
        """,
    )


SCHEMA_VERSION = len(MIGRATION_NAMES)
