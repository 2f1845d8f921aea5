"""时区: a chat's own time zone, set by an admin, so its stand-up and pushes follow its local time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.workflows.calendar.zones import resolve_zone
from storage.db import Database
from storage.tables import Chat, Standup
from tests.workflows.conftest import CHAT, Room


def test_zones_are_named_by_city_iana_name_or_offset() -> None:
    assert resolve_zone("伦敦") == resolve_zone("伦敦时间") == resolve_zone("europe/london") == "Europe/London"
    assert resolve_zone("北京时间") == "Asia/Shanghai"
    assert resolve_zone("America/New York") == "America/New_York"
    assert resolve_zone("UTC+8") == "Etc/GMT-8" and resolve_zone("gmt-5") == "Etc/GMT+5"
    assert resolve_zone("UTC+0") == "UTC"
    assert resolve_zone("火星") is None and resolve_zone("UTC+15") is None


async def test_an_admin_sets_the_chats_time_zone_and_its_stand_up_follows(room: Room, any_db: Database) -> None:
    await room.say("u_zhangmin", "组织")  # 张敏 comes first: the tenant's admin
    # Monday 2026-11-23 10:00 in Shanghai (02:00 UTC): the stand-up's next prompt is Tuesday 09:30 there.
    assert "已设置" in (await room.say("u_zhangmin", "站会 时间 09:30"))[0]["text"]
    shown = await room.say("u_zhaolei", "时区")
    assert "本群时区：Asia/Shanghai" in shown[0]["text"] and "11月23日 10:00" in shown[0]["text"]

    refused = await room.say("u_zhaolei", "时区 伦敦")
    assert "只有管理员可以修改本群的时区" in refused[0]["text"] and "张敏" in refused[0]["text"]
    unknown = await room.say("u_zhangmin", "时区 火星")
    assert "不认识时区「火星」" in unknown[0]["text"] and "Europe/London" in unknown[0]["text"]

    done = await room.say("u_zhangmin", "时区 伦敦")
    assert "已将本群时区设为 Europe/London（当地时间 11月23日 02:00）" in done[0]["text"]
    again = await room.say("u_zhangmin", "timezone Europe/London")
    assert "已经是 Europe/London" in again[0]["text"]
    async with any_db.session() as session:
        chat = (await session.execute(select(Chat).where(Chat.platform_chat_id == CHAT))).scalar_one()
        standup = (await session.execute(select(Standup).where(Standup.chat_id == chat.id))).scalar_one()
    assert chat.timezone == "Europe/London"
    # 09:30 in London on Monday (UTC in November) is still ahead: the prompt moved to then.
    assert standup.next_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert "当地时间 11月23日 02:00" in (await room.say("u_zhaolei", "时区"))[0]["text"]
