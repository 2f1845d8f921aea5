"""The console's JSON API through aiohttp's test client, on the real app and database."""

from __future__ import annotations

from tests.support import settle, start_app

CHAT = "oc_q4promo"
NEW_TASK = "新建任务 海报设计 负责人 @赵磊 截止 明天 优先级 高 交付标准 3张海报"


async def send(client, text, user="u_zhangmin", chat=CHAT, **extra):
    response = await client.post("/console/api/messages", json={"chat_id": chat, "user_id": user, "text": text,
                                                                 **extra})
    return response


async def messages(client, chat=CHAT, after=0):
    response = await client.get("/console/api/messages", params={"chat_id": chat, "after": after})
    assert response.status == 200
    return (await response.json())["messages"]


def field(card, label):
    for element in card["elements"]:
        if element["type"] == "fields":
            for key, value in element["items"]:
                if key == label:
                    return value
    raise AssertionError(f"no field {label} in {card['title']}")


def button(card, label):
    for element in card["elements"]:
        if element["type"] == "buttons":
            for b in element["buttons"]:
                if b["label"] == label:
                    return b
    raise AssertionError(f"no button {label}")


async def test_directory_lists_people_and_chats(aiohttp_client, sqlite_db, clock):
    client, _ = await start_app(aiohttp_client, sqlite_db, clock)
    data = await (await client.get("/console/api/directory")).json()
    assert {"id": "u_zhaolei", "name": "赵磊", "department": "设计部"} in data["users"]
    assert {"id": CHAT, "name": "Q4新品宣传项目群", "kind": "group"} in data["chats"]
    assert {"id": "u_lina", "name": "私聊 · 李娜", "kind": "direct"} in data["chats"]


