"""Feishu end to end: signed, encrypted requests into the real app; cards out to the fake Open API.

Each test runs on SQLite, and on PostgreSQL too when TUIJIN_TEST_DATABASE_URL is set (`any_db`).
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.adapters.feishu.fake_server import lark_frame
from tests.adapters.feishu.signed import ENCRYPT_KEY, VERIFICATION_TOKEN, encrypted_body
from tests.support import settle

from .conftest import (
    BOT_NAME,
    CHAT,
    INITIATOR,
    OWNER,
    STRANGER,
    AppFactory,
    FeishuE2E,
    button,
    callback_value,
    walk,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
IM_PATHS = ("/open-apis/im/", "/open-apis/interactive/")


def card_text(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False)


def im_requests(app: FeishuE2E) -> list[tuple[str, str]]:
    return [r for r in app.fake.requests if r[1].startswith(IM_PATHS)]


# 1 ------------------------------------------------------------------------------------------------

async def test_new_task_message_is_acked_fast_and_answered_with_a_task_card(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    payload = app.message(message_id="om_original_1")
    response = await app.post(payload)
    assert response.status == 200
    assert await response.json() == {}
    # The ack comes before the work: nothing is delivered until the outbox runs (speed is in bench/).
    assert app.sent() == []

    await settle(app.services)

    sent = app.sent()
    assert len(sent) == 1, sent
    reply = sent[0]
    assert reply["msg_type"] == "interactive"
    assert reply.get("to") == "om_original_1" or reply.get("receive_id") == CHAT
    card = reply["content"]
    assert card["schema"] == "2.0"
    assert "海报设计" in card["header"]["title"]["content"]
    assert OWNER[1] in card_text(card)  # the owner, by name
    assert f"<at id={OWNER[0]}></at>" in card_text(card)  # and @-mentioned so Feishu notifies them
    assert "3张海报" in card_text(card)

    [task] = await app.tasks()
    assert (task.title, task.status, task.delivery_standard) == ("海报设计", "pending", "3张海报")
    assert task.code in card["header"]["title"]["content"]
    today = app.clock.now().astimezone(SHANGHAI).date()
    assert task.due_at is not None and task.due_at.astimezone(SHANGHAI).date() == today + timedelta(days=1)
    assert callback_value(button(card, "完成")) == {"tj": "1", "act": "task.done", "ref": task.code, "arg": ""}

    # The bot's own mention (its open_id from /bot/v3/info) addressed us; it is nobody's task role.
    assert ("GET", "/open-apis/bot/v3/info") in app.fake.requests
    users = {row[0]: row[1] for row in await app.rows('SELECT platform_user_id, name FROM "user"')}
    assert app.fake.bot_open_id not in users
    assert users[OWNER[0]] == OWNER[1] and users[INITIATOR[0]] == INITIATOR[1]
    assert BOT_NAME not in users.values()


# 2 ------------------------------------------------------------------------------------------------

async def test_owner_presses_done_and_the_response_carries_toast_and_updated_card(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    reply = await app.create_task()
    value = callback_value(button(reply["content"], "完成"))

    response = await app.post(app.click(value, operator=OWNER, card_message_id=reply["message_id"]))

    assert response.status == 200
    body = await response.json()
    assert body["toast"]["type"] == "success"
    assert body["toast"]["content"]
    assert body["card"]["type"] == "raw"
    card = body["card"]["data"]
    assert card["schema"] == "2.0"
    assert "已完成" in card_text(card)
    assert not [n for n in _buttons(card) if n["text"]["content"] == "完成"]  # nothing left to press
    [task] = await app.tasks()
    assert task.status == "done"

    await settle(app.services)
    assert len(app.sent()) == 1  # the answer went inline, not as another message


def _buttons(card: dict) -> list[dict]:
    return [n for n in walk(card) if n.get("tag") == "button"]


# 3 ------------------------------------------------------------------------------------------------

async def test_a_click_by_someone_unrelated_is_refused_and_changes_nothing(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    reply = await app.create_task()
    value = callback_value(button(reply["content"], "完成"))

    response = await app.post(app.click(value, operator=STRANGER, card_message_id=reply["message_id"]))

    assert response.status == 200
    body = await response.json()
    assert body["toast"]["type"] == "error"
    assert body["toast"]["content"]
    assert "card" not in body
    [task] = await app.tasks()
    assert task.status == "pending"
    await settle(app.services)
    assert len(app.sent()) == 1 and app.fake.patches == []


# 4 ------------------------------------------------------------------------------------------------

async def test_a_forged_signature_is_refused_before_anything_happens(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    # Start-up looked up the bot's own identity; the forged event must add nothing to that.
    requests_before, tokens_before = list(app.fake.requests), app.fake.tokens_issued
    response = await app.post(app.message(), sign_with="not-the-encrypt-key")

    assert response.status == 401
    await settle(app.services)
    assert app.fake.requests == requests_before and app.fake.tokens_issued == tokens_before
    assert app.sent() == []
    assert await app.tasks() == []
    assert await app.rows("SELECT id FROM inbox_event") == []


# 5 ------------------------------------------------------------------------------------------------

async def test_a_redelivered_event_creates_one_task_and_one_card(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    payload = app.message(event_id="ev_redelivered", message_id="om_once")

    first, second = await asyncio.gather(app.post(payload), app.post(payload))
    assert (first.status, second.status) == (200, 200)
    await settle(app.services)
    # Feishu retries after 15 s: by then the first delivery has long been processed.
    third = await app.post(payload)
    assert third.status == 200
    await settle(app.services)

    assert len(app.sent()) == 1
    assert len(await app.tasks()) == 1
    assert len(await app.rows("SELECT id FROM outbox_message")) == 1


# 6 ------------------------------------------------------------------------------------------------

async def test_a_rate_limited_send_waits_for_the_reset_and_is_delivered_once(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    response = await app.post(app.message(message_id="om_limited"))
    assert response.status == 200
    await app.services.supervisor.idle()  # the card is queued; directory lookups are done
    assert app.sent() == []

    app.fake.queue_rate_limited(1, reset="2")  # the next Open API call answers 429 / 99991400
    await settle(app.services)

    assert app.sleep.calls == [2.0]  # waited exactly the x-ogw-ratelimit-reset seconds
    attempts = [r for r in app.fake.requests if r == ("POST", "/open-apis/im/v1/messages/om_limited/reply")]
    assert len(attempts) == 2  # the limited one, then the one that went through
    sent = app.sent()
    assert len(sent) == 1 and sent[0]["msg_type"] == "interactive"
    [(status, platform_message_id)] = await app.rows("SELECT status, platform_message_id FROM outbox_message")
    assert (status, platform_message_id) == ("sent", sent[0]["message_id"])


# 7 ------------------------------------------------------------------------------------------------

async def test_a_non_text_message_gets_a_short_text_answer(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    # In a direct chat: an image cannot @ the bot, so in a group it is not addressed to us.
    payload = app.message(message_type="image", content={"image_key": "img_v2_041b28e3-5680-48c2-9af2"},
                          message_id="om_image", chat_type="p2p")
    response = await app.post(payload)
    assert response.status == 200
    await settle(app.services)

    [reply] = app.sent()
    assert reply["msg_type"] == "text"
    assert reply.get("to") == "om_image"
    assert "只支持文字" in reply["content"]["text"]
    assert len(reply["content"]["text"]) <= 40
    assert await app.tasks() == []


async def test_an_unknown_event_type_is_acknowledged_and_ignored(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    payload = {
        "schema": "2.0",
        "header": {**app.message()["header"], "event_type": "im.chat.member.bot.added_v1"},
        "event": {"chat_id": CHAT, "operator_id": {"open_id": INITIATOR[0]}, "external": False, "name": "Q4新品宣传"},
    }
    response = await app.post(payload)
    assert response.status == 200
    assert await response.json() == {}
    await settle(app.services)
    assert app.sent() == [] and im_requests(app) == []
    assert await app.rows("SELECT id FROM outbox_message") == []


# 8 ------------------------------------------------------------------------------------------------

async def test_url_verification_echoes_the_challenge(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    requests_before = list(app.fake.requests)  # start-up's identity lookup
    challenge = {"challenge": "ajls384kdjx98XX", "token": VERIFICATION_TOKEN, "type": "url_verification"}
    # Feishu sends it encrypted and unsigned when an encrypt key is set.
    response = await app.client.post("/webhooks/feishu", data=encrypted_body(challenge, ENCRYPT_KEY),
                                     headers={"Content-Type": "application/json"})
    assert response.status == 200
    assert await response.json() == {"challenge": "ajls384kdjx98XX"}

    forged = {**challenge, "token": "someone-else"}
    response = await app.client.post("/webhooks/feishu", data=encrypted_body(forged, ENCRYPT_KEY),
                                     headers={"Content-Type": "application/json"})
    assert response.status == 401
    assert app.fake.requests == requests_before


# 9 ------------------------------------------------------------------------------------------------

async def test_long_connection_end_to_end(feishu_app_factory: AppFactory) -> None:
    app = await feishu_app_factory(mode="longconn")
    fake = app.fake
    await fake.wait_connections(1)
    assert (await app.client.post("/webhooks/feishu", data=b"{}")).status == 404  # no webhook in this mode

    event = app.message(message_id="om_over_ws")
    event["header"]["token"] = ""  # long-connection events arrive in plaintext, unsigned
    await fake.push(lark_frame(event, kind="event", message_id="frame-ev-1", trace_id="trace-ev-1"))
    ack = await fake.next_client_frame()
    assert {h.key: h.value for h in ack.headers}["message_id"] == "frame-ev-1"
    assert json.loads(ack.payload) == {"code": 200}

    await settle(app.services)
    [reply] = app.sent()
    assert reply["msg_type"] == "interactive" and reply.get("to") == "om_over_ws"
    card = reply["content"]
    assert card["schema"] == "2.0" and "海报设计" in card["header"]["title"]["content"]
    value = callback_value(button(card, "完成"))

    click = app.click(value, operator=OWNER, card_message_id=reply["message_id"])
    await fake.push(lark_frame(click, kind="card", message_id="frame-card-1", trace_id="trace-card-1", seq_id=3))
    answer = await fake.next_client_frame()
    assert {h.key: h.value for h in answer.headers}["message_id"] == "frame-card-1"
    response = json.loads(answer.payload)
    assert response["code"] == 200
    body = json.loads(base64.b64decode(response["data"]))
    assert body["toast"]["type"] == "success"
    assert body["card"]["type"] == "raw" and body["card"]["data"]["schema"] == "2.0"
    assert "已完成" in card_text(body["card"]["data"])
    [task] = await app.tasks()
    assert task.status == "done"


async def test_an_open_api_outage_does_not_delay_the_ack(feishu_app: FeishuE2E) -> None:
    """Feishu's own API is down: the event is still acknowledged and the task made; the reply waits."""
    app = feishu_app
    app.fake.queue_server_error(1000)
    response = await app.post(app.message())
    assert response.status == 200
    await app.services.supervisor.idle()
    assert len(await app.tasks()) == 1
    await app.services.worker.run_once()
    assert app.sent() == []
    app.fake.forced.clear()
    app.clock.advance(timedelta(minutes=10))
    await settle(app.services)
    assert len(app.sent()) == 1


