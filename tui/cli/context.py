"""What every subcommand gets: the parsed arguments, the config, and what follows from both
(the database path, the suites)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gradebench.engine.config import Config, resolve_db_path

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database


@dataclass
class Context:
    """What every subcommand gets: parsed args, the config, and paths resolved from both."""

    args: argparse.Namespace
    config: Config

    @property
    def db_path(self) -> Path:
        return resolve_db_path(self.args.db, self.config)

    def open_db(self) -> Database:
        from gradebench.engine.store.database import open_db

        return open_db(self.db_path)

    @property
    def humanevalplus_path(self) -> Path | None:
        if getattr(self.args, "data", None):
            return Path(self.args.data).expanduser()
        return self.config.path_setting("humanevalplus")

    def load_suite(self, name: str):  # -> SuiteLoad
        from gradebench.engine.problems.suites import load_suite

        return load_suite(
            name,
            humanevalplus_path=self.humanevalplus_path,
            extra_roots=self.config.problem_roots(),
        )
