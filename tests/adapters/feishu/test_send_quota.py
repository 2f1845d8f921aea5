"""Delivery keeps to Feishu's send quota: at most 1 % of calls answered 429 by a fake that enforces it.

The fake Open API refuses a send or reply beyond 50 in any one-second span per app or 5 per chat
(tests/adapters/feishu/quota.py). Chats are served as the delivery worker serves them: one lane
each, one message at a time, through the real adapter and client. Time is virtual: the client's
waits and the load's pauses go through one scheduler that moves the frozen clock to the next
wake-up only when every lane is waiting, so seconds of load run in a moment and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from datetime import timedelta

import pytest

from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.client import FeishuClient
from adapters.feishu.settings import FeishuSettings
from bot.clock import FrozenClock
from bot.core import ConversationRef, OutboundMessage
from storage.cache import InProcessCache

from .fake_server import FakeFeishu
from .quota import SendQuota


class VirtualTime:
    """asyncio.sleep for a frozen clock shared by many tasks: time moves only when all of them wait."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.active = 0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def started(self) -> None:
        self.active += 1

    def finished(self) -> None:
        self.active -= 1
        self._advance()

    async def sleep(self, seconds: float) -> None:
        deadline = self.clock.now().timestamp() + max(seconds, 0.0)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        self.active -= 1
        self._advance()
        await future

    def _advance(self) -> None:
        if self.active == 0 and self._sleepers:
            deadline, _, future = heapq.heappop(self._sleepers)
            now = self.clock.now().timestamp()
            if deadline > now:
                # Rounded up to the clock's microsecond: never woken before the deadline.
                self.clock.advance(timedelta(microseconds=math.ceil((deadline - now) * 1_000_000)))
            self.active += 1
            future.set_result(None)


@pytest.mark.parametrize("shape", ["one busy chat", "many chats", "bursts"])
async def test_delivery_stays_within_the_send_quota(feishu_fake: FakeFeishu, clock: FrozenClock, shape: str) -> None:
    quota = SendQuota(clock)
    feishu_fake.quota = quota
    time = VirtualTime(clock)
    rng = random.Random(shape)
    settings = FeishuSettings(enabled=True, app_id=feishu_fake.app_id, app_secret=feishu_fake.app_secret,
                              api_base=feishu_fake.base_url)
    cache = InProcessCache(clock=clock)
    client = FeishuClient(settings, cache, clock, sleep=time.sleep, rng=random.Random(1))
    adapter = FeishuAdapter(settings, sink=None, cache=cache, clock=clock, client=client)  # type: ignore[arg-type]
    chats, per_chat, pause = {"one busy chat": (1, 60, 0.0), "many chats": (40, 12, 0.0),
                              "bursts": (25, 16, 0.5)}[shape]

    async def lane(chat: str) -> None:
        time.started()
        try:
            for n in range(per_chat):
                if pause and rng.random() < 0.2:
                    await time.sleep(rng.uniform(0, pause))  # a quiet moment, then the chat is busy again
                key = f"{chat}:{n}"
                reply_to = f"om_in_{key}" if n % 2 else None  # replies to commands, and plain posts
                if reply_to is not None:
                    feishu_fake.chat_of_message[reply_to] = chat
                await adapter.deliver(OutboundMessage(ConversationRef("feishu", "t1", chat), text=key,
                                                      idempotency_key=key, reply_to=reply_to))
                await time.sleep(rng.uniform(0.005, 0.05))  # the call's round trip
        finally:
            time.finished()

    started = clock.now()
    try:
        await asyncio.gather(*(lane(f"oc_{c}") for c in range(chats)))
    finally:
        await client.close()
        await cache.close()
    calls = quota.accepted + quota.refused
    assert quota.accepted == chats * per_chat
    assert quota.refused <= 0.01 * calls, f"{quota.refused} of {calls} calls answered 429"
    # Keeping up: about as fast as the quota allows (the app's 50/s, or one chat's 5/s).
    elapsed = (clock.now() - started).total_seconds()
    fastest = max(calls / quota.per_app, per_chat / quota.per_chat)
    assert elapsed <= fastest * 1.5 + 1, f"{calls} calls took {elapsed:.1f}s, the quota allows {fastest:.1f}s"
