"""Build the EvalPlus agreement samples: canonical solutions and mutants, with EvalPlus's verdicts.

Run by hand (it takes a few minutes on 2 cores):

    .venv/bin/python tests/data/make_evalplus_samples.py [--data PATH]

It writes ``tests/data/evalplus_samples/samples.jsonl``. Each line is a *recipe*,
not code: ``{"id", "task_id", "mutation": null | {"op", "site"}, "sha256",
"evalplus": {"base", "plus"}}``. The sample's code is rebuilt from the HumanEval+
data file (``prompt + canonical_solution``) by ``build_solution`` at test time, so
no dataset code is committed; ``sha256`` detects a rebuild that differs from what
EvalPlus judged.

The oracle is EvalPlus 0.3.1 itself: the rebuilt samples are written to a temporary
samples file and ``evalplus.evaluate.evaluate(dataset="humaneval", ...)`` judges
them, reading the local data file through ``HUMANEVAL_OVERRIDE_PATH`` (no network)
and caching its ground truth in a temporary ``XDG_CACHE_HOME``. Its
``base_status``/``plus_status`` are stored per sample as pass / fail / timeout.

Mutation operators (``op``, applied at the ``site``-th matching node of the
program's AST in ``ast.walk`` order, then ``ast.unparse``):

* ``off_by_one``: an integer constant ``n`` becomes ``n + 1``
* ``wrong_constant``: a number becomes ``n * 2 + 3``, a non-empty string gets an ``"x"`` appended
* ``swap_branch``: an ``if`` with an ``else`` swaps its two branches; without, its test is negated
* ``flip_compare``: ``<``/``<=``/``>``/``>=``/``==``/``!=`` become their off-by-one or opposite
* ``swap_arith``: ``+`` <-> ``-``, ``*`` -> ``+``, ``//`` -> ``/``
* ``drop_guard``: an ``if`` whose body returns (an edge case) is removed
* ``tuple_result``: ``return x`` becomes ``return tuple(x)`` when x is a list display/comprehension
* ``float_nudge``: ``return x`` becomes ``return x + 1e-9`` (within 1e-6) for float results
* ``float_off``: ``return x`` becomes ``return x + 0.001`` for float results
* ``infinite_loop``: ``while True: pass`` before the function's first statement
* ``exception``: the function raises ``ValueError`` when its first argument's repr has even length
"""

from __future__ import annotations

import argparse
import ast
import gzip
import hashlib
import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "evalplus_samples" / "samples.jsonl"
DEFAULT_DATA = (
    HERE.parents[2] / "shared" / "data" / "humanevalplus" / "HumanEvalPlus-v0.1.10.jsonl.gz"
)
SEED = 7
MUTANTS_PER_TASK = 2
INFINITE_LOOP_TASKS = 8
FLOAT_TASKS = ("HumanEval/2", "HumanEval/4", "HumanEval/32")


def read_rows(path: Path) -> dict[str, dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return {row["task_id"]: row for row in rows}


def _entry_function(tree: ast.Module, entry_point: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            return node
    raise LookupError(entry_point)


def _body_start(function: ast.FunctionDef) -> int:
    """Index after the docstring."""
    first = function.body[0] if function.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return 1
    return 0


def _in_entry(tree: ast.Module, entry_point: str) -> list[ast.AST]:
    return list(ast.walk(_entry_function(tree, entry_point)))


def _int_constants(nodes: list[ast.AST]) -> list[ast.Constant]:
    return [
        n
        for n in nodes
        if isinstance(n, ast.Constant) and type(n.value) is int and not isinstance(n.value, bool)
    ]


def _sites(op: str, tree: ast.Module, entry_point: str) -> list[ast.AST]:
    nodes = _in_entry(tree, entry_point)
    if op == "off_by_one":
        return _int_constants(nodes)
    if op == "wrong_constant":
        return [
            n
            for n in nodes
            if isinstance(n, ast.Constant)
            and (
                (type(n.value) in (int, float))
                or (isinstance(n.value, str) and n.value and len(n.value) < 20)
            )
            and not _is_docstring(n, tree, entry_point)
        ]
    if op in ("swap_branch",):
        return [n for n in nodes if isinstance(n, ast.If)]
    if op == "flip_compare":
        return [n for n in nodes if isinstance(n, ast.Compare) and type(n.ops[0]) in _COMPARE_FLIP]
    if op == "swap_arith":
        return [n for n in nodes if isinstance(n, ast.BinOp) and type(n.op) in _ARITH_SWAP]
    if op == "drop_guard":
        return [
            n
            for n in nodes
            if isinstance(n, ast.If)
            and not n.orelse
            and any(isinstance(s, ast.Return) for s in n.body)
        ]
    if op == "tuple_result":
        return [
            n
            for n in nodes
            if isinstance(n, ast.Return) and isinstance(n.value, ast.List | ast.ListComp)
        ]
    if op in ("float_nudge", "float_off"):
        return [n for n in nodes if isinstance(n, ast.Return) and n.value is not None]
    if op in ("infinite_loop", "exception"):
        return [_entry_function(tree, entry_point)]
    raise ValueError(op)


def _is_docstring(node: ast.AST, tree: ast.Module, entry_point: str) -> bool:
    function = _entry_function(tree, entry_point)
    return _body_start(function) == 1 and function.body[0].value is node  # type: ignore[attr-defined]


_COMPARE_FLIP: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
}
_ARITH_SWAP: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Add,
    ast.FloorDiv: ast.Div,
}


