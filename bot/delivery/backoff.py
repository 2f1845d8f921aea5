"""Exponential backoff with full jitter (AWS's recommendation), capped."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None) -> float:
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(ceiling / 2, ceiling)
