"""Acknowledgements first: background units run one at a time while acks arrive, freely otherwise."""

from __future__ import annotations

import asyncio

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


async def test_background_runs_at_full_concurrency_when_no_ack_is_near() -> None:
    assert await _overlap(AckPressure(max_wait=0.01, recent=0.0)) == 4


async def test_background_takes_turns_while_an_ack_is_in_flight() -> None:
    pressure = AckPressure(max_wait=0.01)
    with pressure.ack():
        assert await _overlap(pressure) == 1


async def test_a_steady_stream_counts_as_busy_between_acks() -> None:
    pressure = AckPressure(max_wait=0.01, recent=10.0)
    with pressure.ack():
        pass
    assert pressure.in_flight == 0
    assert await _overlap(pressure) == 1


async def test_turned_off_with_a_zero_wait() -> None:
    pressure = AckPressure(max_wait=0.0)
    with pressure.ack():
        assert await _overlap(pressure) == 4
