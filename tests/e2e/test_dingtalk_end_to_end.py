"""DingTalk end to end: signed HTTP callbacks (and the Stream) into the real app; messages and
interactive cards out to the recording fake OpenAPI over real local HTTP.

Each test runs on SQLite, and on PostgreSQL too when TUIJIN_TEST_DATABASE_URL is set (`any_db`);
on the in-process cache, and Redis too when TUIJIN_TEST_REDIS_URL is set (`any_cache`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from adapters.dingtalk.adapter import DingTalkAdapter
from adapters.dingtalk.client import THROTTLED_WAIT
from adapters.dingtalk.signature import expected_sign
from bot.app import Services, build_services, create_app
from bot.clock import FrozenClock
from storage.cache import Cache
from storage.db import Database
from storage.tables import OutboxMessage, Task
from tests.adapters.dingtalk.conftest import dingtalk_fake
from tests.adapters.dingtalk.fake_server import FakeDingTalk
from tests.support import make_settings, settle

__all__ = ["dingtalk_fake"]  # the fixture, reused from the adapter tests

SHANGHAI = ZoneInfo("Asia/Shanghai")
CORP = "ding9f50b15bccd16741"
CHAT = "cidG5M1Fo7ZRSqYrPqDsh2fqA=="
BOT_USER = "$:LWCP_v1:$botBotBotBotBotBotBot=="
INITIATOR = ("manager4220", "张三")
OWNER = ("0420516337781", "李四")
STRANGER = ("1122334455", "王五")
NEW_TASK = " 新建任务 海报设计 负责人 @李四 截止 明天"


class DingTalkE2E:
    def __init__(self, client: TestClient, services: Services, fake: FakeDingTalk, clock: FrozenClock) -> None:
        self.client = client
        self.services = services
        self.fake = fake
        self.clock = clock
        self._seq = 0

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:04d}"

    def message(self, content: str = NEW_TASK, *, msg_id: str | None = None, sender: tuple[str, str] = INITIATOR,
                mentions: tuple[tuple[str, str], ...] = (OWNER,), msgtype: str = "text",
                conversation_type: str = "2") -> dict[str, Any]:
        now_ms = int(self.clock.now().timestamp() * 1000)
        payload: dict[str, Any] = {
            "conversationId": CHAT if conversation_type == "2" else "cidp2p" + sender[0],
            "atUsers": [{"dingtalkId": BOT_USER}, *({"dingtalkId": f"$:LWCP_v1:${uid}", "staffId": uid}
                                                   for uid, _name in mentions)],
            "chatbotCorpId": CORP, "chatbotUserId": BOT_USER, "msgId": msg_id or self.next_id("msg"),
            "senderNick": sender[1], "isAdmin": False, "senderStaffId": sender[0],
            "sessionWebhookExpiredTime": now_ms + 3_600_000, "createAt": now_ms, "senderCorpId": CORP,
            "conversationType": conversation_type, "senderId": f"$:LWCP_v1:${sender[0]}",
            "isInAtList": True, "sessionWebhook": "https://oapi.dingtalk.invalid/robot/sendBySession?session=x",
            "robotCode": self.fake.client_id, "msgtype": msgtype,
        }
        if conversation_type == "2":
            payload["conversationTitle"] = "Q4新品宣传项目群"
        if msgtype == "text":
            payload["text"] = {"content": content}
        else:
            payload["content"] = {"downloadCode": "mIofN681YE3f/+m+NntqpT"}
        return payload

    def click(self, card: dict[str, Any], label: str, *, operator: tuple[str, str]) -> dict[str, Any]:
        return {
            "extension": "{}", "corpId": CORP, "spaceType": "IM", "userIdType": 1, "type": "actionCallback",
            "userId": operator[0], "spaceId": CHAT, "outTrackId": card["outTrackId"],
            "content": json.dumps({"cardPrivateData": {"actionIds": [button(card["card"], label)["id"]],
                                                       "params": {}}}),
        }

    def headers(self, *, secret: str | None = None, age: timedelta = timedelta(0)) -> dict[str, str]:
        timestamp = str(int((self.clock.now() - age).timestamp() * 1000))
        return {"timestamp": timestamp, "sign": expected_sign(timestamp, secret or self.fake.client_secret),
                "Content-Type": "application/json"}

    async def post(self, payload: dict[str, Any], *, path: str = "/webhooks/dingtalk",
                   **signing: Any) -> ClientResponse:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return await self.client.post(path, data=body, headers=self.headers(**signing))

    async def press(self, card: dict[str, Any], label: str, *, operator: tuple[str, str]) -> ClientResponse:
        return await self.post(self.click(card, label, operator=operator), path="/webhooks/dingtalk/card")

    async def create_task(self) -> dict[str, Any]:
        response = await self.post(self.message())
        assert response.status == 200, await response.text()
        await settle(self.services)
        assert len(self.fake.cards) == 1, self.fake.sent()
        return self.fake.cards[0]

    async def rows(self, sql: str) -> list[Any]:
        async with self.services.db.session() as session:
            return list((await session.execute(text(sql))).all())

    async def tasks(self) -> list[Task]:
        async with self.services.db.session() as session:
            return list((await session.execute(select(Task).order_by(Task.id))).scalars())  # type: ignore[arg-type]


def button(card: dict[str, Any], label: str) -> dict[str, Any]:
    for content in card["contents"]:
        for action in content.get("actions", []):
            if action["label"]["text"] == label:
                return dict(action)
    raise AssertionError(f"no button {label!r} in {json.dumps(card, ensure_ascii=False)[:400]}")


def shown(card_answer: dict[str, Any]) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(card_answer["cardData"]["cardParamMap"]["sys_full_json_obj"])
    return card


AppFactory = Callable[..., Awaitable[DingTalkE2E]]


@pytest.fixture
async def dingtalk_app_factory(
    aiohttp_client: Any, any_db: Database, any_cache: Cache, clock: FrozenClock, dingtalk_fake: FakeDingTalk,
) -> AsyncIterator[AppFactory]:
    async def start(**dingtalk: Any) -> DingTalkE2E:
        settings = make_settings(dingtalk={
            "client_id": dingtalk_fake.client_id, "client_secret": dingtalk_fake.client_secret,
            "api_base": dingtalk_fake.base_url, "mode": "http", **dingtalk,
        })
        services = build_services(settings, clock=clock, db=any_db, cache=any_cache)
        assert isinstance(services.adapters["dingtalk"], DingTalkAdapter)  # wired by bot/platforms.py
        test_client = await aiohttp_client(create_app(services, migrate=False, start_worker=False))
        return DingTalkE2E(test_client, services, dingtalk_fake, clock)

    yield start


@pytest.fixture
async def dingtalk_app(dingtalk_app_factory: AppFactory) -> DingTalkE2E:
    return await dingtalk_app_factory()


async def test_at_bot_new_task_creates_the_task_and_its_card_reaches_the_group(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    response = await app.post(app.message(msg_id="msgNewTask1"))
    assert response.status == 200
    assert app.fake.sent() == []  # the ack comes before the work

    await settle(app.services)

    [sent] = app.fake.cards
    assert (sent["openConversationId"], sent["conversationType"], sent["robotCode"]) == (CHAT, 1, app.fake.client_id)
    assert sent["cardTemplateId"] == "StandardCard"
    card = sent["card"]
    [task] = await app.tasks()
    assert (task.title, task.status) == ("海报设计", "pending")
    assert task.code in card["header"]["title"]["text"] and "海报设计" in card["header"]["title"]["text"]
    assert "@李四" in json.dumps(card, ensure_ascii=False)  # the owner by the name DingTalk showed
    today = app.clock.now().astimezone(SHANGHAI).date()
    assert task.due_at is not None and task.due_at.astimezone(SHANGHAI).date() == today + timedelta(days=1)
    assert button(card, "完成")["id"] == f"tj1|task.done|{task.code}|"
    users = {row[0]: row[1] for row in await app.rows('SELECT platform_user_id, name FROM "user"')}
    assert users[OWNER[0]] == OWNER[1] and users[INITIATOR[0]] == INITIATOR[1]
    assert BOT_USER not in users
    [(status, platform_message_id)] = await app.rows("SELECT status, platform_message_id FROM outbox_message")
    assert (status, platform_message_id) == ("sent", sent["outTrackId"])


async def test_the_owner_presses_done_and_the_card_is_updated(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    sent = await app.create_task()

    response = await app.press(sent, "完成", operator=OWNER)

    assert response.status == 200
    card = shown(await response.json())
    assert "已完成" in json.dumps(card, ensure_ascii=False)
    assert all(action["label"]["text"] != "完成" for c in card["contents"] for action in c.get("actions", []))
    [task] = await app.tasks()
    assert task.status == "done"
    await settle(app.services)
    assert len(app.fake.sent()) == 1  # answered inline, not as another message


async def test_a_slow_press_updates_the_card_through_the_api(dingtalk_app_factory: AppFactory) -> None:
    app = await dingtalk_app_factory()
    sent = await app.create_task()
    app.services.settings.card_inline_budget = 0.0  # the click takes longer than DingTalk waits

    response = await app.press(sent, "完成", operator=OWNER)
    assert response.status == 200
    await settle(app.services)

    [update] = app.fake.card_updates
    assert update["outTrackId"] == sent["outTrackId"]
    assert "已完成" in json.dumps(update["card"], ensure_ascii=False)
    assert len(app.fake.cards) == 1


async def test_a_strangers_press_is_refused_and_changes_nothing(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    sent = await app.create_task()

    response = await app.press(sent, "完成", operator=STRANGER)

    assert response.status == 200
    assert await response.json() == {}  # no new card: the card stays as it was
    [task] = await app.tasks()
    assert task.status == "pending"
    await settle(app.services)
    assert len(app.fake.cards) == 1 and app.fake.card_updates == [] and app.fake.group_messages == []
    # DingTalk shows no toast: the refusal reaches the presser in their one-to-one chat with the bot.
    adapter = app.services.adapters["dingtalk"]
    assert isinstance(adapter, DingTalkAdapter)
    await adapter.drain_refusals()
    [told] = app.fake.single_messages
    assert told["userIds"] == [STRANGER[0]] and "只有负责人" in told["msgParam"]["content"]


async def test_a_refusal_that_cannot_be_told_costs_the_press_nothing(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    sent = await app.create_task()
    app.fake.queue_error(503, "systemError", "busy")  # the one-to-one send is refused
    response = await app.press(sent, "完成", operator=STRANGER)
    assert response.status == 200 and await response.json() == {}
    adapter = app.services.adapters["dingtalk"]
    assert isinstance(adapter, DingTalkAdapter)
    await adapter.drain_refusals()
    assert app.fake.single_messages == [] and app.fake.card_updates == []
    [task] = await app.tasks()
    assert task.status == "pending"


async def test_the_same_msg_id_twice_does_nothing_twice(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    payload = app.message(msg_id="msgTwice")
    first, second = await asyncio.gather(app.post(payload), app.post(payload))
    assert (first.status, second.status) == (200, 200)
    await settle(app.services)
    assert (await app.post(payload)).status == 200
    await settle(app.services)

    assert len(app.fake.cards) == 1
    assert len(await app.tasks()) == 1
    assert len(await app.rows("SELECT id FROM outbox_message")) == 1


@pytest.mark.parametrize("limit", ["429", "130101"])
async def test_rate_limits_are_honoured_and_the_card_sent_once(dingtalk_app: DingTalkE2E, limit: str) -> None:
    app = dingtalk_app
    assert (await app.post(app.message())).status == 200
    await app.services.supervisor.idle()
    if limit == "429":
        app.fake.queue_http_429(retry_after="120")
        wait = 120.0
    else:
        app.fake.queue_throttled()
        wait = THROTTLED_WAIT

    await app.services.worker.run_once()

    assert app.fake.cards == []
    async with app.services.db.session() as session:
        [row] = (await session.execute(select(OutboxMessage))).scalars()
    assert row.status == "pending"
    assert row.next_attempt_at - app.clock.now() >= timedelta(seconds=wait)
    await app.services.worker.run_once()  # not yet due: nothing is sent early
    assert app.fake.cards == []

    app.clock.advance(timedelta(seconds=wait + 60))
    await settle(app.services)
    assert len(app.fake.cards) == 1
    sends = [r for r in app.fake.requests if r == ("POST", "/v1.0/im/interactiveCards/send")]
    assert len(sends) == 2


async def test_a_picture_gets_a_short_text_answer(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    response = await app.post(app.message(msgtype="picture", conversation_type="1", mentions=()))
    assert response.status == 200
    await settle(app.services)
    [reply] = app.fake.single_messages
    assert reply["userIds"] == [INITIATOR[0]] and reply["msgKey"] == "sampleText"
    assert "只支持文字" in reply["msgParam"]["content"]
    assert await app.tasks() == []


async def test_one_to_one_text_is_answered_by_batch_send(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    assert (await app.post(app.message("帮助", conversation_type="1", mentions=()))).status == 200
    await settle(app.services)
    sent = app.fake.sent()
    assert len(sent) == 1
    assert sent[0].get("userIds") == [INITIATOR[0]] or sent[0].get("receiverUserIdList") == [INITIATOR[0]]


@pytest.mark.parametrize(("signing", "status"), [
    ({"secret": "not-the-secret"}, 401),
    ({"age": timedelta(hours=1, minutes=1)}, 401),
])
async def test_forged_or_stale_requests_are_refused_before_anything_happens(
    dingtalk_app: DingTalkE2E, signing: dict[str, Any], status: int
) -> None:
    app = dingtalk_app
    response = await app.post(app.message(), **signing)
    assert response.status == status
    response = await app.post(app.click({"outTrackId": "tj-x", "card": {"contents": [{"actions": [
        {"label": {"text": "完成"}, "id": "tj1|task.done|X|"}]}]}}, "完成", operator=OWNER),
        path="/webhooks/dingtalk/card", **signing)
    assert response.status == status
    unsigned = await app.client.post("/webhooks/dingtalk", json=app.message())
    assert unsigned.status == 401
    await settle(app.services)
    assert app.fake.sent() == [] and app.fake.tokens_issued == 0
    assert await app.rows("SELECT id FROM inbox_event") == []


async def test_no_secret_configured_refuses_everything(dingtalk_app_factory: AppFactory) -> None:
    app = await dingtalk_app_factory(client_secret="")
    response = await app.post(app.message(), secret="anything")
    assert response.status == 401
    assert await app.rows("SELECT id FROM inbox_event") == []


async def test_a_signed_malformed_body_is_400(dingtalk_app: DingTalkE2E) -> None:
    app = dingtalk_app
    response = await app.client.post("/webhooks/dingtalk", data=b"[1,2", headers=app.headers())
    assert response.status == 400
    broken = {k: v for k, v in app.message().items() if k != "msgId"}
    assert (await app.post(broken)).status == 400
    assert (await app.post({"outTrackId": "x"}, path="/webhooks/dingtalk/card")).status == 400


async def test_stream_mode_end_to_end(dingtalk_app_factory: AppFactory) -> None:
    app = await dingtalk_app_factory(mode="stream")
    fake = app.fake
    await fake.wait_connections(1)
    assert (await app.client.post("/webhooks/dingtalk", data=b"{}")).status == 404  # no HTTP routes in this mode

    await fake.push({"specVersion": "1.0", "type": "CALLBACK",
                     "headers": {"topic": "/v1.0/im/bot/messages/get", "messageId": "frame-msg-1",
                                 "contentType": "application/json"},
                     "data": json.dumps(app.message(), ensure_ascii=False)})
    ack = await fake.next_client_frame()
    assert (ack["code"], ack["headers"]["messageId"], ack["message"]) == (200, "frame-msg-1", "OK")
    await settle(app.services)
    [sent] = fake.cards

    await fake.push({"specVersion": "1.0", "type": "CALLBACK",
                     "headers": {"topic": "/v1.0/card/instances/callback", "messageId": "frame-card-1",
                                 "contentType": "application/json"},
                     "data": json.dumps(app.click(sent, "完成", operator=OWNER))})
    answer = await fake.next_client_frame()
    assert answer["code"] == 200 and answer["headers"] == {"contentType": "application/json",
                                                           "messageId": "frame-card-1"}
    card = shown(json.loads(answer["data"])["response"])
    assert "已完成" in json.dumps(card, ensure_ascii=False)
    [task] = await app.tasks()
    assert task.status == "done"
