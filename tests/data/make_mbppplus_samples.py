"""Build the MBPP+ agreement samples: canonical solutions and mutants, with EvalPlus's verdicts.

Run by hand (about ten minutes on 2 busy cores):

    .venv/bin/python tests/data/make_mbppplus_samples.py [--data PATH]

It writes ``tests/data/evalplus_samples/mbppplus_samples.jsonl``: one *recipe* per
line, not code, ``{"id", "task_id", "mutation": null | {"op", "site"}, "sha256",
"evalplus": {"base", "plus"}}`` (``sha256``: the first 16 hex digits of the
sample's hash). The code is rebuilt from the MBPP+ data file at test time by
``build_solution``, so no dataset code is committed.

Samples: every task's canonical solution (``completion``, appended to the prompt as
EvalPlus does), and per task two mutants of ``prompt + canonical_solution``:

* one by the operators of ``make_evalplus_samples.py`` (off-by-one, wrong
  constant, swapped branch, flipped comparison, swapped arithmetic, dropped case,
  exception, tuple result) or ``wrong_return`` (a ``return`` gives the function's
  first argument back): the least used operator that applies to the task;
* one from ``gradebench.engine.problems.mutants`` (``op = "mutants"``, ``site`` =
  its index in ``mutants(source)``), spread over its operator kinds;

plus an infinite loop in ``INFINITE_LOOP_TASKS`` tasks.

The oracle is EvalPlus 0.3.1 itself: ``evalplus.evaluate.evaluate(dataset="mbpp")``
on the rebuilt samples, reading the local file through ``MBPP_OVERRIDE_PATH`` (no
network), its ground truth cached in a temporary ``XDG_CACHE_HOME``.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_evalplus_samples as base  # noqa: E402  (the HumanEval+ generator's operators)

OUTPUT = HERE / "evalplus_samples" / "mbppplus_samples.jsonl"
DEFAULT_DATA = HERE.parents[2] / "shared" / "data" / "mbppplus" / "MbppPlus-v0.2.0.jsonl.gz"
SEED = 11
INFINITE_LOOP_TASKS = 6
OPS = (
    "off_by_one",
    "wrong_constant",
    "swap_branch",
    "drop_guard",
    "wrong_return",
    "flip_compare",
    "swap_arith",
    "exception",
    "tuple_result",
)
SHA_DIGITS = 16


def read_rows(path: Path) -> dict[str, dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {row["task_id"]: row for row in rows}


def _returns(tree: ast.Module, entry_point: str) -> list[ast.Return]:
    nodes = base._in_entry(tree, entry_point)
    return [n for n in nodes if isinstance(n, ast.Return) and n.value is not None]


def _engine_mutants(row: dict[str, Any]) -> list[Any]:
    from gradebench.engine.problems.mutants import mutants

    return mutants(row["prompt"] + row["canonical_solution"])


def build_solution(row: dict[str, Any], mutation: dict[str, Any] | None) -> dict[str, str]:
    """The sample as a samples-file entry: ``completion`` for canonical, ``solution`` for mutants."""
    if mutation is None:
        return {"completion": row["canonical_solution"]}
    if mutation["op"] == "mutants":
        return {"solution": _engine_mutants(row)[mutation["site"]].source + "\n"}
    if mutation["op"] == "wrong_return":
        tree = ast.parse(row["prompt"] + row["canonical_solution"])
        function = base._entry_function(tree, row["entry_point"])
        node = _returns(tree, row["entry_point"])[mutation["site"]]
        node.value = ast.Name(function.args.args[0].arg, ast.Load())
        ast.fix_missing_locations(tree)
        return {"solution": ast.unparse(tree) + "\n"}
    return base.build_solution(row, mutation)


def sample_sha256(entry: dict[str, str]) -> str:
    return base.sample_sha256(entry)[:SHA_DIGITS]


def _sites(op: str, row: dict[str, Any]) -> int:
    tree = ast.parse(row["prompt"] + row["canonical_solution"])
    if op == "wrong_return":
        function = base._entry_function(tree, row["entry_point"])
        return len(_returns(tree, row["entry_point"])) if function.args.args else 0
    return len(base._sites(op, tree, row["entry_point"]))


def choose_mutations(rows: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    from gradebench.engine.problems.mutants import spread

    rng = random.Random(SEED)
    chosen: list[tuple[str, dict[str, Any]]] = []
    loop_tasks = set(rng.sample(sorted(rows), INFINITE_LOOP_TASKS))
    used = dict.fromkeys(OPS, 0)
    for task_id, row in rows.items():
        if task_id in loop_tasks:
            chosen.append((task_id, {"op": "infinite_loop", "site": 0}))
        for op in sorted(OPS, key=lambda o: (used[o], OPS.index(o))):  # the rarest first
            try:
                count = _sites(op, row)
                if not count:
                    continue
                mutation = {"op": op, "site": rng.randrange(count)}
                compile(build_solution(row, mutation)["solution"], "<mutant>", "exec")
            except Exception:
                continue
            chosen.append((task_id, mutation))
            used[op] += 1
            break
        found = _engine_mutants(row)
        if found:
            pick = spread(found, 1 + rng.randrange(len(found)))[-1]
            chosen.append((task_id, {"op": "mutants", "site": found.index(pick)}))
    return chosen


def run_evalplus(
    data: Path, samples: list[dict[str, Any]], workdir: Path, jobs: int
) -> list[dict[str, str]]:
    """EvalPlus's own verdicts for ``samples`` (in order), base and plus."""
    os.environ["MBPP_OVERRIDE_PATH"] = str(data)
    os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")
    from evalplus.evaluate import evaluate

    path = workdir / "samples.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps({"task_id": sample["task_id"], **sample["entry"]}) + "\n")
    evaluate(dataset="mbpp", samples=str(path), parallel=jobs, i_just_wanna_run=True)
    results = json.loads((workdir / "samples_eval_results.json").read_text())["eval"]
    seen: dict[str, int] = {}
    verdicts: list[dict[str, str]] = []
    for sample in samples:
        index = seen.get(sample["task_id"], 0)
        seen[sample["task_id"]] = index + 1
        result = results[sample["task_id"]][index]
        verdicts.append({"base": result["base_status"], "plus": result["plus_status"]})
    return verdicts


def all_samples(rows: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    samples = [{"task_id": task_id, "mutation": None} for task_id in rows]
    samples += [{"task_id": t, "mutation": m} for t, m in choose_mutations(rows)]
    for number, sample in enumerate(samples):
        sample["id"] = number
        sample["entry"] = build_solution(rows[sample["task_id"]], sample["mutation"])
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    rows = read_rows(args.data)
    samples = all_samples(rows)
    with tempfile.TemporaryDirectory() as workdir:
        verdicts = run_evalplus(args.data, samples, Path(workdir), args.jobs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", encoding="utf-8") as handle:
        for sample, verdict in zip(samples, verdicts, strict=True):
            record = {
                "id": sample["id"],
                "task_id": sample["task_id"],
                "mutation": sample["mutation"],
                "sha256": sample_sha256(sample["entry"]),
                "evalplus": verdict,
            }
            handle.write(json.dumps(record) + "\n")
    print(f"wrote {len(samples)} samples to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
