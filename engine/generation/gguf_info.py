"""What a GGUF file says about itself: architecture, size, quantization, context, template.

Read with the ``gguf`` package (pure Python, memory-mapped, no model loaded), cached per
(path, size, mtime) for the life of the process. Used to render a llama.cpp model's chat
template (``chat_template``), to pick a backend in ``gradebench models add`` and to show
models in ``gradebench models list``. A file that is not a readable GGUF is a one-line
``UserError`` naming it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradebench.engine.errors import UserError


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    architecture: str
    name: str | None
    parameters: int
    """Sum of the tensors' element counts."""
    file_type: str | None
    """The quantization, e.g. ``Q4_1`` (llama.cpp's ``general.file_type``)."""
    context_length: int | None
    chat_template: str | None
    bos_token: str | None
    eos_token: str | None
    add_bos: bool
    pre_tokenizer: str | None
    size_bytes: int

    @property
    def parameters_label(self) -> str:
        """``135M``, ``7.2B``: the parameter count the way model cards write it."""
        count = float(self.parameters)
        for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
            if count >= scale:
                value = count / scale
                return f"{value:.0f}{unit}" if value >= 100 else f"{value:.1f}{unit}"
        return str(self.parameters)


_cache: dict[tuple[str, int, int], GGUFInfo] = {}
_lock = threading.Lock()


def _field(reader: Any, key: str) -> Any:
    field = reader.get_field(key)
    if field is None:
        return None
    try:
        return field.contents()
    except Exception:
        return None


def _token(reader: Any, token_id: Any) -> str | None:
    """The text of one token of ``tokenizer.ggml.tokens`` without decoding all of them."""
    if not isinstance(token_id, int):
        return None
    field = reader.get_field("tokenizer.ggml.tokens")
    if field is None or not 0 <= token_id < len(field.data):
        return None
    try:
        return bytes(field.parts[field.data[token_id]]).decode("utf-8", errors="replace")
    except Exception:
        return None


def _file_type(value: Any) -> str | None:
    if not isinstance(value, int):
        return None
    import gguf

    try:
        return gguf.LlamaFileType(value).name.removeprefix("MOSTLY_")
    except ValueError:
        return f"type {value}"


def read_gguf_info(path: Path) -> GGUFInfo:
    """Metadata of the GGUF at ``path``; ``UserError`` (one line) if it is not one."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    info = _read(path, stat.st_size)
    with _lock:
        _cache[key] = info
    return info


def _read(path: Path, size: int) -> GGUFInfo:
    os.environ.setdefault("TQDM_DISABLE", "1")
    import gguf

    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    if magic != b"GGUF":
        raise UserError(f"{path}: not a GGUF file (bad magic)")
    try:
        reader = gguf.GGUFReader(path, "r")
        parameters = int(sum(int(t.n_elements) for t in reader.tensors))
    except Exception as exc:  # truncated or corrupt: numpy/struct errors of any kind
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a readable GGUF file ({reason})") from None
    architecture = _field(reader, "general.architecture")
    if not isinstance(architecture, str) or not architecture:
        raise UserError(f"{path}: GGUF has no general.architecture")
    context = _field(reader, f"{architecture}.context_length")
    template = _field(reader, "tokenizer.chat_template")
    name = _field(reader, "general.name")
    pre = _field(reader, "tokenizer.ggml.pre")
    add_bos = _field(reader, "tokenizer.ggml.add_bos_token")
    return GGUFInfo(
        path=path,
        architecture=architecture,
        name=name if isinstance(name, str) else None,
        parameters=parameters,
        file_type=_file_type(_field(reader, "general.file_type")),
        context_length=int(context) if isinstance(context, int) else None,
        chat_template=template if isinstance(template, str) and template.strip() else None,
        bos_token=_token(reader, _field(reader, "tokenizer.ggml.bos_token_id")),
        eos_token=_token(reader, _field(reader, "tokenizer.ggml.eos_token_id")),
        # llama.cpp's default when the key is absent: SentencePiece vocabularies add BOS
        add_bos=add_bos
        if isinstance(add_bos, bool)
        else _field(reader, "tokenizer.ggml.model") == "llama",
        pre_tokenizer=pre if isinstance(pre, str) else None,
        size_bytes=size,
    )
