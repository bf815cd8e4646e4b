"""Adding a model: a local GGUF (which backend can load it) or the models of an
OpenAI-compatible server, as entries in ``gradebench.toml``.

``gradebench models add --server URL`` lists the server's ``/v1/models`` and writes a
``backend = "openai"`` entry (+ two contenders) for each chosen model, with the same writer.

``gradebench models add PATH.gguf`` reads the file's metadata (``gguf_info``), picks a
backend and writes ``[models.NAME]`` plus the contenders ``NAME-plain`` and ``NAME-cot``
into the config with ``tomlkit``, which keeps the user's comments and formatting.

Which backend loads what:

- ``gpt4all`` 2.8.2 ships a mid-2024 llama.cpp: ``GPT4ALL_ARCHITECTURES`` and
  ``GPT4ALL_PRE_TOKENIZERS`` are the architectures it generates with and the
  pre-tokenizers its vocabulary loader accepts (read from its ``llamamodel`` library).
- ``llamacpp``: current llama.cpp, asked directly: the file is opened vocabulary-only
  (no weights read), which fails for an architecture or pre-tokenizer it does not know.

Without ``--backend``, llamacpp is chosen when llama-cpp-python is installed and loads
the file (the chat template then comes from the GGUF as is), else gpt4all when it can,
else a one-line error names the architecture and why each backend refused it. For
gpt4all the GGUF's chat template is rendered once around a ``%1`` placeholder to make
gpt4all's ``prompt_template``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.generation.gguf_info import GGUFInfo, read_gguf_info

GPT4ALL_ARCHITECTURES = frozenset(
    {
        "llama", "falcon", "gpt2", "gptneox", "mpt", "baichuan", "starcoder", "refact",
        "bloom", "stablelm", "qwen", "qwen2", "qwen2moe", "phi2", "phi3", "codeshell",
        "orion", "internlm2", "gemma", "gemma2", "starcoder2", "xverse", "command-r",
        "olmo", "openelm", "deepseek2", "chatglm", "jais",
    }
)  # fmt: skip
GPT4ALL_PRE_TOKENIZERS = frozenset(
    {
        "default", "llama3", "llama-v3", "llama-bpe", "deepseek-llm", "deepseek-coder",
        "falcon", "mpt", "starcoder", "gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es",
        "jina-v2-de", "jina-v2-code", "refact", "command-r", "qwen2", "stablelm2", "olmo",
        "dbrx", "smaug-bpe", "poro-chat", "chatglm-bpe", "viking", "jais",
    }
)  # fmt: skip
LOCAL_CHOICES = ("gpt4all", "llamacpp")


@dataclass(frozen=True)
class Verdict:
    """Whether one backend can load a file, and if not, why (one phrase)."""

    backend: str
    ok: bool
    reason: str = ""


def gpt4all_verdict(info: GGUFInfo) -> Verdict:
    if info.architecture not in GPT4ALL_ARCHITECTURES:
        return Verdict(
            "gpt4all", False, f"gpt4all 2.8.2 does not know architecture {info.architecture!r}"
        )
    if info.pre_tokenizer is not None and info.pre_tokenizer not in GPT4ALL_PRE_TOKENIZERS:
        return Verdict(
            "gpt4all", False, f"gpt4all 2.8.2 does not know pre-tokenizer {info.pre_tokenizer!r}"
        )
    return Verdict("gpt4all", True)


def llamacpp_verdict(path: Path) -> Verdict:
    """Open the file vocabulary-only with current llama.cpp (no weights are read)."""
    try:
        import llama_cpp
    except ImportError:
        return Verdict(
            "llamacpp",
            False,
            "llama-cpp-python is not installed (pip install 'gradebench[llamacpp]')",
        )
    from gradebench.engine.generation.llamacpp_backend import _quiet_stderr

    try:
        with _quiet_stderr():
            probe = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        probe.close()
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Verdict(
            "llamacpp", False, f"llama.cpp {llama_cpp.__version__} cannot load it ({reason})"
        )
    return Verdict("llamacpp", True)


def choose_backend(info: GGUFInfo, wanted: str | None = None) -> str:
    """The backend for this file (``wanted`` forces one); one-line ``UserError`` if none."""
    if wanted is not None:
        if wanted not in LOCAL_CHOICES:
            raise UserError(f"--backend {wanted}: must be one of {', '.join(LOCAL_CHOICES)}")
        verdict = gpt4all_verdict(info) if wanted == "gpt4all" else llamacpp_verdict(info.path)
        if not verdict.ok:
            raise UserError(
                f"{info.path}: backend {wanted} cannot load architecture {info.architecture!r}: {verdict.reason}"
            )
        return wanted
    verdicts = [llamacpp_verdict(info.path), gpt4all_verdict(info)]
    for verdict in verdicts:
        if verdict.ok:
            return verdict.backend
    reasons = "; ".join(v.reason for v in verdicts)
    raise UserError(
        f"{info.path}: no backend can load architecture {info.architecture!r}: {reasons}"
    )


def gpt4all_prompt_template(info: GGUFInfo) -> str:
    """The GGUF's chat template as gpt4all's ``prompt_template`` (``%1`` = the user
    message); plain ``%1`` when the file has no template."""
    if info.chat_template is None:
        return "%1"
    from gradebench.engine.generation.chat_template import render_template

    bos, eos = info.bos_token or "", info.eos_token or ""
    try:
        text = render_template(info.chat_template, [{"role": "user", "content": "%1"}], bos, eos)
    except Exception as exc:
        raise UserError(f"{info.path}: its chat template cannot be rendered: {exc}") from None
    if info.add_bos and info.bos_token and text.startswith(info.bos_token):
        text = text[len(info.bos_token) :]  # gpt4all adds BOS itself when the model wants it
    if "%1" not in text:
        raise UserError(f"{info.path}: its chat template drops the user message")
    return text


def default_name(path: Path) -> str:
    stem = path.name.removesuffix(".gguf")
    name = re.sub(r"[^a-z0-9._-]+", "-", stem.lower()).strip("-.")
    return name or "model"


@dataclass(frozen=True)
class AddedModel:
    name: str
    backend: str
    config_path: Path
    contenders: tuple[str, ...]
    info: GGUFInfo


def describe(info: GGUFInfo) -> str:
    parts = [
        f"architecture {info.architecture}",
        f"{info.parameters_label} parameters",
        info.file_type or "quantization unknown",
    ]
    if info.context_length:
        parts.append(f"context {info.context_length}")
    parts.append(
        "chat template in the GGUF" if info.chat_template else "no chat template in the GGUF"
    )
    return ", ".join(parts)


def _open_config(config_path: Path) -> Any:
    import tomlkit

    text = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    try:
        return tomlkit.parse(text)
    except Exception as exc:
        raise UserError(f"{config_path}: not valid TOML: {exc}") from None


def _contender_names(name: str) -> tuple[str, str]:
    return (f"{name}-plain", f"{name}-cot")


def _check_free(document: Any, config_path: Path, name: str, hint: str) -> None:
    """``models.NAME`` and its two contenders must not exist yet."""
    models = document.get("models")
    if models is not None and name in models:
        raise UserError(f"{config_path}: models.{name} already exists ({hint})")
    contenders = document.get("contenders")
    for contender in _contender_names(name):
        if contenders is not None and contender in contenders:
            raise UserError(f"{config_path}: contenders.{contender} already exists ({hint})")


def _add_entry(document: Any, name: str, entry: Any) -> tuple[str, ...]:
    """Write ``[models.NAME]`` and the contenders ``NAME-plain`` / ``NAME-cot``."""
    import tomlkit

    models: Any = document.get("models")
    if models is None:
        models = tomlkit.table(is_super_table=True)
        document["models"] = models
    models[name] = entry
    contenders: Any = document.get("contenders")
    if contenders is None:
        contenders = tomlkit.table(is_super_table=True)
        document["contenders"] = contenders
    names = _contender_names(name)
    for contender, style in zip(names, ("plain", "cot"), strict=True):
        table = tomlkit.table()
        table.add("model", name)
        table.add("prompt_style", style)
        contenders[contender] = table
    return names


def _save(document: Any, config_path: Path) -> None:
    import tomlkit

    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(tomlkit.dumps(document), encoding="utf-8")


def _check_name(name: str) -> None:
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name):
        raise UserError(f"--name {name!r}: letters, digits, '.', '-' and '_' only")


def add_model(
    gguf_path: Path,
    config_path: Path,
    name: str | None = None,
    backend: str | None = None,
) -> AddedModel:
    """Write ``[models.NAME]`` (+ two contenders) for a local GGUF into ``config_path``."""
    import tomlkit

    gguf_path = gguf_path.expanduser().resolve()
    if not gguf_path.is_file():
        raise UserError(f"{gguf_path}: no such file")
    info = read_gguf_info(gguf_path)
    name = name or default_name(gguf_path)
    _check_name(name)
    document = _open_config(config_path)
    _check_free(document, config_path, name, "choose another --name")
    chosen = choose_backend(info, backend)
    entry = tomlkit.table()
    entry.add(tomlkit.comment(describe(info)))
    entry.add("backend", chosen)
    entry.add("path", str(gguf_path))
    if chosen == "gpt4all":
        entry.add("system_prompt", "")
        entry.add("prompt_template", gpt4all_prompt_template(info))
    contender_names = _add_entry(document, name, entry)
    _save(document, config_path)
    return AddedModel(name, chosen, config_path, contender_names, info)


@dataclass(frozen=True)
class AddedServerModel:
    name: str
    server_model: str
    base_url: str
    fingerprint: str | None
    contenders: tuple[str, ...]


def server_base_url(url: str) -> str:
    """``http://host:port`` -> ``http://host:port/v1``; a URL with a path is kept as given."""
    from urllib.parse import urlsplit

    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--server {url!r}: must be an http:// or https:// URL")
    return url if parts.path else url + "/v1"


