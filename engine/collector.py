"""Pausing Python's cycle collector around bulk work.

Loading a suite, reading hundreds of thousands of rows for a report or running a batch
of samples makes many container objects and no garbage cycles; the collector would
walk them again and again while they are made (most of HumanEval+'s load time; double
the leaderboard's read time inside the TUI).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[bool]:
    """No cyclic garbage collection inside the block; yields whether the collector was
    on before, and switches it back on afterwards only if it was (also on errors)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield was_enabled
    finally:
        if was_enabled:
            gc.enable()
