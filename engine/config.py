"""The user's configuration: where ``gradebench.toml`` is found and its path settings.

Looked up in this order: ``--config PATH``, ``$GRADEBENCH_CONFIG``, ``./gradebench.toml``,
then ``gradebench.toml`` in the user config dir. A missing file means defaults.
Each section is parsed by the module that owns it (``models``, ``prompts``,
``rubric``...); this module only reads the file and resolves paths. The database
is ``--db PATH``, else ``$GRADEBENCH_DB``, else ``paths.db``, else ``./grades.db``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from gradebench.engine.errors import UserError

APP_NAME = "gradebench"
CONFIG_FILE_NAME = "gradebench.toml"
DEFAULT_DB = "grades.db"


def user_config_dir() -> Path:
    return Path(os.environ.get("GRADEBENCH_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))


def user_data_dir() -> Path:
    """Where installed models live (``$GRADEBENCH_DATA_DIR`` overrides)."""
    return Path(os.environ.get("GRADEBENCH_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


@dataclass(frozen=True)
class Config:
    """The parsed TOML document plus where it came from (``None``: defaults only)."""

    data: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            raise UserError(f"{self.where}: [{name}] must be a table")
        return value

    @property
    def where(self) -> str:
        return str(self.path) if self.path else "defaults"

    def path_setting(self, key: str) -> Path | None:
        """A path from ``[paths]``, relative paths taken from the config file's folder."""
        value = self.section("paths").get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise UserError(f"{self.where}: paths.{key} must be a non-empty string")
        path = Path(value).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    def problem_roots(self) -> list[Path]:
        value = self.section("paths").get("problems", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise UserError(f"{self.where}: paths.problems must be a path or a list of paths")
        base = self.path.parent if self.path else Path.cwd()
        return [(base / Path(v).expanduser()) for v in value]


def find_config_file(explicit: str | None = None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise UserError(f"--config {explicit}: no such file")
        return path
    env = os.environ.get("GRADEBENCH_CONFIG")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise UserError(f"GRADEBENCH_CONFIG={env}: no such file")
        return path
    for candidate in (Path.cwd() / CONFIG_FILE_NAME, user_config_dir() / CONFIG_FILE_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | None = None) -> Config:
    path = find_config_file(explicit)
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None
    return Config(data=data, path=path)


def resolve_db_path(cli_value: str | None, config: Config) -> Path:
    if cli_value:
        return Path(cli_value).expanduser()
    env = os.environ.get("GRADEBENCH_DB")
    if env:
        return Path(env).expanduser()
    return config.path_setting("db") or Path(DEFAULT_DB)
