"""Loading the HumanEval+ suite: today's loader against the one it replaced, in one run.

    .venv/bin/python bench/bench_suite_load.py [--rounds N] [--data PATH]

The previous loader (commit 7c89047: text-mode gzip read line by line, every
``TestCase`` built by its frozen ``__init__``, the collector running throughout)
is copied below as ``previous_load``; ``load_humanevalplus`` is today's. Each
round times both, alternating, from a fresh collection and with nothing of the
previous round kept alive. Two times per loader:

* ``load``: the call itself (what ``load_suite("humaneval+", ...)`` costs
  before an evaluation starts);
* ``load+gc0``: the call plus the young-generation collection right after it.
  Today's loader pauses the collector, so the one pass over the new objects it
  skipped is paid at the next collection; this column charges it to the load.

The medians are printed with the ratio today / previous (goal: <= 0.5), and
the two results are checked equal: same problems (``==`` and ``repr``, which
tells ``True`` from ``1`` and tuples from lists), same ``extra``, same errors.
The machine is shared: run with more rounds when the ratio looks noisy.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gradebench.engine.errors import UserError  # noqa: E402
from gradebench.engine.problems.model import Problem, ProblemError, SuiteLoad, TestCase  # noqa: E402
from gradebench.engine.problems.suites.humaneval import signature_of  # noqa: E402
from gradebench.engine.problems.suites.humanevalplus import (  # noqa: E402
    POLY_ROOT_ENTRY_POINTS,
    REQUIRED_FIELDS,
    SUITE,
    load_humanevalplus,
    problem_id,
)

DATA = REPO.parent / "shared" / "data" / "humanevalplus" / "HumanEvalPlus-v0.1.10.jsonl.gz"


# --- the previous loader (commit 7c89047), kept as it was --------------------------------


def previous_read_jsonl_gz(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{path}: line {number}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise UserError(f"{path}: line {number}: not a JSON object")
                rows.append(row)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable gzip JSONL file ({exc})") from None
    return rows


def previous_inputs(row: dict[str, Any], key: str) -> list[tuple[Any, ...]]:
    value = row[key]
    if not isinstance(value, list) or not all(isinstance(args, list) for args in value):
        raise ValueError(f"{key} must be a list of argument lists")
    return [tuple(args) for args in value]


def previous_problem_from_row(row: dict[str, Any], source: str) -> Problem:
    missing = [key for key in REQUIRED_FIELDS if key not in row]
    if missing:
        raise KeyError(missing[0])
    task_id = row["task_id"]
    prompt = row["prompt"]
    entry_point = row["entry_point"]
    atol = float(row.get("atol") or 0.0)
    compare = "poly_root" if entry_point in POLY_ROOT_ENTRY_POINTS else "evalplus"
    base = [TestCase(args=args, plus=False) for args in previous_inputs(row, "base_input")]
    plus = [TestCase(args=args, plus=True) for args in previous_inputs(row, "plus_input")]
    number = task_id.rpartition("/")[2]
    return Problem(
        id=problem_id(task_id),
        suite=SUITE,
        title=f"{entry_point} (HumanEval+ {number})",
        difficulty="unrated",
        statement=prompt,
        entry_point=entry_point,
        signature=signature_of(prompt, entry_point),
        reference=prompt + row["canonical_solution"],
        tests=(*base, *plus),
        tags=("humaneval+",),
        compare=compare,
        atol=atol,
        code_prompt=prompt,
        source=source,
        extra={"task_id": task_id},
    )


def previous_load(path: Path) -> SuiteLoad:
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: HumanEval+ data file not found")
    rows = previous_read_jsonl_gz(path)
    if not rows:
        raise UserError(f"{path}: HumanEval+ data file holds no tasks")
    problems: list[Problem] = []
    errors: list[ProblemError] = []
    for number, row in enumerate(rows, start=1):
        where = f"{path}: line {number} ({row.get('task_id', '?')})"
        try:
            problems.append(previous_problem_from_row(row, str(path)))
        except KeyError as exc:
            errors.append(ProblemError(where, str(exc.args[0]), "missing"))
        except (ValueError, TypeError) as exc:
            errors.append(ProblemError(where, "", str(exc)))
    if not problems:
        raise UserError(f"{path}: no valid HumanEval+ task ({errors[0]})")
    return SuiteLoad(name=SUITE, problems=tuple(problems), errors=tuple(errors))


# --- measuring ---------------------------------------------------------------------------


def timed(load: Callable[[Path], SuiteLoad], path: Path) -> tuple[float, float]:
    """Seconds for ``load(path)``, and for it plus the young collection after it."""
    gc.collect()
    start = time.perf_counter()
    result = load(path)
    loaded = time.perf_counter()
    gc.collect(0)
    collected = time.perf_counter()
    del result
    return loaded - start, collected - start


def same_result(previous: SuiteLoad, today: SuiteLoad) -> list[str]:
    """What differs between the two loads (empty when they are equal)."""
    differences = []
    if previous.name != today.name:
        differences.append("suite name")
    if len(previous.problems) != len(today.problems):
        differences.append(f"{len(previous.problems)} vs {len(today.problems)} problems")
    for old, new in zip(previous.problems, today.problems, strict=False):
        if old != new or repr(old) != repr(new) or old.extra != new.extra:
            differences.append(old.id)
        elif any(type(test) is not TestCase for test in new.tests):
            differences.append(f"{old.id}: a test is not a TestCase")
    if previous.errors != today.errors:
        differences.append("errors")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        print(f"{args.data}: HumanEval+ data file not found", file=sys.stderr)
        return 1

    differences = same_result(previous_load(args.data), load_humanevalplus(args.data))
    times: dict[str, list[tuple[float, float]]] = {"previous": [], "today": []}
    for _ in range(args.rounds):
        times["previous"].append(timed(previous_load, args.data))
        times["today"].append(timed(load_humanevalplus, args.data))

    medians = {
        name: (statistics.median(t[0] for t in runs), statistics.median(t[1] for t in runs))
        for name, runs in times.items()
    }
    problems = load_humanevalplus(args.data).problems
    tests = sum(len(problem.tests) for problem in problems)
    print(
        f"HumanEval+ load: {len(problems)} problems, {tests} tests, {args.rounds} rounds (medians)"
    )
    print(f"{'loader':10} {'load s':>8} {'load+gc0 s':>11}")
    for name, (load, with_gc) in medians.items():
        print(f"{name:10} {load:8.3f} {with_gc:11.3f}")
    ratio_load = medians["today"][0] / medians["previous"][0]
    ratio_gc = medians["today"][1] / medians["previous"][1]
    print(f"ratio today/previous: load {ratio_load:.2f}, load+gc0 {ratio_gc:.2f} (goal <= 0.5)")
    if differences:
        print(f"RESULTS DIFFER: {', '.join(differences[:10])}")
        return 1
    print(f"results equal: all {len(problems)} problems, their extra and the errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
