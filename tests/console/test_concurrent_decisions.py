"""What two people (or one impatient person) press at once: one effect, consistent state.

Run on SQLite and PostgreSQL through the console's real HTTP API and the real pipeline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import Task, TaskEvent
from tests.support import settle, start_app

CHAT = "oc_q4promo"


async def send(client: Any, text: str, user: str = "u_zhangmin") -> None:
    response = await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": user, "text": text})
    assert response.status == 202


async def history(client: Any) -> list[dict[str, Any]]:
    response = await client.get("/console/api/messages", params={"chat_id": CHAT})
    messages: list[dict[str, Any]] = (await response.json())["messages"]
    return messages


def done_button(card: dict[str, Any]) -> dict[str, Any]:
    for element in card["elements"]:
        if element["type"] == "buttons":
            for b in element["buttons"]:
                if b["label"] == "完成":
                    return b
    raise AssertionError("no 完成 button")


async def tasks(db: Database) -> dict[str, Task]:
    async with db.session() as session:
        return {t.code: t for t in (await session.execute(select(Task))).scalars()}


async def test_twenty_concurrent_presses_of_done_complete_the_task_once(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    await send(client, "新建任务 海报设计 负责人 @赵磊 截止 明天")
    await settle(services)
    card_message = (await history(client))[1]
    value = done_button(card_message["card"])["value"]

    async def press(i: int) -> dict[str, Any]:
        response = await client.post("/console/api/actions", json={
            "chat_id": CHAT, "user_id": "u_zhaolei", "message_id": card_message["id"], "value": value,
            "click_id": f"click-{i}",
        })
        assert response.status == 200
        result: dict[str, Any] = await response.json()
        return result

    results = await asyncio.gather(*(press(i) for i in range(20)))
    await settle(services)

    toasts = [r["toast"]["content"] for r in results]
    assert toasts.count("已标记完成") == 1, toasts
    async with any_db.session() as session:
        completed = (await session.execute(select(TaskEvent).where(TaskEvent.kind == "completed"))).scalars().all()
    assert len(completed) == 1
    assert (await tasks(any_db))["XZB20261101"].status == "done"


async def test_concurrent_subtasks_get_distinct_codes_and_sibling_progress_rolls_up_exactly(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    await send(client, "新建任务 Q4物料 负责人 @张敏 截止 12月20日")
    await settle(services)
    await asyncio.gather(*(send(client, f"子任务 XZB20261101 物料{i} 负责人 @赵磊") for i in range(20)))
    await settle(services)
    replies = [m for m in await history(client) if m["sender"]["is_bot"]][1:]
    assert len(replies) == 20 and all(m["card"] is not None for m in replies), [m["text"] for m in replies]
    codes = sorted(code for code in await tasks(any_db) if "-" in code)
    assert codes == [f"XZB20261101-{i:02d}" for i in range(1, 21)]

    # Every subtask reports at once; the parent must end at the true mean, not a lost update.
    percents = {code: 5 * (i + 1) for i, code in enumerate(codes)}
    await asyncio.gather(*(send(client, f"进度 {code} {p}%", user="u_zhaolei") for code, p in percents.items()))
    await settle(services)
    parent = (await tasks(any_db))["XZB20261101"]
    assert parent.progress == round(sum(percents.values()) / len(percents))
    assert parent.status == "in_progress"


async def test_first_contact_from_many_people_at_once_loses_nobody(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    """Each message names the others in a different order: the user rows must not deadlock."""
    client, services = await start_app(aiohttp_client, any_db, clock)
    people = [("u_zhangmin", "张敏"), ("u_zhaolei", "赵磊"), ("u_chenjing", "陈静"), ("u_lina", "李娜")]
    texts = []
    for i, (user, _) in enumerate(people * 3):
        others = [name for _, name in people[i % 4:] + people[: i % 4]][::-1]
        texts.append((user, f"新建任务 任务{i} 负责人 @{others[0]} 协作人 @{others[1]} @{others[2]} 截止 明天"))
    await asyncio.gather(*(send(client, text, user=user) for user, text in texts))
    await settle(services)
    assert len(await tasks(any_db)) == len(texts)


async def test_a_task_is_shown_only_to_its_chat_and_the_people_on_it(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    await send(client, "新建任务 海报设计 负责人 @赵磊 截止 明天")
    await settle(services)

    async def ask(user: str, chat: str) -> dict[str, Any]:
        response = await client.post("/console/api/messages",
                                     json={"chat_id": chat, "user_id": user, "text": "任务 XZB20261101"})
        assert response.status == 202
        await settle(services)
        messages = (await (await client.get("/console/api/messages", params={"chat_id": chat})).json())["messages"]
        reply: dict[str, Any] = messages[-1]
        return reply

    stranger = await ask("u_liuyang", "oc_market")  # neither in the task's chat nor named on it
    assert stranger["card"] is None and "无法查看" in stranger["text"] and "海报" not in stranger["text"]
    owner = await ask("u_zhaolei", "oc_market")  # named on it, asking from elsewhere
    assert owner["card"] is not None and owner["card"]["title"].startswith("XZB20261101")
    member = await ask("u_liuyang", CHAT)  # in the task's chat
    assert member["card"] is not None