async def test_new_task_is_answered_with_a_task_card(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    response = await send(client, NEW_TASK)
    assert response.status == 202
    await settle(services)
    history = await messages(client)
    assert [m["sender"]["id"] for m in history] == ["u_zhangmin", "tuijin_bot"]
    card = history[1]["card"]
    assert card["title"].startswith("XZB20261101 海报设计")
    assert field(card, "负责人") == "赵磊"
    assert field(card, "状态") == "待启动"
    assert field(card, "截止").startswith("2026-11-24 18:00")
    assert "@赵磊" in card["elements"][0]["content"]
    assert history[1]["reply_to"] == history[0]["id"]


async def test_pressing_done_completes_the_task_and_updates_the_card(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await send(client, NEW_TASK)
    await settle(services)
    bot_message = (await messages(client))[1]
    done = button(bot_message["card"], "完成")
    response = await client.post("/console/api/actions", json={
        "chat_id": CHAT, "user_id": "u_zhaolei", "message_id": bot_message["id"], "value": done["value"],
    })
    assert response.status == 200
    result = await response.json()
    assert result["toast"] == {"type": "success", "content": "已标记完成"}
    assert field(result["card"], "状态") == "已完成"
    updated = [m for m in await messages(client, after=bot_message["seq"]) if m["id"] == bot_message["id"]]
    assert updated and updated[0]["updated"] and field(updated[0]["card"], "状态") == "已完成"

    again = await client.post("/console/api/actions", json={
        "chat_id": CHAT, "user_id": "u_zhaolei", "message_id": bot_message["id"], "value": done["value"],
    })
    assert (await again.json())["toast"]["content"] == "任务已经是完成状态"


async def test_someone_uninvolved_cannot_press_done(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await send(client, NEW_TASK)
    await settle(services)
    bot_message = (await messages(client))[1]
    response = await client.post("/console/api/actions", json={
        "chat_id": CHAT, "user_id": "u_chenjing", "message_id": bot_message["id"],
        "value": button(bot_message["card"], "完成")["value"],
    })
    result = await response.json()
    assert result["toast"]["type"] == "error"
    assert "只有负责人" in result["toast"]["content"]
    assert result["card"] is None


async def test_a_forged_button_value_is_refused(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await send(client, NEW_TASK)
    await settle(services)
    bot_message = (await messages(client))[1]
    response = await client.post("/console/api/actions", json={
        "chat_id": CHAT, "user_id": "u_zhaolei", "message_id": bot_message["id"], "value": {"evil": 1},
    })
    assert (await response.json())["toast"]["type"] == "warning"


async def test_same_event_id_twice_creates_one_task(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    first = await send(client, NEW_TASK, event_id="evt-1")
    second = await send(client, NEW_TASK, event_id="evt-1")
    first_body, second_body = await first.json(), await second.json()
    assert first_body["accepted"] is True
    assert second_body["accepted"] is False
    # A re-delivery is the same message: the chat shows it once, and the answer names it.
    assert second_body["message"]["id"] == first_body["message"]["id"]
    await settle(services)
    transcript = await messages(client)
    assert [m["text"] for m in transcript if not m["sender"]["is_bot"]] == [NEW_TASK]
    bot_cards = [m for m in transcript if m["sender"]["is_bot"]]
    assert len(bot_cards) == 1
    await send(client, "本群任务")
    await settle(services)
    listing = [m for m in await messages(client) if m["sender"]["is_bot"]][-1]["card"]
    assert "共 1 项" in listing["elements"][0]["content"]


async def test_bad_input_gets_a_short_hint(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await send(client, "随便说点什么")
    await send(client, "新建任务 海报设计 截止 明天")
    await send(client, "新建任务 海报设计 负责人 @赵磊 截止 下下下周八")
    await settle(services)
    replies = [m["text"] for m in await messages(client) if m["sender"]["is_bot"]]
    assert len(replies) == 3
    assert "帮助" in replies[0]
    assert "负责人" in replies[1]
    assert "明天" in replies[2] and "10月15日" in replies[2]
    assert not any("Traceback" in r for r in replies)


async def test_bad_requests_get_400(aiohttp_client, sqlite_db, clock):
    client, _ = await start_app(aiohttp_client, sqlite_db, clock)
    assert (await send(client, "")).status == 400
    assert (await send(client, "帮助", user="nobody")).status == 400
    assert (await send(client, "帮助", chat="nochat")).status == 400
    assert (await client.get("/console/api/messages", params={"chat_id": CHAT, "after": "x"})).status == 400
    assert (await client.post("/console/api/actions", json={"chat_id": CHAT, "user_id": "u_lina",
                                                             "message_id": "cm_999", "value": {}})).status == 404


async def test_a_slow_click_is_answered_at_once_and_the_card_updated_later(aiohttp_client, sqlite_db, clock):
    # A zero budget makes every click "slow": the answer is a holding toast, the card follows.
    client, services = await start_app(aiohttp_client, sqlite_db, clock, card_inline_budget=0)
    await send(client, NEW_TASK)
    await settle(services)
    bot_message = (await messages(client))[1]
    response = await client.post("/console/api/actions", json={
        "chat_id": CHAT, "user_id": "u_zhaolei", "message_id": bot_message["id"],
        "value": button(bot_message["card"], "完成")["value"],
    })
    result = await response.json()
    assert result == {"toast": {"type": "info", "content": "正在处理，稍后更新卡片。"}, "card": None}
    await settle(services)
    updated = [m for m in await messages(client, after=bot_message["seq"]) if m["id"] == bot_message["id"]]
    assert updated and field(updated[-1]["card"], "状态") == "已完成"


async def test_shutdown_drains_background_work(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await send(client, NEW_TASK)
    await services.supervisor.drain()
    assert services.supervisor.pending == 0
    async with sqlite_db.session() as session:
        from storage.repositories import OutboxRepository

        assert (await OutboxRepository(session).counts_by_status()) == {"pending": 1}


async def test_events_arriving_during_shutdown_are_refused_not_swallowed(aiohttp_client, sqlite_db, clock):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await services.supervisor.drain()
    response = await send(client, NEW_TASK, event_id="late-1")
    assert response.status == 503
    async with sqlite_db.session() as session:
        from sqlalchemy import func, select

        from storage.tables import InboxEvent

        # Not recorded, so the platform's re-delivery (to a live replica) is processed normally.
        assert (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one() == 0


async def test_each_command_is_logged_without_its_text(aiohttp_client, sqlite_db, clock, caplog):
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    with caplog.at_level("INFO", logger="tuijin.commands"):
        await send(client, NEW_TASK)
        await send(client, "完成 XZB99999999")
        await settle(services)
    records = [r for r in caplog.records if r.name == "tuijin.commands"]
    assert sorted((r.command, r.outcome) for r in records) == [("CompleteTask", "refused"), ("NewTask", "ok")]
    assert all("海报" not in r.getMessage() and "海报" not in str(vars(r)) for r in records)
