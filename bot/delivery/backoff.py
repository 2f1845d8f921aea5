"""Exponential backoff with jitter, capped: one rule for every retry we make.

`floor` is the share of the ceiling always waited: 0 is AWS's "full jitter" (the API client,
which retries within seconds), 0.5 "equal jitter" (the outbox, which must not hammer a platform
that has been failing for minutes).
"""

from __future__ import annotations

import random


def jittered_backoff(
    attempt: int, *, base: float, cap: float, floor: float = 0.0, rng: random.Random | None = None
) -> float:
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(ceiling * floor, ceiling)
