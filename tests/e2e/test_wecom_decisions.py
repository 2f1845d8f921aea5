"""Decisions on cards through WeCom: encrypted AI bot and app callbacks in, cards to the fake WeCom.

The seed's request: 李四 (first to talk to the bot, so admin) heads 设计部 and binds the group's robot
webhook; 张三 asks 设计部 for material. WeCom's template cards offer buttons but no free text, so a
refusal's reason is typed as a message (`拒绝 XZB… 原因 …`), as the card says.

In URL-callback mode the AI bot answers each message once (its response_url): the head's card goes
to the head through the app (buttons; a click gives a single-use ResponseCode that updates it) and
to the group through its bound webhook (a notice without buttons, saying what to send). A card the
platform cannot update any more (an AI bot card, a webhook notice, an app card whose code was
spent) is followed by a new card showing the outcome. Over the long connection the group's copy has
buttons and a click is answered with the replaced card. The blocker and change presses are encrypted
and signed by wechatpy, playing WeCom's part, and the click's encrypted answer is opened by it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse

from adapters.wecom.adapter import WeComAdapter
from adapters.wecom.payloads import xml_fields
from tests.support import settle

from .test_wecom_end_to_end import (
    APP_KEY,
    APP_TOKEN,
    BOT_KEY,
    BOT_TOKEN,
    CHAT,
    INITIATOR,
    OWNER,
    STRANGER,
    AppFactory,
    WeComE2E,
    button,
    decrypt_answer,
    push_and_settle,
    wecom_app,
    wecom_app_factory,
    wecom_fake,
)

__all__ = ["wecom_app", "wecom_app_factory", "wecom_fake"]  # fixtures reused from the end-to-end tests

HOOK = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
REQUEST = "发起协作 Q4海报 部门 设计部 截止 12月15日 背景 新品上市 目标 完成主视觉 交付物 3张海报"


def text_of(node: Any) -> str:
    return json.dumps(node, ensure_ascii=False)


def labels(card: dict[str, Any]) -> list[str]:
    return [b["text"] for b in card.get("button_list", [])]


async def say(app: WeComE2E, text: str, sender: tuple[str, str] = INITIATOR) -> None:
    response = await app.post(app.message("@推进助手 " + text, sender=sender))
    assert response.status == 200, await response.text()
    await settle(app.services)


def app_click(app: WeComE2E, card: dict[str, Any], key: str, *, operator: tuple[str, str], at: int,
              code: str) -> str:
    """A press on an app card as WeCom's XML callback reports it (before encryption)."""
    return (f"<xml><ToUserName><![CDATA[{app.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[{operator[0]}]]>"
            f"</FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[{key}]]></EventKey>"
            f"<TaskId><![CDATA[{card['task_id']}]]></TaskId><CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{code}]]></ResponseCode><AgentID>1000002</AgentID></xml>")


async def press_app(app: WeComE2E, xml: str) -> None:
    response = await app.post_app(xml)
    assert (response.status, await response.text()) == (200, "")
    await settle(app.services)
    adapter = app.services.adapters["wecom"]
    assert isinstance(adapter, WeComAdapter)
    await adapter.drain()  # the card update the click started in the background


def notices(app: WeComE2E, words: str) -> list[dict[str, Any]]:
    """Cards pushed to the group through its robot webhook."""
    return [b["template_card"] for key, b in app.fake.webhook_messages
            if key == HOOK and b.get("msgtype") == "template_card" and words in text_of(b)]


async def decisions(app: WeComE2E) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await app.rows("SELECT kind, state, outcome, answer FROM decision ORDER BY id")]


