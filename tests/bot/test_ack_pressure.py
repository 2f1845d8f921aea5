"""Acknowledgements first during a burst: background units run one at a time while acks flood in,
freely under a steady stream, when no ack is near, and when the backlog is nearly full."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

from bot.pressure import AckPressure


async def _overlap(pressure: AckPressure) -> int:
    running = peak = 0

    async def unit() -> None:
        nonlocal running, peak
        async with pressure.background():
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(unit() for _ in range(4)))
    return peak


def _burst(pressure: AckPressure, stack: ExitStack, acks: int = 200) -> None:
    """`acks` acks arriving faster than they finish: all still in flight."""
    for _ in range(acks):
        stack.enter_context(pressure.ack())


async def test_background_runs_at_full_concurrency_when_no_ack_is_near() -> None:
    assert await _overlap(AckPressure(max_wait=0.01, recent=0.0)) == 4


async def test_background_takes_turns_while_a_burst_of_acks_is_in_flight() -> None:
    pressure = AckPressure(max_wait=0.01)
    with ExitStack() as stack:
        _burst(pressure, stack)
        assert pressure.flooding
        assert await _overlap(pressure) == 1


async def test_a_burst_still_arriving_counts_between_acks() -> None:
    pressure = AckPressure(max_wait=0.01, recent=10.0)
    with ExitStack() as stack:
        _burst(pressure, stack)
    assert pressure.in_flight == 0
    assert await _overlap(pressure) == 1


async def test_a_steady_stream_of_acks_does_not_hold_the_work_back() -> None:
    # One ack at a time, one after another, recently: what a steady 150 events/s looks like.
    pressure = AckPressure(max_wait=0.01, recent=10.0)
    for _ in range(500):
        with pressure.ack():
            pass
    with pressure.ack():
        assert not pressure.flooding
        assert await _overlap(pressure) == 4


async def test_a_nearly_full_backlog_is_processed_at_full_concurrency() -> None:
    full = False
    pressure = AckPressure(max_wait=0.01, recent=10.0, full=lambda: full)
    with ExitStack() as stack:
        _burst(pressure, stack)
        assert await _overlap(pressure) == 1
        full = True
        assert await _overlap(pressure) == 4


async def test_the_burst_is_over_when_acks_stop_arriving() -> None:
    pressure = AckPressure(max_wait=0.01, recent=0.0)
    with ExitStack() as stack:
        _burst(pressure, stack)
    assert pressure.flooding  # the average remembers the burst, but no ack is near any more
    assert await _overlap(pressure) == 4


async def test_acks_after_a_quiet_gap_start_afresh() -> None:
    pressure = AckPressure(max_wait=0.01, recent=0.0)
    with ExitStack() as stack:
        _burst(pressure, stack)
    assert pressure.flooding
    with pressure.ack():  # the next ack after the burst ended: one in flight, not a burst
        assert not pressure.flooding


async def test_turned_off_with_a_zero_wait() -> None:
    pressure = AckPressure(max_wait=0.0)
    with ExitStack() as stack:
        _burst(pressure, stack)
        assert await _overlap(pressure) == 4
