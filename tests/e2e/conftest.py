"""End to end: the real app (aiohttp test client, real database) with Feishu pointed at the
recording fake Open API over real local HTTP. Nothing of ours is replaced; the only seam is the
Feishu client's injected sleep, which records waits and moves the frozen clock instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from adapters.feishu.adapter import FeishuAdapter
from adapters.feishu.client import FeishuClient
from bot.app import Services, build_services, create_app
from bot.clock import FrozenClock
from storage.cache import Cache
from storage.db import Database
from storage.tables import Task
from tests.adapters.feishu.conftest import RecordingSleep, feishu_fake, recorded_sleep
from tests.adapters.feishu.fake_server import FakeFeishu
from tests.adapters.feishu.signed import BOT_OPEN_ID, ENCRYPT_KEY, VERIFICATION_TOKEN, encrypted_body, signed_headers
from tests.support import make_settings, settle

__all__ = ["feishu_fake", "recorded_sleep"]  # fixtures reused from the adapter tests

TENANT = "2ca1d211f64f6438"
CHAT = "oc_5ce6d572455d361153b7xx51da133945"
INITIATOR = ("ou_84aad35d084aa403a838cf73ee18467", "张三")
OWNER = ("ou_7d8a6e6df7621556ce0d21922b676706", "李四")
STRANGER = ("ou_0000stranger00000000000000000001", "王五")
BOT_NAME = "推进助手"
NEW_TASK_TEXT = "@_user_1 新建任务 海报设计 负责人 @_user_2 截止 明天 交付标准 3张海报"


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a JSON tree, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def button(card: dict[str, Any], label: str) -> dict[str, Any]:
    for node in walk(card):
        if node.get("tag") == "button" and node.get("text", {}).get("content") == label:
            return node
    raise AssertionError(f"no button {label!r} in card {json.dumps(card, ensure_ascii=False)[:400]}")


def callback_value(btn: dict[str, Any]) -> dict[str, Any]:
    values = [b["value"] for b in btn.get("behaviors", []) if b.get("type") == "callback"]
    assert len(values) == 1, btn
    value: dict[str, Any] = values[0]
    return value


class FeishuE2E:
    """One running app and the fake Feishu it talks to, with Feishu-shaped request builders."""

    def __init__(self, client: TestClient, services: Services, fake: FakeFeishu, clock: FrozenClock,
                 sleep: RecordingSleep) -> None:
        self.client = client
        self.services = services
        self.fake = fake
        self.clock = clock
        self.sleep = sleep
        self._seq = 0

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:04d}"

    def _header(self, event_type: str, event_id: str | None, *, micros: bool = False) -> dict[str, Any]:
        now_ms = int(self.clock.now().timestamp() * 1000)
        return {
            "event_id": event_id or self.next_id("ev_e2e_"), "event_type": event_type,
            "create_time": str(now_ms * 1000 if micros else now_ms), "token": VERIFICATION_TOKEN,
            "app_id": self.fake.app_id, "tenant_key": TENANT,
        }

    def message(
        self, text_: str = NEW_TASK_TEXT, *, event_id: str | None = None, message_id: str | None = None,
        sender: tuple[str, str] = INITIATOR, message_type: str = "text", content: dict[str, Any] | None = None,
        chat_type: str = "group",
    ) -> dict[str, Any]:
        mentions: list[dict[str, Any]] = [
            {"key": "@_user_1", "id": {"open_id": self.fake.bot_open_id, "union_id": "on_bot", "user_id": ""},
             "name": BOT_NAME, "tenant_key": TENANT},
            {"key": "@_user_2", "id": {"open_id": OWNER[0], "union_id": "on_owner", "user_id": "g77dd9a1"},
             "name": OWNER[1], "tenant_key": TENANT},
        ]
        message: dict[str, Any] = {
            "message_id": message_id or self.next_id("om_in_"),
            "chat_id": CHAT if chat_type == "group" else "oc_p2p_" + sender[0][3:], "chat_type": chat_type,
            "message_type": message_type, "content": json.dumps(content or {"text": text_}, ensure_ascii=False),
        }
        if message_type == "text":
            message["mentions"] = [m for m in mentions if m["key"] in text_]
        return {
            "schema": "2.0",
            "header": self._header("im.message.receive_v1", event_id),
            "event": {
                "sender": {"sender_id": {"open_id": sender[0], "union_id": "on_" + sender[0][3:], "user_id": ""},
                           "sender_type": "user", "tenant_key": TENANT},
                "message": message,
            },
        }

    def click(self, value: dict[str, Any], *, operator: tuple[str, str], card_message_id: str,
              event_id: str | None = None) -> dict[str, Any]:
        return {
            "schema": "2.0",
            "header": self._header("card.action.trigger", event_id, micros=True),
            "event": {
                "operator": {"tenant_key": TENANT, "open_id": operator[0], "union_id": "on_" + operator[0][3:],
                             "user_id": ""},
                "token": "c-" + self.next_id("update-token-"),
                "action": {"value": value, "tag": "button", "timezone": "Asia/Shanghai"},
                "host": "im_message",
                "context": {"open_message_id": card_message_id, "open_chat_id": CHAT},
            },
        }

    def headers(self, body: bytes, *, sign_with: str = ENCRYPT_KEY) -> dict[str, str]:
        return signed_headers(body, sign_with, int(self.clock.now().timestamp()), nonce=self.next_id("nonce-"))

    async def post(self, payload: dict[str, Any], *, sign_with: str = ENCRYPT_KEY) -> ClientResponse:
        body = encrypted_body(payload, ENCRYPT_KEY)
        return await self.client.post("/webhooks/feishu", data=body, headers=self.headers(body, sign_with=sign_with))

    def sent(self) -> list[dict[str, Any]]:
        """Everything the fake received as a new message, replies and sends alike."""
        return [*self.fake.replies, *self.fake.messages]

    async def create_task(self) -> dict[str, Any]:
        """Send the new-task message, let the app work, and return the card reply the fake got."""
        response = await self.post(self.message())
        assert response.status == 200, await response.text()
        await settle(self.services)
        cards = [m for m in self.sent() if m["msg_type"] == "interactive"]
        assert len(cards) == 1, self.sent()
        return cards[0]

    async def rows(self, sql: str) -> list[Any]:
        async with self.services.db.session() as session:
            return list((await session.execute(text(sql))).all())

    async def tasks(self) -> list[Task]:
        async with self.services.db.session() as session:
            return list((await session.execute(select(Task).order_by(Task.id))).scalars())  # type: ignore[arg-type]


AppFactory = Callable[..., Awaitable[FeishuE2E]]


def seed_directory(fake: FakeFeishu) -> None:
    """The contact API knows the people (so directory sync has names) and the bot's own id."""
    fake.bot_open_id = BOT_OPEN_ID
    fake.departments = {"od_market": "市场部", "od_design": "设计部"}
    for (open_id, name), department in ((INITIATOR, "od_market"), (OWNER, "od_design"), (STRANGER, "od_design")):
        fake.users[open_id] = {"open_id": open_id, "name": name, "department_ids": [department]}


