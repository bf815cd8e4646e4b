"""Progress of a study run per contender: answers made of those missing, and an ETA from
the seconds per answer measured so far in this run (before the first answer of a
contender: the plan's estimate from the database)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from gradebench.engine.workflows.batch import JobOutcome, format_duration

BAR_WIDTH = 20


@dataclass
class _Count:
    total: int
    estimate: float | None
    done: int = 0
    seconds: float = 0.0

    def eta(self) -> float | None:
        left = self.total - self.done
        if not left:
            return 0.0
        per_answer = self.seconds / self.done if self.done else self.estimate
        return None if per_answer is None else per_answer * left


@dataclass
class StudyProgress:
    """``add`` each outcome; ``render`` one line for a terminal."""

    counts: dict[str, _Count] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, contender: str, missing: int, seconds_per_answer: float | None) -> None:
        with self._lock:
            count = self.counts.setdefault(contender, _Count(0, seconds_per_answer))
            count.total += missing

    def add(self, outcome: JobOutcome) -> None:
        with self._lock:
            count = self.counts.get(outcome.job.seat.contender.name)
            if count is None:
                return
            count.done += 1
            if outcome.result is not None:
                count.seconds += outcome.result.total_seconds

    def render(self) -> str:
        with self._lock:
            done = sum(c.done for c in self.counts.values())
            total = sum(c.total for c in self.counts.values())
            filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
            parts = [f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total}"]
            for name, count in self.counts.items():
                eta = count.eta()
                shown = "?" if eta is None else format_duration(eta)
                parts.append(f"{name} {count.done}/{count.total} ETA {shown}")
            return (
                "  ".join(parts) + f"  elapsed {format_duration(time.monotonic() - self.started)}"
            )
