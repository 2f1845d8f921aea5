"""RACI and the five elements after a task exists: who may change what, who is told, the timeline."""

from __future__ import annotations

from typing import Any

from bot.clock import FrozenClock
from storage.db import Database
from tests.console.test_organisation import Chat, card_text
from tests.support import start_app


async def test_people_named_after_creation_are_told_once_and_every_change_is_kept(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    client, services = await start_app(aiohttp_client, any_db, clock)
    chat = Chat(client, services)
    await chat.say("u_zhangmin", "新建任务 Q4物料 负责人 @赵磊 截止 12月10日")

    added = await chat.say("u_zhangmin", "协作人 XZB20261101 @陈静 @李娜")
    assert "已把 @陈静 @李娜 设为协作人，请查收" in card_text(added)
    again = await chat.say("u_zhangmin", "协作人 XZB20261101 @陈静")
    assert "已经是协作人" in card_text(again) and "@陈静" not in card_text(again)
    assert "设为审批人" in card_text(await chat.say("u_zhangmin", "审批人 XZB20261101 @王强"))
    assert "设为咨询人" in card_text(await chat.say("u_zhaolei", "咨询人 XZB20261101 @刘洋"))
    assert "设为知会人" in card_text(await chat.say("u_zhangmin", "知会人 XZB20261101 @周杰"))
    assert "资源已更新" in card_text(await chat.say("u_zhaolei", "资源 XZB20261101 摄影棚半天"))
    assert "交付标准已更新" in card_text(await chat.say("u_zhangmin", "交付标准 XZB20261101 3张海报和2条短视频"))

    # The owner may not move the deadline (that will be a change request); the approver may.
    refused = await chat.say("u_zhaolei", "截止 XZB20261101 12月20日")
    assert "只能由发起人或审批人修改" in refused["text"]
    assert "截止时间已改为 2026-12-20" in card_text(await chat.say("u_wangqiang", "截止 XZB20261101 12月20日"))
    stranger = await chat.say("u_liuyang", "协作人 XZB20261101 @刘洋")
    assert "只有负责人、发起人或审批人" in stranger["text"]

    timeline = card_text(await chat.say("u_zhangmin", "任务 XZB20261101"))
    for line in ("协作人：陈静、李娜", "审批人：王强", "咨询人：刘洋", "知会人：周杰", "资源改为：摄影棚半天",
                 "交付标准改为：3张海报和2条短视频", "截止时间 12月10日 18:00 → 12月20日 18:00"):
        assert line in timeline, line
    assert timeline.count("协作人：") == 1
