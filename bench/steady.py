"""The steady phase of bench/run.py: commands offered at a fixed rate for a while, as traffic comes.

The e2e phase sends its commands from a closed loop of clients as fast as they are acknowledged,
so they are all stored within a second or two and the rate it reports is how fast the server
drains a backlog it holds while nothing else arrives. Traffic is not like that: events keep
arriving while the server works, and each one wants its ack at once. This phase offers commands
open loop (run.py's `open_loop`) at a rate for some seconds; a 503 is sent again `RESEND_AFTER`
seconds later (the platform re-sends too, later still). A server that keeps up answers every
command within a short while of its send; one that does not must still answer at its full rate,
and turn away only what exceeds it.

Reported: `served/s` (replies received during the offered window, per second of it), p50/p99
from each command's scheduled send to its reply, the 503s answered, and how long after the
window the last reply came (`drain s`).
"""

from __future__ import annotations

from collections.abc import Sequence

RESEND_AFTER = 1.0


def results(ids: Sequence[str], rate: float, started: float,
             replies: dict[str, list[float]]) -> tuple[dict[str, float], list[float]]:
    """From the replies the fake received (first arrival of each) to commands `ids`, the i-th sent
    at `started + i / rate`: the served rate and the drain time, and each command's wait (seconds)
    from its scheduled send to its reply. A missing reply is run.py's exactly-once check's to report."""
    seconds = len(ids) / rate
    end = started + seconds
    arrived = {i: replies[m][0] for i, m in enumerate(ids) if m in replies}
    return {
        "steady_rate": rate,
        "steady_served": sum(1 for at in arrived.values() if at <= end) / seconds,
        "steady_drain": max(0.0, max(arrived.values(), default=end) - end),
    }, [at - (started + i / rate) for i, at in arrived.items()]
