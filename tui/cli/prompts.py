"""``gradebench prompts styles|show|extract``: the prompt styles, the exact text a model is
sent, and which code gradebench would run from a saved answer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gradebench.engine.errors import UserError

if TYPE_CHECKING:
    from gradebench.engine.problems.model import Problem
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prompts", help="prompt styles, the exact prompt text, code extraction"
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    styles = actions.add_parser("styles", help="list the prompt styles and where each comes from")
    styles.set_defaults(handler=list_styles)
    show = actions.add_parser("show", help="print the exact user message for a problem")
    show.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    show.add_argument("--problem", required=True, help="problem id, or its name in the suite")
    show.add_argument("--style", default="plain", help="prompt style (default: plain)")
    show.set_defaults(handler=show_prompt)
    extract = actions.add_parser(
        "extract", help="show the code gradebench would run from an answer saved in a file"
    )
    extract.add_argument("answer", help="a file holding the model's answer ('-' for stdin)")
    extract.add_argument("--suite", required=True, help="suite name or a folder of problem files")
    extract.add_argument("--problem", required=True, help="problem id, or its name in the suite")
    extract.set_defaults(handler=extract_answer)
    parser.set_defaults(handler=lambda context: parser.print_help() or 2)


def find_problem(context: Context, suite: str, wanted: str) -> Problem:
    load = context.load_suite(suite)
    for problem in load.problems:
        if wanted in (problem.id, problem.id.split("/", 1)[-1]):
            return problem
    raise UserError(f"--problem {wanted}: not in suite {suite} ({len(load.problems)} problems)")


def list_styles(context: Context) -> int:
    from gradebench.engine.generation.prompts import load_prompt_templates

    templates = load_prompt_templates(context.config)
    configured = set(context.config.section("prompts"))
    for style in templates.styles:
        origin = context.config.where if style in configured else "built in"
        print(f"{style}\t{origin}")
    return 0


def show_prompt(context: Context) -> int:
    from gradebench.engine.generation.prompts import build_prompt, load_prompt_templates

    templates = load_prompt_templates(context.config)
    problem = find_problem(context, context.args.suite, context.args.problem)
    sys.stdout.write(build_prompt(problem, context.args.style, templates))
    return 0


def extract_answer(context: Context) -> int:
    from gradebench.engine.answers.extract import extract_for_problem

    problem = find_problem(context, context.args.suite, context.args.problem)
    source = context.args.answer
    try:
        answer = sys.stdin.read() if source == "-" else Path(source).read_bytes().decode("utf-8")
    except OSError as exc:
        raise UserError(f"{source}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{source}: not UTF-8 text") from None
    result = extract_for_problem(answer, problem)
    print(f"method: {result.method}")
    print(f"followed format: {'yes' if result.followed_format else 'no'}")
    print(f"defines {problem.entry_point}: {'yes' if result.defines_entry_point else 'no'}")
    for note in result.notes:
        print(f"note: {note}")
    if result.no_code:
        print("no code")
    else:
        print("---")
        sys.stdout.write(result.code)
    return 0
