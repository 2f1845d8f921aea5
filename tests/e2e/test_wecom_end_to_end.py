"""WeCom end to end: encrypted AI bot and app callbacks (and the AI bot's long connection) into the
real app; replies, pushes and card updates out to the recording fake WeCom over real local HTTP.

Each test runs on SQLite, and on PostgreSQL too when TUIJIN_TEST_DATABASE_URL is set (`any_db`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from adapters.wecom import crypto
from adapters.wecom.adapter import WeComAdapter
from bot.app import Services, build_services, create_app
from bot.clock import FrozenClock
from storage.cache import Cache
from storage.db import Database
from storage.tables import OutboxMessage, Task
from tests.adapters.wecom.conftest import wecom_fake
from tests.adapters.wecom.fake_server import FakeWeCom
from tests.support import make_settings, settle

__all__ = ["wecom_fake"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHAT = "wrkSFfCgAAtestgroup0001"
INITIATOR = ("zhangsan", "张三")
OWNER = ("lisi", "李四")
STRANGER = ("wangwu", "王五")
NEW_TASK = "@推进助手 新建任务 海报设计 负责人 @李四 截止 明天"
BOT_TOKEN, BOT_KEY = "botToken123", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
APP_TOKEN, APP_KEY = "QDG6eK", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class WeComE2E:
    def __init__(self, client: TestClient, services: Services, fake: FakeWeCom, clock: FrozenClock) -> None:
        self.client = client
        self.services = services
        self.fake = fake
        self.clock = clock
        self._seq = 0

    def next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:04d}"

    def message(self, content: str = NEW_TASK, *, msgid: str | None = None, sender: tuple[str, str] = INITIATOR,
                chattype: str = "group") -> dict[str, Any]:
        msgid = msgid or self.next_id("msg")
        payload: dict[str, Any] = {
            "msgid": msgid, "create_time": int(self.clock.now().timestamp()), "aibotid": self.fake.bot_id,
            "chattype": chattype, "from": {"userid": sender[0]}, "response_url": self.fake.response_url(msgid),
            "msgtype": "text", "text": {"content": content},
        }
        if chattype == "group":
            payload["chatid"] = CHAT
        return payload

    def click(self, card: dict[str, Any], label: str, *, operator: tuple[str, str]) -> dict[str, Any]:
        return {
            "msgid": self.next_id("event"), "create_time": int(self.clock.now().timestamp()),
            "aibotid": self.fake.bot_id, "chatid": CHAT, "chattype": "group", "from": {"userid": operator[0]},
            "msgtype": "event", "event": {"eventtype": "template_card_event", "template_card_event": {
                "card_type": "button_interaction", "event_key": button(card, label)["key"],
                "task_id": card["task_id"]}},
        }

    def query(self, token: str, encrypted: str, *, age: timedelta = timedelta(0)) -> dict[str, str]:
        timestamp = str(int((self.clock.now() - age).timestamp()))
        nonce = self.next_id("nonce")
        return {"msg_signature": crypto.signature(token, timestamp, nonce, encrypted), "timestamp": timestamp,
                "nonce": nonce}

    async def post(self, payload: dict[str, Any], *, token: str = BOT_TOKEN,
                   age: timedelta = timedelta(0)) -> ClientResponse:
        encrypted = crypto.encrypt(json.dumps(payload, ensure_ascii=False), BOT_KEY, "")
        return await self.client.post("/webhooks/wecom", params=self.query(token, encrypted, age=age),
                                      json={"encrypt": encrypted})

    async def post_app(self, xml: str) -> ClientResponse:
        encrypted = crypto.encrypt(xml, APP_KEY, self.fake.corp_id)
        body = f"<xml><ToUserName><![CDATA[{self.fake.corp_id}]]></ToUserName><AgentID>1000002</AgentID>" \
               f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return await self.client.post("/webhooks/wecom/app", params=self.query(APP_TOKEN, encrypted), data=body)

    async def introduce(self) -> None:
        """The owner talks to the bot first (WeCom names nobody's id in an @, so 李四 must be known by name)."""
        assert (await self.post(self.message("@推进助手 帮助", sender=OWNER))).status == 200
        await settle(self.services)
        self.fake.responses.clear()

    async def create_task(self) -> dict[str, Any]:
        await self.introduce()
        response = await self.post(self.message())
        assert response.status == 200, await response.text()
        await settle(self.services)
        cards = [b["template_card"] for _c, b in self.fake.responses if b.get("msgtype") == "template_card"]
        assert len(cards) == 1, self.fake.responses
        return cards[0]

    async def rows(self, sql: str) -> list[Any]:
        async with self.services.db.session() as session:
            return list((await session.execute(text(sql))).all())

    async def tasks(self) -> list[Task]:
        async with self.services.db.session() as session:
            return list((await session.execute(select(Task).order_by(Task.id))).scalars())  # type: ignore[arg-type]


def button(card: dict[str, Any], label: str) -> dict[str, Any]:
    for item in card.get("button_list", []):
        if item["text"] == label:
            return dict(item)
    raise AssertionError(f"no button {label!r} in {json.dumps(card, ensure_ascii=False)[:400]}")


def decrypt_answer(answer: dict[str, Any]) -> dict[str, Any]:
    crypto.verify(BOT_TOKEN, str(answer["timestamp"]), answer["nonce"], answer["encrypt"], answer["msgsignature"],
                  now=datetime.fromtimestamp(answer["timestamp"], ZoneInfo("UTC")), window=600)
    data: dict[str, Any] = json.loads(crypto.decrypt(answer["encrypt"], BOT_KEY, ""))
    return data


async def push_and_settle(app: WeComE2E, frame: dict[str, Any]) -> None:
    """Push a callback frame and wait until the app has stored it, then let it work."""
    before = len(await app.rows("SELECT id FROM inbox_event"))
    await app.fake.push(frame)
    for _ in range(500):
        if len(await app.rows("SELECT id FROM inbox_event")) > before:
            break
        await asyncio.sleep(0.01)
    await settle(app.services)


AppFactory = Callable[..., Awaitable[WeComE2E]]


@pytest.fixture
async def wecom_app_factory(
    aiohttp_client: Any, any_db: Database, any_cache: Cache, clock: FrozenClock, wecom_fake: FakeWeCom,
) -> AsyncIterator[AppFactory]:
    async def start(**wecom: Any) -> WeComE2E:
        for user_id, name in (INITIATOR, OWNER, STRANGER):
            wecom_fake.users[user_id] = {"userid": user_id, "name": name, "department": [2]}
        settings = make_settings(wecom={
            "corp_id": wecom_fake.corp_id, "agent_id": "1000002", "secret": wecom_fake.secret,
            "token": APP_TOKEN, "encoding_aes_key": APP_KEY, "bot_id": wecom_fake.bot_id,
            "bot_secret": wecom_fake.bot_secret, "bot_token": BOT_TOKEN, "bot_encoding_aes_key": BOT_KEY,
            "api_base": wecom_fake.base_url, "ws_url": wecom_fake.base_url.replace("http", "ws") + "/ws", **wecom,
        })
        services = build_services(settings, clock=clock, db=any_db, cache=any_cache)
        assert isinstance(services.adapters["wecom"], WeComAdapter)  # wired by bot/platforms.py
        test_client = await aiohttp_client(create_app(services, migrate=False, start_worker=False))
        return WeComE2E(test_client, services, wecom_fake, clock)

    yield start


@pytest.fixture
async def wecom_app(wecom_app_factory: AppFactory) -> WeComE2E:
    return await wecom_app_factory()


async def test_url_verification_for_the_bot_and_the_app(wecom_app: WeComE2E) -> None:
    app = wecom_app
    echo = crypto.encrypt("1616140317555161061", BOT_KEY, "")
    response = await app.client.get("/webhooks/wecom", params={**app.query(BOT_TOKEN, echo), "echostr": echo})
    assert (response.status, await response.text()) == (200, "1616140317555161061")
    echo = crypto.encrypt("9876543210", APP_KEY, app.fake.corp_id)
    response = await app.client.get("/webhooks/wecom/app", params={**app.query(APP_TOKEN, echo), "echostr": echo})
    assert (response.status, await response.text()) == (200, "9876543210")
    forged = await app.client.get("/webhooks/wecom", params={**app.query("wrong", echo), "echostr": echo})
    assert forged.status == 401


async def test_at_bot_new_task_creates_the_task_and_its_card_reaches_the_group(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.introduce()
    response = await app.post(app.message(msgid="msgNewTask1"))
    assert (response.status, await response.text()) == (200, "")
    assert app.fake.responses == []  # the answer comes before the work

    await settle(app.services)

    [(code, body)] = app.fake.responses
    assert code == "msgNewTask1" and body["msgtype"] == "template_card"  # the message's own response_url
    card = body["template_card"]
    [task] = await app.tasks()
    assert (task.title, task.status) == ("海报设计", "pending")
    assert card["card_type"] == "button_interaction" and task.code in card["main_title"]["title"]
    assert "@李四" in json.dumps(card, ensure_ascii=False)
    today = app.clock.now().astimezone(SHANGHAI).date()
    assert task.due_at is not None and task.due_at.astimezone(SHANGHAI).date() == today + timedelta(days=1)
    assert button(card, "完成")["key"] == f"tj1|task.done|{task.code}|"
    users = {row[0]: row[1] for row in await app.rows('SELECT platform_user_id, name FROM "user"')}
    assert users[OWNER[0]] == OWNER[1] and users[INITIATOR[0]] == INITIATOR[1]  # names from user/get
    [_help, (status, platform_message_id)] = await app.rows(
        "SELECT status, platform_message_id FROM outbox_message ORDER BY id")
    assert (status, platform_message_id) == ("sent", card["task_id"])


async def test_the_owner_presses_done_and_the_card_is_updated(wecom_app: WeComE2E) -> None:
    app = wecom_app
    card = await app.create_task()

    response = await app.post(app.click(card, "完成", operator=OWNER))

    assert response.status == 200
    answer = decrypt_answer(await response.json())
    assert answer["response_type"] == "update_template_card"
    assert answer["template_card"]["task_id"] == card["task_id"]
    assert "已完成" in json.dumps(answer, ensure_ascii=False)
    assert all(b["text"] != "完成" for b in answer["template_card"].get("button_list", []))
    [task] = await app.tasks()
    assert task.status == "done"
    await settle(app.services)
    assert len(app.fake.responses) == 1  # answered inline, not as another message


async def test_a_strangers_press_is_refused_and_changes_nothing(wecom_app: WeComE2E) -> None:
    app = wecom_app
    card = await app.create_task()

    response = await app.post(app.click(card, "完成", operator=STRANGER))

    assert (response.status, await response.text()) == (200, "")  # no new card: it stays as it was
    [task] = await app.tasks()
    assert task.status == "pending"
    await settle(app.services)
    assert len(app.fake.sent()) == 1


async def test_the_same_msgid_twice_does_nothing_twice(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.introduce()
    payload = app.message(msgid="msgTwice")
    first, second = await asyncio.gather(app.post(payload), app.post(payload))
    assert (first.status, second.status) == (200, 200)
    await settle(app.services)
    assert (await app.post(payload)).status == 200
    await settle(app.services)

    assert len(app.fake.responses) == 1
    assert len(await app.tasks()) == 1


@pytest.mark.parametrize("limit", ["45009", "429"])
async def test_rate_limits_are_honoured_and_the_card_sent_once(wecom_app: WeComE2E, limit: str) -> None:
    app = wecom_app
    await app.introduce()
    app.fake.requests.clear()
    assert (await app.post(app.message())).status == 200
    await app.services.supervisor.idle()
    if limit == "429":
        app.fake.queue_http_429(retry_after="120")
        wait = 120.0
    else:
        app.fake.queue_errcode(45009, "api freq out of limit")
        wait = 60.0

    await app.services.worker.run_once()

    assert app.fake.responses == []
    async with app.services.db.session() as session:
        rows = list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())  # type: ignore[arg-type]
    assert rows[-1].status == "pending"
    assert rows[-1].next_attempt_at - app.clock.now() >= timedelta(seconds=wait)
    await app.services.worker.run_once()
    assert app.fake.responses == []  # not yet due: nothing is sent early

    app.clock.advance(timedelta(seconds=wait + 60))
    await settle(app.services)
    assert len(app.fake.responses) == 1
    assert app.fake.requests.count(("POST", "/cgi-bin/aibot/response")) == 2


async def test_a_scheduled_push_reaches_the_group_through_the_bound_webhook(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.create_task()  # due tomorrow 18:00; 李四 spoke first, so 李四 administers the tenant
    assert (await app.post(app.message("@推进助手 绑定推送 693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
                                       sender=OWNER))).status == 200
    await settle(app.services)
    assert "已绑定本群的推送" in app.fake.responses[-1][1]["markdown"]["content"]
    assert "693a91f6" not in json.dumps(app.fake.responses[-1][1], ensure_ascii=False)  # the key is not echoed
    async with app.services.db.session() as session:
        settings = (await session.execute(text("SELECT settings FROM chat WHERE platform_chat_id = :c"),
                                          {"c": CHAT})).scalar_one()
    assert "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa" in str(settings)

    queued = await app.services.sweeps.run(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    assert queued["due_alerts"] == 1
    await settle(app.services)

    [(key, push)] = app.fake.webhook_messages
    assert key == "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    assert push["msgtype"] == "template_card" and push["template_card"]["card_type"] == "text_notice"
    assert "即将到期" in json.dumps(push, ensure_ascii=False) and "button_list" not in push["template_card"]


async def test_a_group_with_no_way_to_push_waits(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.create_task()
    await app.services.sweeps.run(datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    await app.services.worker.run_once()
    async with app.services.db.session() as session:
        rows = list((await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())  # type: ignore[arg-type]
    [push] = [r for r in rows if "即将到期" in json.dumps(r.payload, ensure_ascii=False)]
    assert push.status == "pending" and "no route" in (push.last_error or "")
    assert push.next_attempt_at - app.clock.now() >= timedelta(minutes=59)
    # The admins are told directly, once, what would let the bot reach the group.
    await settle(app.services)
    [notice] = [m for m in app.fake.app_messages if "绑定推送" in json.dumps(m, ensure_ascii=False)]
    assert notice["touser"] == OWNER[0] and "无法向群" in notice["text"]["content"]
    app.clock.advance(timedelta(hours=2))
    await app.services.worker.run_once()
    await settle(app.services)
    assert len([m for m in app.fake.app_messages if "绑定推送" in json.dumps(m, ensure_ascii=False)]) == 1


async def test_a_non_admin_cannot_bind_the_push(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.create_task()  # 李四 is the admin; 张三 is not
    assert (await app.post(app.message("@推进助手 绑定推送 693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"))).status == 200
    await settle(app.services)
    assert "管理员" in json.dumps(app.fake.responses[-1][1], ensure_ascii=False)
    assert "693a91f6" not in str(await app.rows("SELECT settings FROM chat"))


@pytest.mark.parametrize(("signing", "status"), [
    ({"token": "not-the-token"}, 401),
    ({"age": timedelta(minutes=11)}, 401),
])
async def test_forged_or_stale_callbacks_are_refused_before_anything_happens(
    wecom_app: WeComE2E, signing: dict[str, Any], status: int,
) -> None:
    app = wecom_app
    assert (await app.post(app.message(), **signing)).status == status
    unsigned = await app.client.post("/webhooks/wecom", json={"encrypt": crypto.encrypt("{}", BOT_KEY, "")})
    assert unsigned.status == 401
    assert (await app.client.post("/webhooks/wecom/app", data="<xml><Encrypt>x</Encrypt></xml>")).status == 401
    await settle(app.services)
    assert app.fake.sent() == [] and app.fake.tokens_issued == 0
    assert await app.rows("SELECT id FROM inbox_event") == []


async def test_a_signed_malformed_payload_is_400(wecom_app: WeComE2E) -> None:
    app = wecom_app
    assert (await app.post({"msgid": "x"})).status == 400
    encrypted = crypto.encrypt("[1, 2", BOT_KEY, "")
    response = await app.client.post("/webhooks/wecom", params=app.query(BOT_TOKEN, encrypted),
                                     json={"encrypt": encrypted})
    assert response.status == 400


async def test_the_app_answers_one_to_one_and_updates_its_card_with_the_response_code(wecom_app: WeComE2E) -> None:
    app = wecom_app
    card = await app.create_task()
    [task] = await app.tasks()
    now = int(app.clock.now().timestamp())
    xml = (f"<xml><ToUserName><![CDATA[{app.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[lisi]]>"
           f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[任务 {task.code}]]></Content><MsgId>7000000000000000001</MsgId>"
           f"<AgentID>1000002</AgentID></xml>")
    response = await app.post_app(xml)
    assert (response.status, await response.text()) == (200, "")
    await settle(app.services)
    [sent] = app.fake.app_messages
    assert sent["touser"] == "lisi" and sent["agentid"] == 1000002 and sent["msgtype"] == "template_card"
    app_card = sent["template_card"]
    assert app_card["task_id"] != card["task_id"]

    click = (f"<xml><ToUserName><![CDATA[{app.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[lisi]]>"
             f"</FromUserName><CreateTime>{now + 5}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
             f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{button(app_card, '完成')['key']}]]>"
             f"</EventKey><TaskId><![CDATA[{app_card['task_id']}]]></TaskId><CardType><![CDATA[button_interaction]]>"
             f"</CardType><ResponseCode><![CDATA[rc-click-1]]></ResponseCode><AgentID>1000002</AgentID></xml>")
    response = await app.post_app(click)
    assert response.status == 200
    adapter = app.services.adapters["wecom"]
    assert isinstance(adapter, WeComAdapter)
    await settle(app.services)
    await adapter.stop()  # drains the background card update
    [update] = app.fake.card_updates
    assert update["response_code"] == "rc-click-1" and update["template_card"]["task_id"] == app_card["task_id"]
    assert "已完成" in json.dumps(update, ensure_ascii=False)
    [task] = await app.tasks()
    assert task.status == "done"


async def test_long_connection_end_to_end(wecom_app_factory: AppFactory) -> None:
    app = await wecom_app_factory(mode="longconn")
    fake = app.fake
    await fake.wait_connections(1)
    subscribe = await fake.next_client_frame()
    assert subscribe["cmd"] == "aibot_subscribe"
    assert subscribe["body"] == {"bot_id": fake.bot_id, "secret": fake.bot_secret}
    assert (await app.client.post("/webhooks/wecom", data=b"{}")).status in (404, 405)  # no bot route

    intro = app.message("@推进助手 帮助", sender=OWNER)
    intro.pop("response_url")
    await push_and_settle(app, {"cmd": "aibot_msg_callback", "headers": {"req_id": "req-intro"}, "body": intro})
    await fake.next_client_frame()  # the help reply

    body = app.message()
    body.pop("response_url")
    await push_and_settle(app, {"cmd": "aibot_msg_callback", "headers": {"req_id": "req-new-task"}, "body": body})
    reply = await fake.next_client_frame()
    assert reply["cmd"] == "aibot_respond_msg" and reply["headers"]["req_id"] == "req-new-task"
    card = reply["body"]["template_card"]
    assert card["card_type"] == "button_interaction"

    await fake.push({"cmd": "aibot_event_callback", "headers": {"req_id": "req-click"},
                     "body": app.click(card, "完成", operator=OWNER)})
    update = await fake.next_client_frame()
    assert update["cmd"] == "aibot_respond_update_msg" and update["headers"]["req_id"] == "req-click"
    assert update["body"]["response_type"] == "update_template_card"
    assert update["body"]["template_card"]["task_id"] == card["task_id"]
    assert "已完成" in json.dumps(update, ensure_ascii=False)
    [task] = await app.tasks()
    assert task.status == "done"

