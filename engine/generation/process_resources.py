"""The resources this process spent on one answer: CPU seconds and peak resident memory.

This module owns the meter the local backends (gpt4all, llama.cpp: the model runs inside
this process) wrap around one answer, from just before the model starts on the prompt to
the end. Its figures are ``GenerationResult.cpu_seconds`` / ``peak_rss_bytes`` and the
``generations`` columns of the same names. A model behind a server runs in a process we do
not own: the openai backend measures nothing and both stay None (NULL).

- **CPU**: ``time.process_time()`` at the end minus at the start: the CPU time (user +
  system) of *every thread of this process* in between, the model's worker threads
  included, and anything else the process did meanwhile (the TUI, database writes).
- **Peak memory**: at the start the kernel's high-water mark of this process's resident
  set (``VmHWM``) is reset to the current RSS (``"5"`` written to ``/proc/self/clear_refs``,
  Linux >= 4.0); at the end ``VmHWM`` is read from ``/proc/self/status`` (kB, reported in
  bytes). The figure is the whole process's peak during the answer: the Python
  interpreter and the loaded model's resident pages are part of it.
- **Where the peak cannot be measured** (no ``/proc``, or the reset is not permitted) the
  peak is None. The process's lifetime peak (``getrusage(RUSAGE_SELF).ru_maxrss``) is
  *not* used in its place: it may come from before the answer (a bigger model loaded
  earlier), and the column means "while the answer was made"; a NULL is honest, a
  lifetime figure under that name is not. The CPU figure is always measured.
- **Answers made at once in one process** share these figures: each one's CPU seconds
  include the others' work, and the high-water mark is reset only by a meter that starts
  while no other meter runs (a reset would otherwise erase the peak another answer is
  still measuring), so each peak covers a window that contains its own answer and the
  memory of the others. Both are then upper bounds, never under-estimates. For clean
  per-answer figures make one answer at a time (a study run does).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")
RESET_PEAK = "5"
"""``clear_refs`` value that resets the peak RSS (``VmHWM``) to the current RSS."""


@dataclass(frozen=True)
class ResourceReading:
    """What one meter measured."""

    cpu_seconds: float
    """CPU time of the whole process between start and stop (all threads)."""
    peak_rss_bytes: int | None
    """The process's peak resident set between the window's reset and stop; None when the
    peak of that window cannot be measured here."""


class _Window:
    """Process-wide: how many meters run, and whether the mark they share was reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._reset_ok = False

    def enter(self) -> None:
        with self._lock:
            if self._active == 0:
                self._reset_ok = reset_peak_rss()
            self._active += 1

    def leave(self) -> bool:
        """End one meter; whether the window it measured began with a reset."""
        with self._lock:
            self._active -= 1
            return self._reset_ok


_WINDOW = _Window()


def reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to its current RSS; False when not possible here."""
    try:
        with CLEAR_REFS.open("w") as refs:
            refs.write(RESET_PEAK)
    except OSError:  # no /proc, read-only /proc, a kernel before 4.0, not permitted
        return False
    return True


def read_peak_rss_bytes() -> int | None:
    """``VmHWM`` of this process in bytes (its peak RSS since start or the last reset)."""
    try:
        status = STATUS.read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                unit = fields[2].lower() if len(fields) >= 3 else "kb"
                return int(fields[1]) * (1024 if unit == "kb" else 1)
            return None
    return None


class ResourceMeter:
    """CPU seconds and peak RSS of this process around one answer (module docstring).

    ``meter = ResourceMeter.start()`` before the model starts on the prompt,
    ``meter.stop()`` when the answer ends; ``stop`` returns the reading (a second call
    returns the same reading). Also a context manager: ``with ResourceMeter() as meter:``
    then ``meter.reading``.
    """

    def __init__(self) -> None:
        self._started_cpu: float | None = None
        self._reading: ResourceReading | None = None

    @classmethod
    def start(cls) -> ResourceMeter:
        meter = cls()
        meter._begin()
        return meter

    def _begin(self) -> None:
        if self._started_cpu is not None:
            raise RuntimeError("this meter is already running")
        _WINDOW.enter()
        self._started_cpu = time.process_time()

    def stop(self) -> ResourceReading:
        if self._reading is not None:
            return self._reading
        if self._started_cpu is None:
            raise RuntimeError("this meter was never started")
        cpu = time.process_time() - self._started_cpu
        peak = read_peak_rss_bytes()
        reset = _WINDOW.leave()
        self._reading = ResourceReading(
            cpu_seconds=max(cpu, 0.0), peak_rss_bytes=peak if reset else None
        )
        return self._reading

    @property
    def reading(self) -> ResourceReading:
        if self._reading is None:
            raise RuntimeError("the meter has not stopped yet")
        return self._reading

    def __enter__(self) -> ResourceMeter:
        self._begin()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
