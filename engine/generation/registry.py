"""The model and contender registry: what can generate, read from ``gradebench.toml``.

A **model** (``ModelSpec``) is a GGUF file on disk with a name, its chat template in
gpt4all's form (a system prompt and a prompt template whose ``%1`` is the user
message) and default sampling parameters. A **contender** (``Contender``) is a model
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

    [contenders.mistral-plain]
    model = "mistral-7b"
    prompt_style = "plain"
    max_tokens = 768                # overrides the model's default

The built-in model ``smollm2-135m`` (installed by ``gradebench models install-default``)
and its contenders ``smollm2-plain`` and ``smollm2-cot`` are always defined; a config
entry with the same name replaces them.

In the database a model is keyed by its file's sha256 and a contender by a hash
of everything that shapes its output (model sha256, chat template, prompt style and
template text, params), so every generation row says exactly what produced it.
Hashing a large file is slow, so ``file_sha256`` caches each file's hash with its size
and mtime in ``sha256-cache.json`` in the user cache dir (``$GRADEBENCH_CACHE_DIR``
overrides) and re-hashes only when they change.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradebench.engine.config import Config, user_data_dir
from gradebench.engine.errors import UserError

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database

DEFAULT_MODEL_NAME = "smollm2-135m"
DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.starcoder-pre.gguf"
CHATML_TEMPLATE = "<|im_start|>user\n%1<|im_end|>\n<|im_start|>assistant\n"
DEFAULT_SYSTEM_PROMPT = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
    "trained by Hugging Face<|im_end|>\n"
)
BUILTIN_STYLES = ("plain", "cot")


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


@dataclass(frozen=True)
class ModelSpec:
    """A GGUF file with its chat template and default sampling parameters.

    ``system_prompt`` is sent verbatim before the first user turn (so it carries its
    own special tokens, gpt4all 2.8 style); ``prompt_template`` wraps each user
    message, ``%1`` standing for the message.
    """

    name: str
    path: Path
    system_prompt: str = ""
    prompt_template: str = "%1"
    params: GenerationParams = field(default_factory=GenerationParams)
    builtin: bool = False

    @property
    def present(self) -> bool:
        return self.path.is_file()

    @property
    def size_bytes(self) -> int | None:
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def chat_template(self) -> dict[str, str]:
        return {"system_prompt": self.system_prompt, "prompt_template": self.prompt_template}

    def render(self, user_message: str) -> str:
        """The exact text the model receives for a one-turn chat."""
        return self.system_prompt + self.prompt_template.replace("%1", user_message)


@dataclass(frozen=True)
class Contender:
    """A model + prompt style + sampling params: one column of the side-by-side view."""

    name: str
    model: ModelSpec
    prompt_style: str
    params: GenerationParams

    def identity(self, model_sha256: str, prompt_template_text: str) -> str:
        """The contender id: a hash of everything that shapes its answers."""
        payload = json.dumps(
            {
                "model_sha256": model_sha256,
                "chat_template": self.model.chat_template(),
                "prompt_style": self.prompt_style,
                "prompt_template": prompt_template_text,
                "params": self.params.to_dict(),
            },
            sort_keys=True,
        )
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
    return ModelSpec(
        name=DEFAULT_MODEL_NAME,
        path=models_dir() / DEFAULT_MODEL_FILE,
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        prompt_template=CHATML_TEMPLATE,
        params=GenerationParams(),
        builtin=True,
    )


def _read_params(table: dict[str, Any], base: GenerationParams, where: str) -> GenerationParams:
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


def load_registry(config: Config, styles: tuple[str, ...] | None = None) -> Registry:
    """Models and contenders from the config, the built-in default always included.

    ``styles`` are the prompt style names a contender may use (default: ``plain``,
    ``cot`` and any table in ``[prompts]``).
    """
    where = config.where
    if styles is None:
        prompts = config.section("prompts")
        styles = tuple(dict.fromkeys([*BUILTIN_STYLES, *prompts.keys()]))
    default = default_model_spec()
    models: dict[str, ModelSpec] = {default.name: default}
    base_dir = config.path.parent if config.path else Path.cwd()
    for name, table in config.section("models").items():
        key = f"{where}: models.{name}"
        if not isinstance(table, dict):
            raise UserError(f"{key}: must be a table")
        _check_keys(table, {"path", "system_prompt", "prompt_template", *PARAM_KEYS}, key)
        if "path" in table:
            raw = _string(table, "path", key)
            path = Path(raw).expanduser()
            if not path.is_absolute():
                path = base_dir / path
        elif name == DEFAULT_MODEL_NAME:
            path = default.path
        else:
            raise UserError(f"{key}.path: missing (the GGUF file of this model)")
        inherited = models.get(name)
        template = _string(
            table, "prompt_template", key, inherited.prompt_template if inherited else "%1"
        )
        if "%1" not in template:
            raise UserError(f"{key}.prompt_template: must contain %1 (the user message)")
        models[name] = ModelSpec(
            name=name,
            path=path,
            system_prompt=_string(
                table, "system_prompt", key, inherited.system_prompt if inherited else ""
            ),
            prompt_template=template,
            params=_read_params(table, GenerationParams(), key),
            builtin=False,
        )
    contenders: dict[str, Contender] = {}
    default_model = models[DEFAULT_MODEL_NAME]
    for style in BUILTIN_STYLES:
        name = f"smollm2-{style}"
        contenders[name] = Contender(name, default_model, style, default_model.params)
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
        contenders[name] = Contender(name, model, style, _read_params(table, model.params, key))
    generation = config.section("generation")
    _check_keys(generation, {"max_threads"}, f"{where}: generation")
    max_threads = generation.get("max_threads")
    if max_threads is not None and (
        isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1
    ):
        raise UserError(f"{where}: generation.max_threads: must be an integer >= 1")
    return Registry(models=models, contenders=contenders, max_threads=max_threads, where=where)


# -- file hashes ---------------------------------------------------------------------------


def _hash_cache_path() -> Path:
    """``$GRADEBENCH_CACHE_DIR`` (tests point it at a temporary folder), else the user cache dir."""
    import platformdirs

    base = os.environ.get("GRADEBENCH_CACHE_DIR") or platformdirs.user_cache_dir("gradebench")
    return Path(base) / "sha256-cache.json"


STAMP_SUFFIX = ".stamp.json"


def stamped_sha256(path: Path) -> str | None:
    """The sha256 in ``<file>.stamp.json`` (written by install-default) if its size and
    mtime still match the file, else ``None``."""
    try:
        stamp = json.loads(path.with_name(path.name + STAMP_SUFFIX).read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict):
        return None
    if stamp.get("size") == stat.st_size and stamp.get("mtime_ns") == stat.st_mtime_ns:
        sha = stamp.get("sha256")
        return sha if isinstance(sha, str) else None
    return None


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached by (path, size, mtime) so a big GGUF is hashed once."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    stamped = stamped_sha256(path)
    if stamped is not None:
        return stamped
    stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
    cache_path = _hash_cache_path()
    cache: dict[str, dict[str, str]] = {}
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    entry = cache.get(str(path.resolve()))
    if isinstance(entry, dict) and entry.get("stamp") == stamp:
        return str(entry["sha256"])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    cache[str(path.resolve())] = {"stamp": stamp, "sha256": value}
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1), encoding="utf-8")
        os.replace(tmp, cache_path)
    except OSError:
        pass  # a read-only data dir only costs a re-hash next time
    return value


GGUF_MAGIC = b"GGUF"


def check_model_file(model: ModelSpec) -> None:
    """Raise a one-line ``UserError`` if the model's file is missing or not a GGUF."""
    path = model.path
    if not path.is_file():
        hint = (
            " (run `gradebench models install-default`)"
            if model.builtin or model.name == DEFAULT_MODEL_NAME
            else ""
        )
        raise UserError(f"model {model.name}: file {path} is missing{hint}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise UserError(f"model {model.name}: file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise UserError(f"model {model.name}: file {path} is not a GGUF file (bad magic)")


# -- database ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisteredContender:
    """A contender as stored: its id and the exact prompt template text it uses."""

    id: str
    contender: Contender
    model_sha256: str
    prompt_template_text: str


def register_contender(
    db: Database, contender: Contender, prompt_template_text: str
) -> RegisteredContender:
    """Insert (or find) the model and contender rows; return the contender's id."""
    from gradebench.engine.store.database import to_json, utc_now

    check_model_file(contender.model)
    model = contender.model
    sha = file_sha256(model.path)
    contender_id = contender.identity(sha, prompt_template_text)
    now = utc_now()
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO models (sha256, name, path, size_bytes, chat_template, first_seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                sha,
                model.name,
                str(model.path),
                model.size_bytes or 0,
                to_json(model.chat_template()),
                now,
            ],
        )
        db.execute(
            "INSERT OR IGNORE INTO contenders (id, name, model_sha256, prompt_style, prompt_template, params, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                contender_id,
                contender.name,
                sha,
                contender.prompt_style,
                prompt_template_text,
                to_json(contender.params.to_dict()),
                now,
            ],
        )
    return RegisteredContender(contender_id, contender, sha, prompt_template_text)
