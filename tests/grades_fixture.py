"""A small graded database whose statistics are worked out by hand in the tests.

Suite ``demo``: problems p1 (easy, strings), p2 (medium, lists), p3 (hard, strings+math);
suite ``other``: p4. Contenders alpha, beta (cot), gamma. Reviewers ann and ben.

Current grades (ann's edit of alpha/p2 replaces her 0.0 with 0.5):

    answer     verdict        ann   ben   mean  majority
    alpha/p1   pass           1     1     1     1
    alpha/p2   fail -> pass   0.5   0     0.25  0   (tie: lower score)
    alpha/p3   fail           0     -     0     0
    beta/p1    pass           1     0     0.5   0   (tie: lower score)
    beta/p2    fail           0.5   -     0.5   0.5
    beta/p3    error          0     -     0     0
    gamma/p1   pass           1     -     1     1
    gamma/p2   pass           1     -     1     1
    alpha/p4   pass           1     -     (suite other)

A superseded alpha/p1 answer graded 0 by ann must be ignored everywhere.
Votes: p1 alpha beats beta, p1 gamma beats alpha, p2 beta-gamma tie later changed
to gamma wins.
"""

from __future__ import annotations

from pathlib import Path

from gradebench.engine.store.database import open_db

T = "2026-01-01T00:00:{:02d}.000000+00:00"
MODEL = "f" * 64


