"""Build a large synthetic ``grades.db`` for the export and leaderboard benchmarks.

Usage: ``.venv/bin/python bench/synthetic_db.py OUT.db [--generations N] [--grade-events N]``

The schema is the real one (``gradebench.engine.store.database.open_db``); rows are made with numpy
and written with ``executemany`` in one transaction, so 100,000 generations and
300,000 grade events take seconds. Scores follow a per-contender skill and agree
with the automatic verdict most of the time; some grades are edits that replace
an earlier event, some generations have several reviewers, and a share of the
problems carry side-by-side votes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gradebench.engine.store.database import open_db, sha256_text

DIFFICULTIES = ("easy", "medium", "hard")
TAGS = ("strings", "lists", "math", "dicts", "recursion", "parsing", "sorting", "classes")
REVIEWERS = ("alice", "bob", "carol")
SAMPLES_PER_PROBLEM = 5
CONTENDERS = 8
T0 = "2026-01-01T00:00:00.000000+00:00"


def _stamp(second: int) -> str:
    day, rest = divmod(second, 86400)
    hour, rest = divmod(rest, 3600)
    minute, sec = divmod(rest, 60)
    return f"2026-{1 + day // 28:02d}-{1 + day % 28:02d}T{hour:02d}:{minute:02d}:{sec:02d}.000000+00:00"


def make_synthetic_db(
    path: Path,
    *,
    generations: int = 100_000,
    grade_events: int = 300_000,
    votes: int = 20_000,
    seed: int = 7,
    id_prefix: str = "",
    sample_offset: int = 0,
) -> Path:
    """Create ``path`` (which must not exist) and fill it; returns the path.

    ``id_prefix`` starts the ids of runs, answers, test runs, grade events and votes (a
    second reviewer's file: the same problems and contenders, its own rows), and
    ``sample_offset`` shifts the answers' sample numbers (0: the same (problem,
    contender, sample) as any other file built with 0)."""
    x = id_prefix
    rng = np.random.default_rng(seed)
    db = open_db(path)
    conn = db.conn
    problems = max(1, generations // (CONTENDERS * SAMPLES_PER_PROBLEM))
    with conn:
        conn.executemany(
            "INSERT INTO models (sha256, name, path, size_bytes, first_seen_at) VALUES (?,?,?,?,?)",
            [
                (sha256_text(f"model{m}"), f"model-{m}.gguf", f"/models/model-{m}.gguf", 10**9, T0)
                for m in range(4)
            ],
        )
        contender_rows = []
        for c in range(CONTENDERS):
            style = "cot" if c % 2 else "plain"
            contender_rows.append(
                (
                    f"contender{c:02d}",
                    f"model-{c // 2}-{style}",
                    sha256_text(f"model{c // 2}"),
                    style,
                    "{statement}",
                    '{"temperature":0.2}',
                    T0,
                )
            )
        conn.executemany(
            "INSERT INTO contenders (id, name, model_sha256, prompt_style, prompt_template,"
            " params, created_at) VALUES (?,?,?,?,?,?,?)",
            contender_rows,
        )
        conn.execute(
            "INSERT INTO runs (id, kind, suite, started_at) VALUES (?, 'generate', 'synthetic', ?)",
            (f"{x}run0", T0),
        )
        difficulty = rng.integers(0, len(DIFFICULTIES), problems)
        problem_rows = []
        for p in range(problems):
            tags = sorted(
                {TAGS[i] for i in rng.choice(len(TAGS), size=rng.integers(1, 3), replace=False)}
            )
            tag_json = "[" + ",".join(f'"{t}"' for t in tags) + "]"
            problem_rows.append(
                (
                    f"synthetic/p{p:05d}",
                    "synthetic",
                    f"Problem {p}",
                    DIFFICULTIES[difficulty[p]],
                    f"solve_{p}",
                    f"Write solve_{p}.",
                    tag_json,
                    sha256_text(str(p)),
                    T0,
                )
            )
        conn.executemany("INSERT INTO problems VALUES (?,?,?,?,?,?,?,?,?)", problem_rows)

        # generations: problem x contender x sample
        g = np.arange(generations)
        g_problem = (g // (CONTENDERS * SAMPLES_PER_PROBLEM)) % problems
        g_contender = (g // SAMPLES_PER_PROBLEM) % CONTENDERS
        g_sample = g % SAMPLES_PER_PROBLEM + SAMPLES_PER_PROBLEM * (
            g // (CONTENDERS * SAMPLES_PER_PROBLEM * problems)
        )
        skill = np.linspace(0.25, 0.8, CONTENDERS)
        hardness = np.array([0.15, 0.0, -0.2])[difficulty[g_problem]]
        p_pass = np.clip(skill[g_contender] + hardness, 0.02, 0.98)
        passes = rng.random(generations) < p_pass
        tokens = rng.integers(40, 400, generations)
        ttft = rng.uniform(0.2, 3.0, generations)
        tps = rng.uniform(3.0, 15.0, generations)
        answer = "```python\ndef solve(x):\n    return x\n```\n" + "Explanation. " * 20
        gen_rows = [
            (
                f"{x}gen{i:07d}",
                f"{x}run0",
                f"synthetic/p{g_problem[i]:05d}",
                f"contender{g_contender[i]:02d}",
                int(g_sample[i]) + sample_offset,
                "prompt",
                answer[: 60 + int(tokens[i]) % 200],
                "def solve(x):\n    return x\n",
                "fenced",
                "done",
                int(tokens[i]),
                2,
                float(ttft[i]),
                float(ttft[i] + tokens[i] / tps[i]),
                float(tps[i]),
                _stamp(i),
                _stamp(i + 1),
            )
            for i in range(generations)
        ]
        conn.executemany(
            "INSERT INTO generations (id, run_id, problem_id, contender_id, sample_index,"
            " prompt_text, raw_answer, extracted_code, extract_method, status, tokens, threads,"
            " ttft_seconds, total_seconds, tokens_per_second, started_at, finished_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            gen_rows,
        )
        del gen_rows
        verdicts = np.where(
            passes, "pass", np.where(rng.random(generations) < 0.7, "fail", "error")
        )
        base_pass = passes | (rng.random(generations) < 0.1)
        conn.executemany(
            "INSERT INTO executions (id, generation_id, problem_id, verdict, passed, total,"
            " base_verdict, base_passed, base_total, seconds, suggested_score, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    f"{x}exe{i:07d}",
                    f"{x}gen{i:07d}",
                    f"synthetic/p{g_problem[i]:05d}",
                    str(verdicts[i]),
                    10 if passes[i] else 4,
                    10,
                    "pass" if base_pass[i] else "fail",
                    3 if base_pass[i] else 1,
                    3,
                    0.05,
                    1.0 if passes[i] else 0.4,
                    _stamp(i + 2),
                )
                for i in range(generations)
            ),
        )

        # grade events: alice grades everything, bob and carol some; the rest are edits
        firsts = [np.arange(generations)]
        reviewer_of = [np.zeros(generations, dtype=np.int64)]
        for r, share in ((1, 0.6), (2, 0.4)):
            chosen = np.nonzero(rng.random(generations) < share)[0]
            firsts.append(chosen)
            reviewer_of.append(np.full(len(chosen), r))
        first_gen = np.concatenate(firsts)
        first_rev = np.concatenate(reviewer_of)
        if len(first_gen) > grade_events:
            first_gen, first_rev = first_gen[:grade_events], first_rev[:grade_events]
        edits = grade_events - len(first_gen)
        edit_of = rng.integers(0, len(first_gen), max(edits, 0))
        ev_gen = np.concatenate([first_gen, first_gen[edit_of]])
        ev_rev = np.concatenate([first_rev, first_rev[edit_of]])
        ev_replaces = np.concatenate([np.full(len(first_gen), -1), edit_of])
        agree = rng.random(len(ev_gen)) < 0.85
        auto = passes[ev_gen].astype(float)
        noise = rng.choice([0.0, 0.5, 1.0], size=len(ev_gen))
        ev_score = np.where(agree, auto, noise)
        ev_fmt = rng.random(len(ev_gen)) < 0.9
        conn.executemany(
            "INSERT INTO grade_events (id, generation_id, reviewer, created_at, score, format_ok,"
            " note, suggested_score, replaces_id, run_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    f"{x}ge{e:08d}",
                    f"{x}gen{ev_gen[e]:07d}",
                    REVIEWERS[ev_rev[e]],
                    _stamp(generations + e),
                    float(ev_score[e]),
                    int(ev_fmt[e]),
                    "looks fine" if e % 7 else "off by one, see line 3",
                    float(auto[e]),
                    None if ev_replaces[e] < 0 else f"{x}ge{ev_replaces[e]:08d}",
                    f"{x}run0",
                )
                for e in range(len(ev_gen))
            ),
        )

        # votes between two contenders' first samples on random problems
        v_problem = rng.integers(0, problems, votes)
        v_a = rng.integers(0, CONTENDERS, votes)
        v_b = (v_a + rng.integers(1, CONTENDERS, votes)) % CONTENDERS
        p_a = skill[v_a] / (skill[v_a] + skill[v_b])
        draw = rng.random(votes)
        outcome = np.where(draw < p_a * 0.9, "a", np.where(draw < 0.9, "b", "tie"))

        def gen_id(problem: int, contender: int) -> str:
            return f"{x}gen{(problem * CONTENDERS + contender) * SAMPLES_PER_PROBLEM:07d}"

        conn.executemany(
            "INSERT INTO votes (id, problem_id, reviewer, created_at, generation_a,"
            " generation_b, outcome) VALUES (?,?,?,?,?,?,?)",
            (
                (
                    f"{x}vote{v:07d}",
                    f"synthetic/p{v_problem[v]:05d}",
                    REVIEWERS[v % 3],
                    _stamp(generations + grade_events + v),
                    gen_id(int(v_problem[v]), int(v_a[v])),
                    gen_id(int(v_problem[v]), int(v_b[v])),
                    str(outcome[v]),
                )
                for v in range(votes)
                if (v_problem[v] * CONTENDERS + max(v_a[v], v_b[v])) * SAMPLES_PER_PROBLEM
                < generations
            ),
        )
    conn.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--generations", type=int, default=100_000)
    parser.add_argument("--grade-events", type=int, default=300_000)
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"synthetic_db: {args.out} exists; remove it first")
    start = time.perf_counter()
    make_synthetic_db(args.out, generations=args.generations, grade_events=args.grade_events)
    print(f"{args.out}: built in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
