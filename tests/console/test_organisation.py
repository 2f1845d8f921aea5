"""The organisation through the console's real API, on SQLite and PostgreSQL.

Departments and superiors come from the platform directory (the console's directory plays it) and
admins override them by command; everyone else is refused with the names of who can.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.core import ConversationRef, UserRef
from storage.db import Database
from storage.tables import Department, User
from tests.support import settle, start_app

CHAT = "oc_q4promo"


class Chat:
    def __init__(self, client: Any, services: Any) -> None:
        self.client, self.services = client, services

    async def say(self, user: str, text: str) -> dict[str, Any]:
        response = await self.client.post("/console/api/messages",
                                          json={"chat_id": CHAT, "user_id": user, "text": text})
        assert response.status == 202
        await settle(self.services)
        messages = (await (await self.client.get("/console/api/messages", params={"chat_id": CHAT})).json())
        reply: dict[str, Any] = messages["messages"][-1]
        assert reply["sender"]["is_bot"]
        return reply


def card_text(reply: dict[str, Any]) -> str:
    card = reply["card"]
    assert card is not None, reply["text"]
    parts = [card["title"]]
    for element in card["elements"]:
        if element["type"] in ("text", "note"):
            parts.append(element["content"])
        elif element["type"] == "fields":
            parts.extend(f"{k}:{v}" for k, v in element["items"])
    return "\n".join(parts)


async def users(db: Database) -> dict[str, User]:
    async with db.session() as session:
        return {u.platform_user_id: u for u in (await session.execute(select(User))).scalars()}


async def department_names(db: Database) -> dict[int, str]:
    async with db.session() as session:
        return {d.id or 0: d.name for d in (await session.execute(select(Department))).scalars()}


async def test_admins_shape_the_organisation_and_others_are_told_who_can(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    chat = Chat(client, services)

    # The first person to use the bot administers the tenant; the directory already knows departments.
    first = card_text(await chat.say("u_zhangmin", "组织"))
    assert "市场部" in first and "管理员：张敏" in first

    refused = await chat.say("u_liuyang", "设置部门 设计部 负责人 @李娜")
    assert refused["card"] is None and "只有管理员" in refused["text"] and "张敏" in refused["text"]

    updated = card_text(await chat.say("u_zhangmin", "设置部门 设计部 负责人 @李娜"))
    assert "负责人:李娜" in updated and "李娜（负责人）" in updated

    typo = await chat.say("u_zhangmin", "加入部门 设计组 @赵磊")
    assert "没有找到部门「设计组」" in typo["text"] and "设计部" in typo["text"]
    near = await chat.say("u_zhangmin", "设置部门 设计组 负责人 @赵磊")
    assert "你是不是想写「设计部」" in near["text"] and "设置部门 设计组 新建" in near["text"]
    created = card_text(await chat.say("u_zhangmin", "设置部门 设计组 新建 负责人 @赵磊"))
    assert "已新建部门「设计组」" in created

    assert "上级是 李娜" in (await chat.say("u_zhangmin", "设置上级 @赵磊 @李娜"))["text"]
    loop = await chat.say("u_zhangmin", "设置上级 @李娜 @赵磊")
    assert "循环汇报" in loop["text"]
    joined = card_text(await chat.say("u_zhangmin", "加入部门 设计组 @陈静"))
    assert "陈静" in joined

    assert "现在是管理员" in (await chat.say("u_zhangmin", "设置管理员 @刘洋"))["text"]
    assert "已经是管理员" in (await chat.say("u_liuyang", "设置管理员 @刘洋"))["text"]

    people = await users(any_db)
    departments = await department_names(any_db)
    assert departments[people["u_zhaolei"].department_id or 0] == "设计组"
    assert people["u_zhaolei"].leader_user_id == people["u_lina"].id
    assert people["u_liuyang"].is_admin and people["u_zhangmin"].is_admin
    assert not people["u_lina"].is_admin

    # What an admin set wins over the directory, which still puts 赵磊 in 设计部.
    directory = services.pipeline.directory
    await services.cache.delete("directory:console:console:u_zhaolei")
    await directory.sync(ConversationRef("console", "console", CHAT), (UserRef("u_zhaolei", "赵磊"),))
    people = await users(any_db)
    assert departments[people["u_zhaolei"].department_id or 0] == "设计组"

    one = card_text(await chat.say("u_lina", "组织 设计组"))
    assert one.startswith("组织架构 · 设计组") and "赵磊（负责人） → 上级 李娜" in one


async def test_organisation_commands_in_english_and_bad_input(
    aiohttp_client: Any, sqlite_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, sqlite_db, clock)
    chat = Chat(client, services)
    assert "负责人:李娜" in card_text(await chat.say("u_zhangmin", "set dept 设计部 owner @李娜"))
    assert "两个人" in (await chat.say("u_zhangmin", "设置上级 @赵磊"))["text"]
    assert "部门名称" in (await chat.say("u_zhangmin", "设置部门 负责人 @赵磊"))["text"]
    assert "没有找到部门「品牌」" in (await chat.say("u_zhangmin", "组织 品牌"))["text"]
    assert "自己的上级" in (await chat.say("u_zhangmin", "设置上级 @赵磊 @赵磊"))["text"]
    forged = await chat.say("u_zhangmin", "设置管理员 <@u_liuyang>")
    assert "@" in forged["text"] and "现在是管理员" not in forged["text"]