def build(path: Path) -> Path:
    db = open_db(path)
    conn = db.conn
    clock = iter(range(60))

    def now() -> str:
        return T.format(next(clock))

    with conn:
        conn.execute(
            "INSERT INTO models (sha256, name, path, size_bytes, first_seen_at)"
            " VALUES (?, 'tiny.gguf', '/m/tiny.gguf', 1, ?)",
            (MODEL, now()),
        )
        for cid, name, style in (
            ("c1", "alpha", "plain"),
            ("c2", "beta", "cot"),
            ("c3", "gamma", "plain"),
        ):
            conn.execute(
                "INSERT INTO contenders (id, name, model_sha256, prompt_style, prompt_template,"
                " params, created_at) VALUES (?, ?, ?, ?, '{statement}', '{}', ?)",
                (cid, name, MODEL, style, now()),
            )
        for pid, suite, difficulty, tags in (
            ("demo/p1", "demo", "easy", '["strings"]'),
            ("demo/p2", "demo", "medium", '["lists"]'),
            ("demo/p3", "demo", "hard", '["strings", "math"]'),
            ("other/p4", "other", "easy", "[]"),
        ):
            conn.execute(
                "INSERT INTO problems VALUES (?, ?, ?, ?, 'f', 'text', ?, 'sha', ?)",
                (pid, suite, pid, difficulty, tags, now()),
            )
        generations = {
            # id: (problem, contender, tokens, ttft, tokens/s, seconds, answer)
            "a1": ("demo/p1", "c1", 100, 1.0, 10.0, 11.0, "x" * 10),
            "a2": ("demo/p2", "c1", 200, 2.0, 10.0, 22.0, "x" * 20),
            "a3": ("demo/p3", "c1", 300, 3.0, 10.0, 33.0, "x" * 30),
            "b1": ("demo/p1", "c2", 50, 0.5, 5.0, 10.5, "y" * 40),
            "b2": ("demo/p2", "c2", 50, 0.5, 5.0, 10.5, "y" * 40),
            "b3": ("demo/p3", "c2", 50, 0.5, 5.0, 10.5, "y" * 40),
            "g1": ("demo/p1", "c3", 10, 0.1, 20.0, 0.6, "z"),
            "g2": ("demo/p2", "c3", 10, 0.1, 20.0, 0.6, "z"),
            "a4": ("other/p4", "c1", 10, 0.1, 20.0, 0.6, "w"),
        }
        for gid, (pid, cid, tokens, ttft, tps, seconds, answer) in generations.items():
            conn.execute(
                "INSERT INTO generations (id, problem_id, contender_id, prompt_text, raw_answer,"
                " status, tokens, ttft_seconds, tokens_per_second, total_seconds, started_at)"
                " VALUES (?, ?, ?, 'prompt', ?, 'done', ?, ?, ?, ?, ?)",
                (gid, pid, cid, answer, tokens, ttft, tps, seconds, now()),
            )
        conn.execute(
            "INSERT INTO generations (id, problem_id, contender_id, prompt_text, status,"
            " tokens, started_at, superseded_at) VALUES ('a1-old', 'demo/p1', 'c1', 'p', 'done',"
            " 9999, ?, ?)",
            (now(), now()),
        )
        executions = [
            ("a1", "pass", "pass"),
            ("a2", "fail", "pass"),
            ("a2", "pass", "pass"),  # re-run later: the latest verdict counts
            ("a3", "fail", "fail"),
            ("b1", "pass", "pass"),
            ("b2", "fail", "fail"),
            ("b3", "error", None),
            ("g1", "pass", None),
            ("g2", "pass", None),
            ("a4", "pass", None),
            ("a1-old", "fail", None),
        ]
        for n, (gid, verdict, base) in enumerate(executions):
            conn.execute(
                "INSERT INTO executions (id, generation_id, problem_id, verdict, passed, total,"
                " base_verdict, seconds, created_at) VALUES (?, ?, 'x', ?, 0, 1, ?, 0.1, ?)",
                (f"e{n:02d}", gid, verdict, base, now()),
            )
        grades = [
            # id, generation, reviewer, score, format_ok, note, replaces
            ("ge01", "a1", "ann", 1.0, 1, "clean", None),
            ("ge02", "a2", "ann", 0.0, 0, "wrong", None),
            ("ge03", "a3", "ann", 0.0, None, "", None),
            ("ge04", "b1", "ann", 1.0, 1, 'quotes " and, commas\nand a newline', None),
            ("ge05", "b2", "ann", 0.5, 1, "half", None),
            ("ge06", "b3", "ann", 0.0, 0, "", None),
            ("ge07", "g1", "ann", 1.0, 1, "ünïcode ✓", None),
            ("ge08", "g2", "ann", 1.0, 1, "", None),
            ("ge09", "a1", "ben", 1.0, 1, "", None),
            ("ge10", "a2", "ben", 0.0, 1, "", None),
            ("ge11", "b1", "ben", 0.0, 0, "", None),
            ("ge12", "a2", "ann", 0.5, 1, "on second look", "ge02"),
            ("ge13", "a4", "ann", 1.0, 1, "", None),
            ("ge14", "a1-old", "ann", 0.0, 0, "superseded", None),
        ]
        for gid, gen, reviewer, score, fmt, note, replaces in grades:
            conn.execute(
                "INSERT INTO grade_events (id, generation_id, reviewer, created_at, score,"
                " format_ok, note, suggested_score, replaces_id) VALUES (?,?,?,?,?,?,?,?,?)",
                (gid, gen, reviewer, now(), score, fmt, note, score, replaces),
            )
        votes = [
            ("v1", "demo/p1", "a1", "b1", "a", None),
            ("v2", "demo/p1", "g1", "a1", "a", None),
            ("v3", "demo/p2", "b2", "g2", "tie", None),
            ("v4", "demo/p2", "b2", "g2", "b", "v3"),
        ]
        for vid, pid, ga, gb, outcome, replaces in votes:
            conn.execute(
                "INSERT INTO votes (id, problem_id, reviewer, created_at, generation_a,"
                " generation_b, outcome, replaces_id) VALUES (?, ?, 'ann', ?, ?, ?, ?, ?)",
                (vid, pid, now(), ga, gb, outcome, replaces),
            )
    conn.close()
    return path


def add_grade(path: Path, generation_id: str, reviewer: str, score: float) -> None:
    """Append one more grade event, as the grading screen would."""
    from gradebench.engine.store.database import new_id, utc_now

    db = open_db(path)
    with db.conn:
        db.conn.execute(
            "INSERT INTO grade_events (id, generation_id, reviewer, created_at, score)"
            " VALUES (?, ?, ?, ?, ?)",
            (new_id(), generation_id, reviewer, utc_now(), score),
        )
    db.conn.close()