async def test_the_organisation_comes_from_the_feishu_directory(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    app.fake.users[OWNER[0]]["leader_user_id"] = INITIATOR[0]
    await app.create_task()  # 张三 (initiator) and 李四 (owner) are looked up in the contact API
    response = await app.post(app.message("@_user_1 组织"))
    assert response.status == 200
    await settle(app.services)
    card = json.dumps(app.sent()[-1]["content"], ensure_ascii=False)
    assert "市场部" in card and "设计部" in card
    assert "李四 → 上级 张三" in card
    assert "管理员：张三" in card  # the first person to use the bot administers the tenant


async def test_goals_and_raci_through_feishu(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    await app.create_task()  # XZB20261101, owner 李四, initiator 张三
    for text in ("@_user_1 目标 Q4新品上市 截止 12月31日", "@_user_1 KR O2026001 新品曝光量 目标值 100万次 当前 40万次",
                 "@_user_1 关联 XZB20261101 O2026001", "@_user_1 协作人 XZB20261101 @_user_2"):
        assert (await app.post(app.message(text))).status == 200
        await settle(app.services)
    replies = [json.dumps(r["content"], ensure_ascii=False) for r in app.fake.replies]
    tree = replies[-2]  # the answer to 关联: the goal's tree
    # Goal: mean(KR 40%, the linked task's 0%) = 20%.
    assert "O2026001 Q4新品上市" in tree and "20%" in tree and "40/100万次" in tree
    raci = replies[-1]
    assert "设为协作人" in raci and f"<at id={OWNER[0]}></at>" in raci
    # The person named is also told directly, once.
    [told] = [m for m in app.fake.messages if m["receive_id_type"] == "open_id"]
    assert told["receive_id"] == OWNER[0] and "协作人" in told["content"]["text"]


async def test_feishu_tenant_managers_administer_the_bot(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    app.fake.users[STRANGER[0]]["is_tenant_manager"] = True
    await app.create_task()  # 张三 is first, so the bot's admin
    for sender, text in ((OWNER, "@_user_1 设置部门 设计部 负责人 @_user_2"),
                         (STRANGER, "@_user_1 设置部门 设计部 负责人 @_user_2")):
        assert (await app.post(app.message(text, sender=sender))).status == 200
        await settle(app.services)
    answers = [json.dumps(m["content"], ensure_ascii=False) for m in app.sent()[-2:]]
    assert "只有管理员" in answers[0]  # 李四 is neither the first user nor a Feishu admin
    assert "负责人" in answers[1] and "只有管理员" not in answers[1]  # 王五 manages the Feishu tenant
    admins = {row[0] for row in await app.rows('SELECT platform_user_id FROM "user" WHERE is_admin')}
    assert admins == {INITIATOR[0], STRANGER[0]}


async def test_a_three_level_goal_tree_and_unknown_names_through_feishu(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    await app.create_task()  # XZB20261101, owner 李四; 张三 is the admin
    for text in ("@_user_1 子任务 XZB20261101 海报初稿 负责人 @_user_2", "@_user_1 进度 XZB20261101-01 60%",
                 "@_user_1 目标 Q4新品上市 截止 12月31日", "@_user_1 阶段目标 O2026001 物料准备",
                 "@_user_1 关联 XZB20261101 O2026001-S1", "@_user_1 目标树 O2026001",
                 "@_user_1 组织 设计组", "@_user_1 设置上级 @_user_2 王老五"):
        assert (await app.post(app.message(text))).status == 200
        await settle(app.services)
    replies = [json.dumps(r["content"], ensure_ascii=False) for r in app.fake.replies]
    tree = replies[-3]
    # 目标 → 阶段目标 → 任务 → 子任务, progress rolled up: the subtask's 60% is its parent's, the stage's, the goal's.
    for code in ("O2026001 Q4新品上市", "O2026001-S1 物料准备", "XZB20261101", "XZB20261101-01"):
        assert code in tree
    assert tree.count("60%") >= 3
    assert "没有找到部门「设计组」" in replies[-2] and "设计部" in replies[-2]
    assert "王老五" in replies[-1] and "@" in replies[-1]  # an unknown person: told how to name them
