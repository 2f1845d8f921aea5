"""Two separately deployed `tuijin serve` processes behind one load balancer, sharing PostgreSQL and Redis.

Not `--workers 2` (one supervisor, one port): two servers started apart, each on its own port,
as two hosts or two containers would run. Feishu re-delivers an event to whichever replica the
load balancer picks, and two presses of one button can land on different replicas at the same
moment. Every event must still create one task and get one reply; every double press must complete
its task once; and the replies of both together must stay within Feishu's send quota, which the
fake Open API enforces (5 a second per chat, 50 per app), because the replicas share the limit
through Redis. (With a window counted from when calls left, this test saw 2 of 32 replies refused:
a call counted as gone a second after it left may still arrive later; see adapters/feishu/ratelimit.py.)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.clock import SystemClock
from bot.pipeline import LATER
from storage.redis_cache import RedisCache
from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.quota import SendQuota
from tests.adapters.feishu.signed import BOT_OPEN_ID, ENCRYPT_KEY, VERIFICATION_TOKEN, encrypted_body, signed_headers
from tests.conftest import REDIS_URL, needs_postgres, needs_redis, own_pg_database
from tests.e2e.conftest import button, callback_value
from tests.e2e.test_crash_recovery import Server, _free_port, _scalar_rows
from tests.e2e.test_workers import until
from tests.support import serving

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, needs_postgres, needs_redis]

TENANT = "tenant_two_deployments"
CHATS = ["oc_two_0"]
OWNER = ("ou_two_owner", "赵敏")
EVENTS = 30  # six seconds' worth of one chat's quota, sent by two replicas


@pytest.fixture
def pg_database_url() -> Iterator[str]:
    yield from own_pg_database("tj_two")


def _message(i: int, fake: FakeFeishu) -> dict[str, Any]:
    chat, message_id = CHATS[i % len(CHATS)], f"om_two_{i:03d}"
    fake.chat_of_message[message_id] = chat
    text = f"@_user_1 新建任务 双副本{i:03d} 负责人 @_user_2 截止 明天 交付标准 一页纸"
    return {
        "schema": "2.0",
        "header": {"event_id": f"ev_two_{i:03d}", "event_type": "im.message.receive_v1",
                   "create_time": str(int(time.time() * 1000)), "token": VERIFICATION_TOKEN,
                   "app_id": fake.app_id, "tenant_key": TENANT},
        "event": {
            "sender": {"sender_id": {"open_id": f"ou_two_sender_{i % 5}", "union_id": "", "user_id": ""},
                       "sender_type": "user", "tenant_key": TENANT},
            "message": {
                "message_id": message_id, "chat_id": chat, "chat_type": "group", "message_type": "text",
                "content": json.dumps({"text": text}, ensure_ascii=False),
                "mentions": [
                    {"key": "@_user_1", "id": {"open_id": BOT_OPEN_ID}, "name": "推进", "tenant_key": TENANT},
                    {"key": "@_user_2", "id": {"open_id": OWNER[0]}, "name": OWNER[1], "tenant_key": TENANT},
                ],
            },
        },
    }


def _click(value: dict[str, Any], card_message_id: str, chat: str, n: int) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {"event_id": f"ev_two_click_{n:03d}_{uuid.uuid4().hex[:6]}", "event_type": "card.action.trigger",
                   "create_time": str(int(time.time() * 1_000_000)), "token": VERIFICATION_TOKEN,
                   "app_id": "cli_test_app", "tenant_key": TENANT},
        "event": {
            "operator": {"tenant_key": TENANT, "open_id": OWNER[0], "union_id": "", "user_id": ""},
            "token": f"c-two-{n}-{uuid.uuid4().hex[:6]}",
            "action": {"value": value, "tag": "button", "timezone": "Asia/Shanghai"},
            "host": "im_message",
            "context": {"open_message_id": card_message_id, "open_chat_id": chat},
        },
    }


async def _post(session: aiohttp.ClientSession, port: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = encrypted_body(payload, ENCRYPT_KEY)
    headers = signed_headers(body, ENCRYPT_KEY, int(time.time()), nonce=uuid.uuid4().hex[:16])
    async with session.post(f"http://127.0.0.1:{port}/webhooks/feishu", data=body, headers=headers) as response:
        text = await response.text()
        return response.status, json.loads(text) if text.startswith("{") else {}


@pytest.fixture
async def fake() -> AsyncIterator[FakeFeishu]:
    fake = FakeFeishu()
    fake.bot_open_id = BOT_OPEN_ID
    fake.quota = SendQuota(SystemClock())
    fake.users[OWNER[0]] = {"open_id": OWNER[0], "name": OWNER[1], "department_ids": []}
    for n in range(5):
        fake.users[f"ou_two_sender_{n}"] = {"open_id": f"ou_two_sender_{n}", "name": f"同事{n}", "department_ids": []}
    async with serving(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake


async def test_two_deployments_answer_each_event_once_apply_each_press_once_and_share_the_quota(
    fake: FakeFeishu, tmp_path: Path, pg_database_url: str,
) -> None:
    prefix = f"tjtest:two:{uuid.uuid4().hex[:8]}:"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TUIJIN_")},
        "TUIJIN_DATABASE_URL": pg_database_url, "TUIJIN_REDIS_URL": REDIS_URL, "TUIJIN_REDIS_PREFIX": prefix,
        "TUIJIN_LOG_LEVEL": "WARNING", "TUIJIN_CONSOLE__ENABLED": "false",
        "TUIJIN_FEISHU__APP_ID": fake.app_id, "TUIJIN_FEISHU__APP_SECRET": fake.app_secret,
        "TUIJIN_FEISHU__ENCRYPT_KEY": ENCRYPT_KEY, "TUIJIN_FEISHU__VERIFICATION_TOKEN": VERIFICATION_TOKEN,
        "TUIJIN_FEISHU__API_BASE": fake.base_url,
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    servers = [Server(tmp_path / "a", env, _free_port()), Server(tmp_path / "b", env, _free_port())]
    servers[0].command("db", "upgrade")
    cache = RedisCache(REDIS_URL, prefix=prefix)
    try:
        await asyncio.gather(*(server.start() for server in servers))
        ports = [server.port for server in servers]

        # Half the events go to each replica, so both process and both send; then Feishu re-delivers
        # every event to the other replica while the first is still working on it.
        async with aiohttp.ClientSession() as session:
            answers = await asyncio.gather(*(_post(session, ports[i % 2], _message(i, fake)) for i in range(EVENTS)))
            answers += await asyncio.gather(*(_post(session, ports[1 - i % 2], _message(i, fake))
                                              for i in range(EVENTS)))
        assert all(status == 200 for status, _ in answers), answers

        async def settled() -> bool:
            open_rows = await _scalar_rows(pg_database_url, "SELECT (SELECT count(*) FROM inbox_event WHERE "
                                           "status <> 'done') + (SELECT count(*) FROM outbox_message WHERE "
                                           "status <> 'sent')")
            return open_rows[0][0] == 0 and len(fake.replies) >= EVENTS

        await until(settled, "every event answered", seconds=120)
        titles = Counter(row[0] for row in await _scalar_rows(pg_database_url, "SELECT title FROM task"))
        assert titles == Counter({f"双副本{i:03d}": 1 for i in range(EVENTS)}), servers[0].log.read_text()[-3000:]
        replies = Counter(reply["to"] for reply in fake.replies)
        assert replies == Counter({f"om_two_{i:03d}": 1 for i in range(EVENTS)})
        assert fake.quota is not None
        # Two replicas sending into the same chat stayed within its 5 a second (at most 1 % refused).
        assert fake.quota.refused <= fake.quota.accepted // 100, (fake.quota.refused, fake.quota.accepted)

        # The owner presses 完成 twice on each of ten cards; the presses land on different replicas.
        cards = {reply["to"]: reply for reply in fake.replies}
        presses = []
        for i in range(10):
            card = cards[f"om_two_{i:03d}"]
            value = callback_value(button(card["content"], "完成"))
            chat = CHATS[i % len(CHATS)]
            presses.append([_click(value, card["message_id"], chat, 2 * i + k) for k in (0, 1)])
        async with aiohttp.ClientSession() as session:
            answered = await asyncio.gather(*(asyncio.gather(_post(session, ports[0], pair[0]),
                                                             _post(session, ports[1], pair[1]))
                                              for pair in presses))
        for pair in answered:
            assert [status for status, _ in pair] == [200, 200]
            toasts = sorted(str(answer.get("toast", {}).get("content")) for _, answer in pair)
            # One press completes the task, the other is told it is complete already; a press that
            # found the other still at work may be answered 正在处理 and have its card updated later.
            assert toasts in (["任务已经是完成状态", "已标记完成"], sorted([LATER, "已标记完成"]),
                              sorted([LATER, "任务已经是完成状态"])), pair
        await until(settled, "the presses' card updates to go out", seconds=60)
        completions = Counter(row[0] for row in await _scalar_rows(
            pg_database_url, "SELECT task.title FROM task_event JOIN task ON task.id = task_event.task_id "
                             "WHERE task_event.kind = 'completed'"))
        assert completions == Counter({f"双副本{i:03d}": 1 for i in range(10)}), completions
    finally:
        for server in servers:
            server.stop()
        await cache.delete_prefix()
        await cache.close()