@pytest.fixture
async def feishu_app_factory(
    aiohttp_client: Any, any_db: Database, any_cache: Cache, clock: FrozenClock, feishu_fake: FakeFeishu,
    recorded_sleep: RecordingSleep,
) -> AsyncIterator[AppFactory]:
    """The app on each database (SQLite; PostgreSQL in CI) and cache (in-process; Redis in CI)."""
    async def start(**feishu: Any) -> FeishuE2E:
        seed_directory(feishu_fake)
        settings = make_settings(feishu={
            "app_id": feishu_fake.app_id, "app_secret": feishu_fake.app_secret, "encrypt_key": ENCRYPT_KEY,
            "verification_token": VERIFICATION_TOKEN, "api_base": feishu_fake.base_url, **feishu,
        })
        services = build_services(settings, clock=clock, db=any_db, cache=any_cache)
        # The real adapter and client, built as build_adapters does, but with the recording sleep.
        client = FeishuClient(settings.feishu, services.cache, clock, sleep=recorded_sleep)
        services.adapters["feishu"] = FeishuAdapter(settings.feishu, services.pipeline, services.cache, clock,
                                                    client=client)
        test_client = await aiohttp_client(create_app(services, migrate=False, start_worker=False))
        return FeishuE2E(test_client, services, feishu_fake, clock, recorded_sleep)

    yield start


@pytest.fixture
async def feishu_app(feishu_app_factory: AppFactory) -> FeishuE2E:
    return await feishu_app_factory()
