"""The ``gradebench`` command: global options, subcommand dispatch, one-line errors.

``gradebench`` with no subcommand starts the grading app. Each subcommand lives in
``tui/cli/<name>.py``. A ``UserError`` anywhere becomes one line on stderr
and a non-zero exit; Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gradebench.engine.config import load_config
from gradebench.engine.errors import UserError
from gradebench.tui.cli.context import Context

COMMAND_MODULES = (
    "problems",
    "suites",
    "evaluate",
    "models",
    "generate",
    "export",
    "prompts",
    "merge",
    "assign",
    "adjudicate",
    "diff",
    "disputes",
    "study",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other error
        where = self.prog.removeprefix("gradebench").strip()
        raise UserError(f"{where}: {message}" if where else message)


def add_global_arguments(parser: argparse._ActionsContainer, default: object = None) -> None:
    """``--db``, ``--config``, ``--data``: on the top-level parser, and again on every
    subcommand (``default=SUPPRESS`` there, so a value given before the subcommand
    stays unless one is given after it)."""
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=default,
        help="database file (default: ./grades.db, $GRADEBENCH_DB)",
    )
    parser.add_argument(
        "--config", metavar="PATH", default=default, help="config file (default: ./gradebench.toml)"
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=default,
        help="data file for suite humaneval+ or mbpp+ (plain or gzipped JSONL)",
    )


def _subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                found += [child, *_subcommand_parsers(child)]
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gradebench",
        description="Grade LLM-written Python code by hand, after the machine has run the tests.",
    )
    add_global_arguments(parser)
    importlib.import_module("gradebench.tui.cli.app").add_app_arguments(parser)
    parser.set_defaults(handler=None)
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"gradebench.tui.cli.{name}").register(subparsers)
    for child in _subcommand_parsers(parser):
        add_global_arguments(child.add_argument_group("global options"), argparse.SUPPRESS)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    context = Context(args=args, config=load_config(args.config))
    if args.handler is None:
        from gradebench.tui.cli.app import start_app

        return start_app(context)
    return int(args.handler(context) or 0)


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
    except UserError as exc:
        print(f"gradebench: {exc}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("gradebench: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 0
    sys.exit(code)
