"""``gradebench problems list|check``: what a suite holds, and whether its references pass."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TYPE_CHECKING

from gradebench.tui.cli.subsets import add_subset_arguments

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("problems", help="list or check a problem suite")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    listing = actions.add_parser("list", help="list a suite's problems")
    listing.add_argument(
        "--suite", required=True, help="suite name (see `gradebench problems suites`)"
    )
    add_subset_arguments(listing)
    listing.set_defaults(handler=list_problems)
    suites = actions.add_parser(
        "suites", help="list the suites: kind, task count, file and sha256 of data files"
    )
    suites.set_defaults(handler=list_suites)
    check = actions.add_parser(
        "check",
        help="run every reference against its own tests, and a stub that must fail them",
    )
    check.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    check.add_argument(
        "--jobs", type=int, default=None, help="answers run in parallel (default: CPU count)"
    )
    add_subset_arguments(check)
    check.set_defaults(handler=check_problems)
    parser.set_defaults(handler=lambda context: parser.print_help() or 2)


def report_load_errors(load) -> None:  # SuiteLoad
    for error in load.errors:
        print(f"gradebench: {error}", file=sys.stderr)


def list_problems(context: Context) -> int:
    load = context.load_suite(context.args.suite, subset=True)
    report_load_errors(load)
    for problem in load.problems:
        tags = ",".join(problem.tags)
        print(
            f"{problem.id}\t{problem.difficulty}\t{len(problem.tests)} tests\t{tags}\t{problem.title}"
        )
    counts = Counter(p.difficulty for p in load.problems)
    summary = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
    print(f"{len(load.problems)} problems ({summary}), {len(load.errors)} errors", file=sys.stderr)
    return 1 if load.errors else 0


def list_suites(context: Context) -> int:
    """One line per suite: name, kind, task count, file, sha256 (data files are read)."""
    from gradebench.engine.errors import UserError
    from gradebench.engine.problems.suites.datafile import describe_file

    print("suite\tkind\ttasks\tfile\tsha256")
    for entry in context.suite_sources().entries():
        kind, tasks, where, digest = entry.kind, "", str(entry.path or ""), ""
        if entry.kind == "files":
            tasks = str(len(context.load_suite(entry.name).problems))
        elif entry.kind == "humaneval":
            from gradebench.engine.problems.suites.humaneval import humaneval_data_path

            try:
                where = str(humaneval_data_path())
                tasks = str(len(context.load_suite(entry.name).problems))
            except UserError as exc:
                tasks = f"({exc})"
        elif entry.path is None:
            tasks = (
                "(no data file: --data PATH or paths."
                + ("humanevalplus" if entry.name == "humaneval+" else "mbppplus")
                + ")"
            )
        else:
            try:
                info = describe_file(entry.path)
                kind, tasks, digest = info.kind, str(info.tasks), info.sha256
                if entry.kind in ("humaneval+", "mbpp+") and info.kind != entry.kind:
                    kind, tasks, where, digest = entry.kind, "(no data file)", "", ""
            except UserError as exc:
                tasks = f"({exc})"
        print(f"{entry.name}\t{kind}\t{tasks}\t{where}\t{digest}")
    return 0


def stub_code(problem) -> str:  # Problem
    """An answer that returns None everywhere: it must fail every sound problem."""
    if problem.kind != "class":
        return f"def {problem.entry_point}(*args, **kwargs):\n    return None\n"
    methods = sorted(
        {name for test in problem.tests for name, _ in test.args[1] if name.isidentifier()}
    )
    lines = [
        f"class {problem.entry_point}:",
        "    def __init__(self, *args, **kwargs):",
        "        pass",
    ]
    for name in methods:
        if name != "__init__":
            lines += [f"    def {name}(self, *args, **kwargs):", "        return None"]
    return "\n".join(lines) + "\n"


def check_problems(context: Context) -> int:
    from gradebench.engine.evaluation.evaluator import Evaluator

    if context.args.jobs is not None and context.args.jobs < 1:
        from gradebench.engine.errors import UserError

        raise UserError(f"--jobs: must be at least 1, got {context.args.jobs}")
    load = context.load_suite(context.args.suite, subset=True)
    report_load_errors(load)
    evaluator = Evaluator(context.open_db())
    pairs = []
    for problem in load.problems:
        reference = None if problem.extra.get("no_reference") else problem.reference
        pairs += [(problem, reference), (problem, stub_code(problem))]
    results = evaluator.evaluate_many(pairs, jobs=context.args.jobs)
    width = max([len(p.id) for p in load.problems] + [7])
    print(f"{'problem':<{width}}  {'reference':<16}  {'stub':<16}  note")
    bad = internal = 0
    for index, problem in enumerate(load.problems):
        reference, stub = results[2 * index], results[2 * index + 1]
        notes = []
        failed_on = [e.internal_error for e in (reference, stub) if e.internal_error]
        if failed_on:  # gradebench failed, not the problem: say so, apart
            internal += 1
            notes.append(failed_on[0])
        if problem.extra.get("no_reference"):
            notes.append("no canonical solution: the asserts state the expected outputs")
        elif reference.verdict != "pass":
            failure = reference.first_failure or {}
            notes.append(f"reference fails test {failure.get('test')}: {failure.get('message')}")
        if stub.verdict == "pass":
            notes.append("a stub returning None passes every test")
        bad += (
            bool(notes)
            and not failed_on
            and not (problem.extra.get("no_reference") and len(notes) == 1)
        )
        ref_text = f"{reference.verdict} {reference.passed}/{reference.total}"
        stub_text = f"{stub.verdict} {stub.passed}/{stub.total}"
        print(f"{problem.id:<{width}}  {ref_text:<16}  {stub_text:<16}  {'; '.join(notes)}")
    print(
        f"{len(load.problems)} problems checked, {bad} with problems, "
        f"{len(load.errors)} failed to load"
        + (f", {internal} not checked (internal error, see the note)" if internal else ""),
        file=sys.stderr,
    )
    return 1 if bad or load.errors or internal else 0
