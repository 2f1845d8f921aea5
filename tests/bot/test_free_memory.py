"""Free memory goes back to the operating system when a burst is over, at most so often."""

from __future__ import annotations

import gc
import json
import sys
from pathlib import Path

import pytest

from bot.memory import FreeMemory

linux_glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or not FreeMemory().available,
                                 reason="malloc_trim is glibc's (Linux)")


def test_a_trim_at_most_every_interval() -> None:
    now = [100.0]
    memory = FreeMemory(10.0, monotonic=lambda: now[0])
    if not memory.available:
        pytest.skip("malloc_trim is glibc's (Linux)")
    memory.after_burst()
    now[0] += 5
    memory.after_burst()
    assert memory.trims == 1
    now[0] += 5
    memory.after_burst()
    assert memory.trims == 2


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@linux_glibc
def test_memory_a_burst_left_behind_goes_back() -> None:
    # Many small and medium objects, a few of them kept: the freed pages sit between live ones.
    burst = [{"text": "新建任务 " * (i % 50), "payload": json.dumps({"a": "b" * (i % 2000)})} for i in range(100_000)]
    kept = burst[::97]
    del burst
    gc.collect()
    before = _rss_mb()
    FreeMemory(0).after_burst()
    assert _rss_mb() < before - 20
    assert kept