async def ask_design(app: WeComE2E) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The request: its overview (the reply), the head's card through the app and the group's notice."""
    await app.introduce()
    await say(app, f"绑定推送 {HOOK}", sender=OWNER)
    await say(app, "设置部门 设计部 负责人 @李四", sender=OWNER)
    app.fake.responses.clear()
    await say(app, REQUEST)
    [(_code, reply)] = app.fake.responses
    overview = reply["template_card"]
    assert "已向 设计部 发起协作请求" in text_of(overview)
    [sent] = [m for m in app.fake.app_messages if m.get("msgtype") == "template_card"]
    assert sent["touser"] == OWNER[0]
    direct = sent["template_card"]
    assert direct["card_type"] == "button_interaction" and labels(direct) == ["接受", "拒绝", "转交"]
    [notice] = notices(app, "协作请求（设计部）")
    assert notice["card_type"] == "text_notice" and "button_list" not in notice
    assert "也可以发送：接受 XZB20261101；拒绝 XZB20261101 原因 ……" in text_of(notice)
    return overview, direct, notice


async def test_a_collaboration_request_and_its_review_decided_on_wecom_cards(wecom_app: WeComE2E) -> None:
    app = wecom_app
    _overview, direct, _notice = await ask_design(app)
    accept = button(direct, "接受")["key"]
    now = int(app.clock.now().timestamp())

    # Someone else's press (the server re-reads who may decide) and a forged token change nothing.
    await press_app(app, app_click(app, direct, accept, operator=STRANGER, at=now, code="rc-stranger"))
    forged = accept[:-16] + "0000000000000000"
    await press_app(app, app_click(app, direct, forged, operator=OWNER, at=now + 1, code="rc-forged"))
    assert await decisions(app) == [("collaboration", "open", None, None)]
    assert app.fake.card_updates == [] and len(await app.tasks()) == 1

    click = app_click(app, direct, accept, operator=OWNER, at=now + 2, code="rc-accept")
    await press_app(app, click)
    [update] = app.fake.card_updates
    assert update["response_code"] == "rc-accept" and update["template_card"]["task_id"] == direct["task_id"]
    assert "结果：已接受" in text_of(update) and labels(update["template_card"]) == []
    # The group's notice cannot be updated: a new one shows the outcome; so does the overview.
    [decided] = notices(app, "结果：已接受")
    assert "button_list" not in decided
    assert notices(app, "1/1 个部门已接受")
    assert await decisions(app) == [("collaboration", "decided", "accept", None)]

    # WeCom re-delivers the same callback: applied once, nothing more is sent.
    sent_before, updates_before = len(app.fake.sent()), len(app.fake.card_updates)
    await press_app(app, click)
    assert (len(app.fake.sent()), len(app.fake.card_updates)) == (sent_before, updates_before)
    [request, part] = await app.tasks()
    assert (request.status, part.code, part.title) == ("in_progress", "XZB20261101-01", "Q4海报（设计部）")

    app.fake.responses.clear()
    await say(app, "提交验收 XZB20261101-01 交付物 https://pan.example.com/poster 自检 3张海报已按规范完成",
              sender=OWNER)
    [(_code, reply)] = app.fake.responses
    review = reply["template_card"]
    assert "待验收" in text_of(review) and labels(review) == ["通过", "不通过", "转交"]
    # On the AI bot's card in the group: 李四 may not accept his own delivery.
    refused = await app.post(app.click(review, "通过", operator=OWNER))
    assert (refused.status, await refused.text()) == (200, "")
    passing = app.click(review, "通过", operator=INITIATOR)
    response = await app.post(passing)
    answer = decrypt_answer(await response.json())
    assert answer["response_type"] == "update_template_card" and answer["template_card"]["task_id"] == review["task_id"]
    assert "结果：已通过" in text_of(answer) and labels(answer["template_card"]) == []
    await settle(app.services)
    # The same callback delivered again (same msgid): nothing happens twice.
    sent_before = len(app.fake.sent())
    again = await app.post(passing)
    assert (again.status, await again.text()) == (200, "")
    await settle(app.services)
    assert len(app.fake.sent()) == sent_before
    assert [r[:3] for r in await decisions(app)] == [
        ("collaboration", "decided", "accept"), ("acceptance", "decided", "pass")]
    [request, part] = await app.tasks()
    assert part.status == "done" and request.progress == 100


async def test_a_refusal_is_typed_as_the_card_says(wecom_app: WeComE2E) -> None:
    app = wecom_app
    _overview, direct, _notice = await ask_design(app)
    now = int(app.clock.now().timestamp())

    # 拒绝 needs a reason and the card has no field: the card says what to send, and waits.
    await press_app(app, app_click(app, direct, button(direct, "拒绝")["key"], operator=OWNER, at=now,
                                   code="rc-reject"))
    [prompted] = app.fake.card_updates
    assert prompted["response_code"] == "rc-reject"
    assert "拒绝需要写明原因，请发送：拒绝 XZB20261101 原因 ……" in text_of(prompted)
    assert labels(prompted["template_card"]) == ["接受", "拒绝", "转交"]
    assert await decisions(app) == [("collaboration", "open", None, None)]

    app.fake.app_messages.clear()
    await say(app, "拒绝 XZB20261101 原因 人力饱和 可启动 12月20日", sender=OWNER)
    assert await decisions(app) == [("collaboration", "decided", "reject", "人力饱和")]
    # The head's card: its click's code was spent on the prompt, so the outcome comes as a new card
    # to the head (through the app, where the card was). In the group the answer's reply shows it:
    # the group's notice, which cannot be updated, is not followed by a second card saying the same.
    [to_head] = [m for m in app.fake.app_messages if m.get("msgtype") == "template_card"]
    assert to_head["touser"] == OWNER[0] and "结果：已拒绝" in text_of(to_head) and "人力饱和" in text_of(to_head)
    assert labels(to_head["template_card"]) == []
    assert "结果：已拒绝" in text_of(app.fake.responses[-1][1])
    assert notices(app, "结果：已拒绝") == [] and notices(app, "已拒绝：人力饱和")  # the overview does follow
    told = [b for key, b in app.fake.webhook_messages if "拒绝了协作请求" in text_of(b)]
    assert told and "可启动时间：12月20日" in text_of(told[0])
    unsent = await app.rows("SELECT idempotency_key, last_error FROM outbox_message WHERE status != 'sent'")
    assert unsent == []
    [request] = await app.tasks()
    assert request.status == "pending"


async def frame_for(app: WeComE2E, rid: str) -> dict[str, Any]:
    """The next frame the app sends with this req_id (waits for it; skips the others)."""
    while True:
        frame = await app.fake.next_client_frame()
        if frame.get("headers", {}).get("req_id") == rid:
            return frame


async def send_frame(app: WeComE2E, rid: str, body: dict[str, Any]) -> None:
    body.pop("response_url", None)  # the long connection answers by req_id instead
    cmd = "aibot_event_callback" if body["msgtype"] == "event" else "aibot_msg_callback"
    await push_and_settle(app, {"cmd": cmd, "headers": {"req_id": rid}, "body": body})


def pushed(app: WeComE2E, chat: str, words: str) -> list[dict[str, Any]]:
    """Cards the app pushed over the long connection (aibot_send_msg) to a chat or person."""
    return [f["body"]["template_card"] for f in app.fake.frames
            if f.get("cmd") == "aibot_send_msg" and f["body"].get("chatid") == chat and words in text_of(f["body"])]


async def test_over_the_long_connection_the_groups_card_has_buttons(wecom_app_factory: AppFactory) -> None:
    app = await wecom_app_factory(mode="longconn")
    await app.fake.wait_connections(1)
    await send_frame(app, "req-intro", app.message("@推进助手 帮助", sender=OWNER))
    await send_frame(app, "req-dept", app.message("@推进助手 设置部门 设计部 负责人 @李四", sender=OWNER))
    await send_frame(app, "req-ask", app.message(f"@推进助手 {REQUEST}"))
    [group] = pushed(app, CHAT, "协作请求（设计部）")
    [direct] = pushed(app, OWNER[0], "协作请求（设计部）")
    assert labels(group) == labels(direct) == ["接受", "拒绝", "转交"]
    accept = button(group, "接受")["key"]

    await send_frame(app, "req-stranger", app.click(group, "接受", operator=STRANGER))
    forged = app.click(group, "接受", operator=OWNER)
    forged["event"]["template_card_event"]["event_key"] = accept[:-16] + "0000000000000000"
    await send_frame(app, "req-forged", forged)
    assert await decisions(app) == [("collaboration", "open", None, None)]

    await send_frame(app, "req-accept", app.click(group, "接受", operator=OWNER))
    update = await frame_for(app, "req-accept")
    assert update["cmd"] == "aibot_respond_update_msg"
    assert update["body"]["template_card"]["task_id"] == group["task_id"]
    assert "结果：已接受" in text_of(update) and labels(update["body"]["template_card"]) == []
    # Neither refused press was answered with a card (each was fully processed before the next).
    assert not [f for f in app.fake.frames if f.get("headers", {}).get("req_id") in ("req-stranger", "req-forged")]
    # A card pushed over the long connection cannot be updated later: the head gets the outcome as a
    # new card, and the group a new overview.
    [to_head] = pushed(app, OWNER[0], "结果：已接受")
    assert labels(to_head) == []
    assert pushed(app, CHAT, "1/1 个部门已接受")

    # A second press on the head's own copy (a new callback): told it is decided, nothing twice.
    await send_frame(app, "req-again", app.click(direct, "接受", operator=OWNER))
    again = await frame_for(app, "req-again")
    assert "结果：已接受" in text_of(again) and labels(again["body"]["template_card"]) == []
    [request, part] = await app.tasks()
    assert (request.status, part.code) == ("in_progress", "XZB20261101-01")
    assert await decisions(app) == [("collaboration", "decided", "accept", None)]

    await send_frame(app, "req-submit", app.message(
        "@推进助手 提交验收 XZB20261101-01 交付物 https://pan.example.com/poster 自检 已完成", sender=OWNER))
    [review] = [f["body"]["template_card"] for f in app.fake.frames
                if f.get("headers", {}).get("req_id") == "req-submit" and "待验收" in text_of(f)]
    await send_frame(app, "req-fail", app.click(review, "不通过", operator=INITIATOR))
    prompted = await frame_for(app, "req-fail")
    assert "不通过需要写明意见" in text_of(prompted)
    await send_frame(app, "req-fail-typed", app.message("@推进助手 不通过 XZB20261101-01 意见 第三张海报尺寸不对"))
    await send_frame(app, "req-resubmit", app.message(
        "@推进助手 提交验收 XZB20261101-01 交付物 https://pan.example.com/poster2 自检 已改尺寸", sender=OWNER))
    [review] = [f["body"]["template_card"] for f in app.fake.frames
                if f.get("headers", {}).get("req_id") == "req-resubmit" and "待验收" in text_of(f)]
    await send_frame(app, "req-pass", app.click(review, "通过", operator=INITIATOR))
    passed = await frame_for(app, "req-pass")
    assert "结果：已通过" in text_of(passed)
    assert [r[:3] for r in await decisions(app)] == [
        ("collaboration", "decided", "accept"), ("acceptance", "decided", "fail"), ("acceptance", "decided", "pass")]
    [request, part] = await app.tasks()
    assert part.status == "done" and request.progress == 100



def peer(token: str, key: str, receive_id: str) -> Any:
    """wechatpy's WeCom crypto, playing WeCom's part: it encrypts and signs what WeCom sends."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    return WeChatCrypto(token, key, receive_id)