def _apply(op: str, node: Any, tree: ast.Module, entry_point: str) -> None:
    if op == "off_by_one":
        node.value = node.value + 1
    elif op == "wrong_constant":
        node.value = node.value + "x" if isinstance(node.value, str) else node.value * 2 + 3
    elif op == "swap_branch":
        if node.orelse:
            node.body, node.orelse = node.orelse, node.body
        else:
            node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif op == "flip_compare":
        node.ops[0] = _COMPARE_FLIP[type(node.ops[0])]()
    elif op == "swap_arith":
        node.op = _ARITH_SWAP[type(node.op)]()
    elif op == "drop_guard":
        for parent in ast.walk(tree):
            for field in ("body", "orelse"):
                block = getattr(parent, field, None)
                if isinstance(block, list) and node in block:
                    block.remove(node)
                    if not block and field == "body":
                        block.append(ast.Pass())
                    return
    elif op == "tuple_result":
        node.value = ast.Call(func=ast.Name("tuple", ast.Load()), args=[node.value], keywords=[])
    elif op in ("float_nudge", "float_off"):
        amount = 1e-9 if op == "float_nudge" else 0.001
        node.value = ast.BinOp(left=node.value, op=ast.Add(), right=ast.Constant(amount))
    elif op == "infinite_loop":
        loop = ast.While(test=ast.Constant(True), body=[ast.Pass()], orelse=[])
        node.body.insert(_body_start(node), loop)
    elif op == "exception":
        first = node.args.args[0].arg
        test = ast.parse(f"len(repr({first})) % 2 == 0", mode="eval").body
        raise_ = ast.Raise(
            exc=ast.Call(ast.Name("ValueError", ast.Load()), [ast.Constant("mutant")], []),
            cause=None,
        )
        node.body.insert(_body_start(node), ast.If(test=test, body=[raise_], orelse=[]))
    else:
        raise ValueError(op)


def build_solution(row: dict[str, Any], mutation: dict[str, Any] | None) -> dict[str, str]:
    """The sample as a samples-file entry: ``completion`` for canonical, ``solution`` for mutants."""
    if mutation is None:
        return {"completion": row["canonical_solution"]}
    tree = ast.parse(row["prompt"] + row["canonical_solution"])
    site = _sites(mutation["op"], tree, row["entry_point"])[mutation["site"]]
    _apply(mutation["op"], site, tree, row["entry_point"])
    ast.fix_missing_locations(tree)
    return {"solution": ast.unparse(tree) + "\n"}


def sample_sha256(entry: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True).encode("utf-8")).hexdigest()


GENERAL_OPS = (
    "off_by_one",
    "flip_compare",
    "swap_branch",
    "drop_guard",
    "swap_arith",
    "wrong_constant",
    "exception",
    "tuple_result",
)


def choose_mutations(rows: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(SEED)
    chosen: list[tuple[str, dict[str, Any]]] = []
    loop_tasks = set(rng.sample(sorted(rows), INFINITE_LOOP_TASKS))
    op_cycle = 0
    for task_id, row in rows.items():
        tree = ast.parse(row["prompt"] + row["canonical_solution"])
        wanted: list[str] = []
        if task_id in FLOAT_TASKS:
            wanted += ["float_nudge", "float_off"]
        if task_id in loop_tasks:
            wanted.append("infinite_loop")
        picks: list[dict[str, Any]] = []
        for op in wanted:
            sites = _sites(op, tree, row["entry_point"])
            if sites:
                picks.append({"op": op, "site": len(sites) - 1})
        tries = 0
        while len(picks) < MUTANTS_PER_TASK + len(wanted) and tries < 3 * len(GENERAL_OPS):
            op = GENERAL_OPS[op_cycle % len(GENERAL_OPS)]
            op_cycle += 1
            tries += 1
            sites = _sites(op, tree, row["entry_point"])
            if not sites or any(p["op"] == op for p in picks):
                continue
            mutation = {"op": op, "site": rng.randrange(len(sites))}
            try:
                build_solution(row, mutation)
            except Exception:
                continue
            picks.append(mutation)
        chosen += [(task_id, pick) for pick in picks]
    return chosen


def run_evalplus(
    data: Path, samples: list[dict[str, Any]], workdir: Path, jobs: int
) -> list[dict[str, str]]:
    """EvalPlus's own verdicts for ``samples`` (in order), base and plus."""
    os.environ["HUMANEVAL_OVERRIDE_PATH"] = str(data)
    os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")
    from evalplus.evaluate import evaluate

    path = workdir / "samples.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps({"task_id": sample["task_id"], **sample["entry"]}) + "\n")
    evaluate(dataset="humaneval", samples=str(path), parallel=jobs, i_just_wanna_run=True)
    results = json.loads((workdir / "samples_eval_results.json").read_text())["eval"]
    seen: dict[str, int] = {}
    verdicts: list[dict[str, str]] = []
    for sample in samples:
        index = seen.get(sample["task_id"], 0)
        seen[sample["task_id"]] = index + 1
        result = results[sample["task_id"]][index]
        verdicts.append({"base": result["base_status"], "plus": result["plus_status"]})
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    rows = read_rows(args.data)
    samples: list[dict[str, Any]] = []
    for task_id in rows:
        samples.append({"task_id": task_id, "mutation": None})
    samples += [{"task_id": t, "mutation": m} for t, m in choose_mutations(rows)]
    for number, sample in enumerate(samples):
        sample["id"] = number
        sample["entry"] = build_solution(rows[sample["task_id"]], sample["mutation"])
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