def add_server_models(
    url: str,
    config_path: Path,
    api_key_env: str | None = None,
    wanted: list[str] | None = None,
    name: str | None = None,
) -> list[AddedServerModel]:
    """List the server's ``/v1/models`` and write ``[models.*]`` (``backend = "openai"``)
    plus two contenders each for the ``wanted`` ones (default: the only one served)."""
    import os

    import tomlkit

    from gradebench.engine.generation.server_models import list_served_models

    base_url = server_base_url(url)
    if api_key_env is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", api_key_env):
        raise UserError(f"--api-key-env {api_key_env!r}: the NAME of a variable, not the key")
    key = os.environ.get(api_key_env) if api_key_env else None
    served = {m.id: m for m in list_served_models(base_url, key)}
    listing = ", ".join(served) or "none"
    if not wanted:
        if len(served) != 1:
            raise UserError(f"{base_url} serves {listing}: choose with --model NAME")
        wanted = list(served)
    for model_id in wanted:
        if model_id not in served:
            raise UserError(
                f"--model {model_id!r}: {base_url} does not serve it (it serves: {listing})"
            )
    if name is not None and len(wanted) > 1:
        raise UserError("--name: only with a single --model")
    document = _open_config(config_path)
    added: list[AddedServerModel] = []
    for model_id in wanted:
        model_name = name or default_name(Path(model_id.replace("/", "-").replace(":", "-")))
        _check_name(model_name)
        _check_free(document, config_path, model_name, "give --name")
        entry = tomlkit.table()
        fingerprint = served[model_id].fingerprint
        entry.add(
            tomlkit.comment(f"served by {base_url}; fingerprint {fingerprint or 'none reported'}")
        )
        entry.add("backend", "openai")
        entry.add("base_url", base_url)
        entry.add("server_model", model_id)
        if api_key_env:
            entry.add("api_key_env", api_key_env)
        entry.add("max_concurrent", 1)
        contenders = _add_entry(document, model_name, entry)
        added.append(AddedServerModel(model_name, model_id, base_url, fingerprint, contenders))
    _save(document, config_path)
    return added
