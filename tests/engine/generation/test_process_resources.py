"""The resource meter around one answer (``engine/generation/process_resources.py``): the
peak RSS it reports covers what was allocated inside it, freed or not, and not a peak from
before it started; CPU work inside it shows up; where the peak's reset is not possible it
reports no peak rather than the process's lifetime peak. No wall-clock thresholds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from gradebench.engine.generation import process_resources
from gradebench.engine.generation.process_resources import (
    ResourceMeter,
    read_peak_rss_bytes,
)

MB = 1024 * 1024
PAGE = 4096


def _touched(size: int) -> bytearray:
    """``size`` bytes really resident: one byte written in every page."""
    block = bytearray(size)
    block[::PAGE] = b"\x01" * len(range(0, size, PAGE))
    return block


def test_memory_allocated_and_touched_inside_the_meter_is_in_its_peak() -> None:
    with ResourceMeter() as meter:
        block = _touched(200 * MB)
        assert len(block) == 200 * MB
    del block
    peak = meter.reading.peak_rss_bytes
    assert peak is not None
    assert peak >= 200 * MB


def test_memory_freed_before_the_meter_stops_still_counts_in_its_peak() -> None:
    meter = ResourceMeter.start()
    block = _touched(200 * MB)
    del block  # returned to the kernel before the reading
    reading = meter.stop()
    assert reading.peak_rss_bytes is not None
    assert reading.peak_rss_bytes >= 200 * MB


def test_a_peak_from_before_the_meter_started_is_not_its_peak() -> None:
    block = _touched(300 * MB)
    del block
    before = read_peak_rss_bytes()
    assert before is not None and before >= 300 * MB  # the process's high-water mark
    with ResourceMeter() as meter:
        small = bytearray(1024)
        assert small[0] == 0
    peak = meter.reading.peak_rss_bytes
    assert peak is not None
    assert peak < before - 250 * MB


def test_cpu_work_inside_the_meter_gives_cpu_seconds() -> None:
    started = time.process_time()
    with ResourceMeter() as meter:
        total = 0
        while time.process_time() - started < 0.05:  # a CPU amount, not a wall-clock limit
            total += sum(range(1000))
    assert total > 0
    assert meter.reading.cpu_seconds > 0


def test_cpu_of_another_thread_of_the_process_counts_too() -> None:
    """Model threads are other threads: the meter counts the whole process."""
    done = threading.Event()

    def spin() -> None:
        started = time.process_time()
        while time.process_time() - started < 0.05:
            sum(range(1000))
        done.set()

    meter = ResourceMeter.start()
    worker = threading.Thread(target=spin)
    worker.start()
    worker.join()
    reading = meter.stop()
    assert done.is_set()
    assert reading.cpu_seconds >= 0.05


def test_stop_twice_gives_the_same_reading() -> None:
    meter = ResourceMeter.start()
    first = meter.stop()
    assert meter.stop() is first
    with pytest.raises(RuntimeError):
        ResourceMeter().stop()
    with pytest.raises(RuntimeError):
        _ = ResourceMeter().reading


def test_without_a_permitted_reset_there_is_no_peak_but_cpu_is_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lifetime peak is not passed off as the answer's: the peak is None."""
    monkeypatch.setattr(process_resources, "CLEAR_REFS", tmp_path / "absent" / "clear_refs")
    reading = ResourceMeter.start().stop()
    assert reading.peak_rss_bytes is None
    assert reading.cpu_seconds >= 0


def test_without_proc_status_there_is_no_peak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_resources, "STATUS", tmp_path / "absent" / "status")
    assert ResourceMeter.start().stop().peak_rss_bytes is None


def test_a_meter_started_while_another_runs_does_not_erase_the_first_ones_peak() -> None:
    """Answers made at once share the mark: only the first meter resets it, so the first
    answer's peak survives a second answer starting after it."""
    outer = ResourceMeter.start()
    block = _touched(200 * MB)
    del block
    inner = ResourceMeter.start()  # would reset the mark below 200 MB if it were allowed to
    inner_reading = inner.stop()
    outer_reading = outer.stop()
    assert outer_reading.peak_rss_bytes is not None
    assert outer_reading.peak_rss_bytes >= 200 * MB
    assert inner_reading.peak_rss_bytes is not None
    assert inner_reading.peak_rss_bytes >= 200 * MB  # an upper bound, never an under-count
    with ResourceMeter() as alone:  # no meter runs now: the mark is reset again
        pass
    assert alone.reading.peak_rss_bytes is not None
    assert alone.reading.peak_rss_bytes < outer_reading.peak_rss_bytes - 150 * MB
