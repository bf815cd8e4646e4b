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

    def suite_sources(self):  # -> SuiteSources
        from gradebench.engine.problems.registry import SuiteSources

        return SuiteSources.from_config(self.config, getattr(self.args, "data", None))

    def load_suite(self, name: str, *, subset: bool = False):  # -> SuiteLoad
        """The suite's problems; with ``subset``, only those the subset options choose."""
        load = self.suite_sources().load(name)
        if subset:
            from dataclasses import replace

            chosen = self.subset().select(load.problems, name)
            load = replace(load, problems=tuple(chosen))
        return load

    def subset(self):  # -> Subset
        from gradebench.tui.cli.subsets import subset_from_args

        return subset_from_args(self.args, getattr(self.args, "problems_ids", None))