async def post_as_wecom(app: WeComE2E, payload: dict[str, Any]) -> ClientResponse:
    """An AI bot callback encrypted and signed by wechatpy; the JSON envelope WeCom posts."""
    envelope = xml_fields(peer(BOT_TOKEN, BOT_KEY, "").encrypt_message(
        json.dumps(payload, ensure_ascii=False), app.next_id("nonce"), str(int(app.clock.now().timestamp()))))
    query = {"msg_signature": envelope["MsgSignature"], "timestamp": envelope["TimeStamp"], "nonce": envelope["Nonce"]}
    return await app.client.post("/webhooks/wecom", params=query, json={"encrypt": envelope["Encrypt"]})


async def press_app_as_wecom(app: WeComE2E, xml: str) -> None:
    """An app callback encrypted and signed by wechatpy, in the XML envelope WeCom posts."""
    envelope = xml_fields(peer(APP_TOKEN, APP_KEY, app.fake.corp_id).encrypt_message(
        xml, app.next_id("nonce"), str(int(app.clock.now().timestamp()))))
    query = {"msg_signature": envelope["MsgSignature"], "timestamp": envelope["TimeStamp"], "nonce": envelope["Nonce"]}
    body = (f"<xml><ToUserName><![CDATA[{app.fake.corp_id}]]></ToUserName><AgentID>1000002</AgentID>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    response = await app.client.post("/webhooks/wecom/app", params=query, data=body)
    assert (response.status, await response.text()) == (200, "")
    await settle(app.services)
    adapter = app.services.adapters["wecom"]
    assert isinstance(adapter, WeComAdapter)
    await adapter.drain()


async def card_answer(response: ClientResponse) -> dict[str, Any]:
    """The click's encrypted answer, checked and decrypted by wechatpy."""
    answer = await response.json()
    plain = peer(BOT_TOKEN, BOT_KEY, "").decrypt_message(
        {"Encrypt": answer["encrypt"]}, answer["msgsignature"], str(answer["timestamp"]), answer["nonce"])
    data: dict[str, Any] = json.loads(plain)
    assert data["response_type"] == "update_template_card"
    card: dict[str, Any] = data["template_card"]
    return card


def reply_card(app: WeComE2E, words: str) -> dict[str, Any]:
    [card] = [b["template_card"] for _c, b in app.fake.responses if words in text_of(b)]
    return card


def app_card(app: WeComE2E, to: str, words: str) -> dict[str, Any]:
    [card] = [m["template_card"] for m in app.fake.app_messages
              if m["touser"] == to and m.get("msgtype") == "template_card" and words in text_of(m)]
    return card


async def test_a_blocker_and_a_vetoed_change_on_wecom(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.create_task()  # XZB20261101: 张三 initiates, 李四 (the admin) owns
    await say(app, f"绑定推送 {HOOK}", sender=OWNER)
    await say(app, "卡点 XZB20261101 主视觉素材未到 影响 海报延期", sender=OWNER)
    blocker = reply_card(app, "已上报卡点 #1")
    assert "请 @张三 处理" in text_of(blocker) and labels(blocker) == ["已知悉", "已解决", "转交"]
    direct = app_card(app, INITIATOR[0], "卡点 #1")

    refused = await post_as_wecom(app, app.click(blocker, "已知悉", operator=STRANGER))
    assert (refused.status, await refused.text()) == (200, "")
    acked = await card_answer(await post_as_wecom(app, app.click(blocker, "已知悉", operator=INITIATOR)))
    assert acked["task_id"] == blocker["task_id"] and labels(acked) == ["已解决", "转交"]
    assert "张三 已知悉，处理中" in text_of(acked)
    await settle(app.services)

    now = int(app.clock.now().timestamp())
    await press_app_as_wecom(app, app_click(app, direct, button(direct, "已解决")["key"], operator=INITIATOR,
                                            at=now, code="rc-resolve"))
    [prompted] = [u for u in app.fake.card_updates if u["response_code"] == "rc-resolve"]
    assert "已解决需要写明方案" in text_of(prompted)
    app.fake.app_messages.clear()
    await say(app, "已解决 XZB20261101 方案 已催供应商今天提供")
    assert "结果：已解决" in text_of(reply_card(app, "方案：已催供应商今天提供"))
    # 张三's copy: its code was spent on the prompt, so the outcome reaches 张三 as a new card.
    assert labels(app_card(app, INITIATOR[0], "结果：已解决")) == []
    # The group's AI bot card cannot be updated, and the reply above shows the outcome: no second card.
    assert notices(app, "结果：已解决") == []
    told = [b for key, b in app.fake.webhook_messages if "已解决：已催供应商今天提供" in text_of(b)]
    assert told and told[0]["text"]["mentioned_list"] == [OWNER[0]]  # a real @ through the webhook

    await say(app, "变更 XZB20261101 截止 12月20日 原因 素材延误", sender=OWNER)
    # The request is answered in the group; the card to decide goes to 张三 (buttons, through the app)
    # and to the group (a notice through the webhook, saying what to send).
    assert "变更 #1" in text_of(app.fake.responses[-1][1])
    [notice] = notices(app, "也可以发送：同意 XZB20261101；驳回 XZB20261101 原因 ……")
    assert "button_list" not in notice
    direct = app_card(app, INITIATOR[0], "变更 #1")
    assert labels(direct) == ["同意", "驳回", "转交"]
    await press_app_as_wecom(app, app_click(app, direct, button(direct, "驳回")["key"], operator=INITIATOR,
                                            at=now + 60, code="rc-veto"))
    [prompted] = [u for u in app.fake.card_updates if u["response_code"] == "rc-veto"]
    assert "驳回需要写明原因" in text_of(prompted)
    await say(app, "驳回 XZB20261101 原因 上市日期不能推迟")
    [task] = await app.tasks()
    assert task.due_at is not None and task.due_at.day != 20
    assert [r for r in await decisions(app) if r[0] == "change"] == [("change", "decided", "veto", "上市日期不能推迟")]
    assert await app.rows("SELECT idempotency_key FROM outbox_message WHERE status != 'sent'") == []


async def test_two_presses_at_once_accept_the_delivery_once(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.create_task()  # XZB20261101: 张三 initiates (and so accepts the delivery), 李四 owns
    await say(app, "提交验收 XZB20261101 交付物 https://pan.example.com/poster 自检 已完成", sender=OWNER)
    review = reply_card(app, "待验收")
    first, second = await asyncio.gather(post_as_wecom(app, app.click(review, "通过", operator=INITIATOR)),
                                         post_as_wecom(app, app.click(review, "通过", operator=INITIATOR)))
    for response in (first, second):  # one applied it, the other was told it is decided: both show it
        assert "结果：已通过" in text_of(await card_answer(response))
    await settle(app.services)
    [task] = await app.tasks()
    assert task.status == "done"
    assert len(await app.rows("SELECT id FROM task_event WHERE kind = 'acceptance_pass'")) == 1


async def test_a_refusal_typed_to_the_app_updates_the_heads_card_in_place(wecom_app: WeComE2E) -> None:
    app = wecom_app
    _overview, direct, _notice = await ask_design(app)
    now = int(app.clock.now().timestamp())
    typed = (f"<xml><ToUserName><![CDATA[{app.fake.corp_id}]]></ToUserName><FromUserName><![CDATA[{OWNER[0]}]]>"
             f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
             f"<Content><![CDATA[拒绝 XZB20261101 原因 人力饱和]]></Content><MsgId>7000000000000000042</MsgId>"
             f"<AgentID>1000002</AgentID></xml>")
    app.fake.app_messages.clear()
    await press_app_as_wecom(app, typed)  # 李四 answers in his one-to-one chat with the app
    assert await decisions(app) == [("collaboration", "decided", "reject", "人力饱和")]
    # The card sent to 李四 still has the code its send returned: it is updated in place.
    [update] = app.fake.card_updates
    assert update["response_code"] == "rc-send-1" and update["template_card"]["task_id"] == direct["task_id"]
    assert "结果：已拒绝" in text_of(update) and labels(update["template_card"]) == []
    [answered] = [m for m in app.fake.app_messages if m["touser"] == OWNER[0]]  # the reply, in his chat
    assert "结果：已拒绝" in text_of(answered)
    assert notices(app, "结果：已拒绝")  # the group's notice is followed by one showing the outcome
    assert await app.rows("SELECT idempotency_key FROM outbox_message WHERE status != 'sent'") == []


async def test_a_change_handed_over_by_message_and_approved_by_the_deputy_on_wecom(wecom_app: WeComE2E) -> None:
    app = wecom_app
    await app.create_task()  # XZB20261101: 张三 initiates (and so confirms 李四's change), 李四 owns
    await say(app, "帮助", sender=STRANGER)  # 王五 talks to the bot, so his name is known
    await say(app, "变更 XZB20261101 截止 12月20日 原因 素材延误", sender=OWNER)
    direct = app_card(app, INITIATOR[0], "变更 #1")
    assert labels(direct) == ["同意", "驳回", "转交"]

    await say(app, "转交 XZB20261101 @王五")
    assert any("已转交给 王五，回复时限" in text_of(b) for _c, b in app.fake.responses)
    handed = app_card(app, STRANGER[0], "变更 #1")
    assert "请 @王五 处理" in text_of(handed) and labels(handed) == ["同意", "驳回", "转交"]

    now = int(app.clock.now().timestamp())
    # 张三's old card carries the old token: his 同意 changes nothing.
    await press_app_as_wecom(app, app_click(app, direct, button(direct, "同意")["key"], operator=INITIATOR,
                                            at=now, code="rc-old"))
    assert [r for r in await decisions(app) if r[0] == "change"] == [("change", "open", None, None)]
    await press_app_as_wecom(app, app_click(app, handed, button(handed, "同意")["key"], operator=STRANGER,
                                            at=now + 60, code="rc-deputy"))
    assert [r for r in await decisions(app) if r[0] == "change"] == [("change", "decided", "approve", None)]
    [task] = await app.tasks()
    assert task.due_at is not None and task.due_at.day == 20
