"""Memory freed after a burst goes back to the operating system.

A burst (a company's stand-up, a platform re-delivering what it queued during an outage) fills
the backlog with events, payloads and cards. Once they are processed, CPython frees them, but the C
allocator keeps most of the freed pages for reuse, so the process's resident memory stays at the
burst's peak for hours. When the backlog empties, `malloc_trim` hands the free pages back. It runs
at most every `min_interval` seconds and takes a few milliseconds; where the C library has no
`malloc_trim` (macOS, musl), nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _malloc_trim() -> Callable[[], object] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


class FreeMemory:
    def __init__(self, min_interval: float = 10.0, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.min_interval = min_interval
        self._monotonic = monotonic
        self._trim = _malloc_trim()
        self._last = float("-inf")
        self.trims = 0

    @property
    def available(self) -> bool:
        return self._trim is not None

    def after_burst(self) -> None:
        """The backlog just emptied: give free memory back, unless that was done a moment ago."""
        if self._trim is None:
            return
        now = self._monotonic()
        if now - self._last < self.min_interval:
            return
        self._last = now
        self._trim()
        self.trims += 1
