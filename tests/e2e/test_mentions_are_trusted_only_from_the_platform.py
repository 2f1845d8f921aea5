"""Only a mention the platform's event carried names a person; typed `<@…>` and @all name nobody."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storage.db import Database
from storage.tables import Task, User
from tests.e2e.conftest import FeishuE2E
from tests.support import settle, start_app

CHAT = "oc_q4promo"


async def test_typed_mention_tokens_in_the_console_name_nobody(aiohttp_client: Any, sqlite_db: Database,
                                                              clock: Any) -> None:
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    await client.post("/console/api/messages", json={"chat_id": CHAT, "user_id": "u_zhangmin",
                                                     "text": "新建任务 海报 负责人 @赵磊 截止 明天"})
    await settle(services)
    for text in ("新建任务 海报 负责人 <@all> 截止 明天", "新建任务 海报 负责人 <@u_zhaolei> 截止 明天",
                 "指派 XZB20261101 <@all>"):
        response = await client.post("/console/api/messages",
                                     json={"chat_id": CHAT, "user_id": "u_zhangmin", "text": text})
        assert response.status == 202
    await settle(services)
    history = (await (await client.get("/console/api/messages", params={"chat_id": CHAT})).json())["messages"]
    replies = [m for m in history if m["sender"]["is_bot"]][1:]
    assert len(replies) == 3
    assert all(r["card"] is None and "@" in r["text"] for r in replies), replies
    async with sqlite_db.session() as session:
        tasks = (await session.execute(select(Task))).scalars().all()
        assert len(tasks) == 1 and tasks[0].owner_id is not None
        owner = await session.get(User, tasks[0].owner_id)
        assert owner.platform_user_id == "u_zhaolei"


async def test_typed_at_all_through_feishu_names_nobody_and_pings_nobody(feishu_app: FeishuE2E) -> None:
    app = feishu_app
    for typed in ("<@all>", "<@ou_84aad35d084aa403a838cf73ee18467>", '<at user_id="all"></at>'):
        response = await app.post(app.message(f"@_user_1 新建任务 海报 负责人 {typed} 截止 明天"))
        assert response.status == 200
    await settle(app.services)
    assert await app.tasks() == []
    sent = json.dumps(app.sent(), ensure_ascii=False)
    assert "id=all" not in sent and 'user_id=\\"all\\"' not in sent and "user_id=\\\"all" not in sent
    assert len(app.sent()) == 3
