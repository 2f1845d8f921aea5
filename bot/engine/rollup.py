"""How progress rolls up the goal tree: the rule, in one place.

- A task's progress is what its owner reports, or, once it has subtasks, the mean of its live
  (not cancelled) subtasks' progress; a finished task counts 100 (bot/engine/tasks.py keeps it).
- A key result's progress is current / target, from 0 to 100.
- A goal's (or stage goal's) progress is the mean of its key results, its stage goals and the
  tasks linked to it directly, each counting once; with none of those it is 0.
"""

from __future__ import annotations

from collections.abc import Iterable


def key_result_progress(current: float, target: float) -> int:
    if target <= 0:
        return 100 if current > 0 else 0
    return max(0, min(100, round(current / target * 100)))


def goal_progress(parts: Iterable[int]) -> int:
    values = list(parts)
    return round(sum(values) / len(values)) if values else 0
