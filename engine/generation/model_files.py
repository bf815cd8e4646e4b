"""A model's file on disk: its sha256 (cached with size and mtime in ``sha256-cache.json`` in
the user cache dir, ``$GRADEBENCH_CACHE_DIR`` overrides, or read from a stamp beside the
file), and the check that it is there and is a GGUF (a one-line ``UserError`` otherwise).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.generation.registry import BUILTIN_CONTENDER_PREFIX, ModelSpec


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
    """Raise a one-line ``UserError`` if a local model's file is missing or not a GGUF
    (server models have no file: nothing to check)."""
    path = model.path
    if path is None:
        return
    if not path.is_file():
        hint = (
            " (run `gradebench models install-default`)"
            if model.builtin or model.name in BUILTIN_CONTENDER_PREFIX
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
