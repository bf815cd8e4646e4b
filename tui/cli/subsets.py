"""The subset options every command that takes a suite accepts, turned into a ``Subset``
(``gradebench.engine.problems.subsets`` does the choosing)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gradebench.engine.errors import UserError
from gradebench.engine.problems.subsets import Subset, split_list


def add_subset_arguments(
    parser: argparse.ArgumentParser, *, ids_flag: str = "--ids", seed_flag: str = "--seed"
) -> None:
    group = parser.add_argument_group("subset (filters combine; the default is the whole suite)")
    group.add_argument(
        ids_flag,
        dest="subset_ids",
        metavar="IDS",
        help="comma-separated task ids or globs (Mbpp/1*, HumanEval/?)",
    )
    group.add_argument(
        "--ids-file", metavar="FILE", help="task ids or globs, one per line (# comments)"
    )
    group.add_argument("--difficulty", metavar="LEVELS", help="e.g. easy,medium")
    group.add_argument("--tag", metavar="TAGS", help="problems with any of these tags")
    group.add_argument(
        "--sample", type=int, metavar="N", help="N problems drawn at random (see --seed)"
    )
    group.add_argument(
        seed_flag, dest="subset_seed", type=int, default=0, metavar="S", help="seed of --sample (0)"
    )


def subset_from_args(args: argparse.Namespace, extra_ids: str | None = None) -> Subset:
    """The ``Subset`` the parsed options ask for (``extra_ids``: another option naming ids)."""
    ids = split_list(getattr(args, "subset_ids", None)) + split_list(extra_ids)
    sample = getattr(args, "sample", None)
    if sample is not None and sample < 1:
        raise UserError(f"--sample: must be at least 1, got {sample}")
    ids_file = getattr(args, "ids_file", None)
    return Subset(
        ids=ids,
        difficulties=split_list(getattr(args, "difficulty", None)),
        tags=split_list(getattr(args, "tag", None)),
        ids_file=Path(ids_file).expanduser() if ids_file else None,
        sample=sample,
        seed=getattr(args, "subset_seed", 0) or 0,
    )
