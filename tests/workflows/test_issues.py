"""卡点 and 风险: a receiver, a clock, acknowledge / hand over / resolve, and the outcome told back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import Decision, TaskEvent
from tests.workflows.conftest import Room, buttons, card_text

TASK = "新建任务 Q4短视频 负责人 @赵磊 截止 12月15日"


async def test_a_blocker_is_acknowledged_handed_over_and_resolved(
    room: Room, any_db: Database, clock: FrozenClock
) -> None:
    await room.say("u_zhangmin", TASK)
    raised = await room.say("u_zhaolei", "卡点 XZB20261101 视频素材版权未确认 需要 @王强 影响 短视频无法按时交付")
    card = raised[0]
    text = card_text(card)
    assert "已上报卡点 #1，需在 24 小时内答复" in text and "请 @王强 处理" in text
    assert "回复时限:11月24日 10:00" in text and "短视频无法按时交付" in text
    assert set(buttons(card)) == {"已知悉", "已解决", "转交"}

    refused = await room.press("u_liuyang", card, "已知悉")
    assert "只有 王强 可以处理" in refused["toast"]["content"]

    acked = await room.press("u_wangqiang", card, "已知悉")
    assert acked["toast"]["content"] == "已知悉"
    now_card = await room.message(card["id"])
    assert set(buttons(now_card)) == {"已解决", "转交"} and "王强 已知悉" in card_text(now_card)
    told = [m for m in await room.history() if m["text"] and "已知悉卡点 #1" in m["text"]]
    assert told and "@赵磊" in told[0]["text"]

    prompt = await room.press("u_wangqiang", now_card, "转交")
    assert "转交 XZB20261101 @某人" in prompt["toast"]["content"]
    handed = await room.say("u_wangqiang", "转交 XZB20261101 @陈静")
    assert any("请 @陈静 处理" in card_text(m) for m in handed if m["card"])
    old = await room.message(card["id"])
    assert not buttons(old) and "已转交给 陈静" in card_text(old)
    # The old card's buttons now carry a stale token: pressing one changes nothing.
    stale = await room.press("u_wangqiang", old, "已解决", value=buttons(card)["已解决"]["value"])
    assert "已失效" in stale["toast"]["content"]

    clock.advance(timedelta(hours=2))
    resolved = await room.say("u_chenjing", "已解决 XZB20261101 方案 已与版权方签署授权")
    assert "结果：已解决" in card_text(resolved[0]) and "已与版权方签署授权" in card_text(resolved[0])
    news = [m for m in await room.history() if m["text"] and "已解决：已与版权方签署授权" in m["text"]]
    assert news and "@赵磊" in news[0]["text"]

    listing = card_text((await room.say("u_zhaolei", "问题 XZB20261101"))[0])
    assert "卡点 #1" in listing and "已解决" in listing and "未解决 0 个" in listing
    async with any_db.session() as session:
        decision = (await session.execute(select(Decision))).scalar_one()
        kinds = [e.kind for e in (await session.execute(select(TaskEvent))).scalars()]
    assert decision.state == "decided" and decision.answer == "已与版权方签署授权"
    assert decision.responded_at is not None
    assert {"blocker_asked", "blocker_ack", "blocker_handed", "blocker_resolve"} <= set(kinds)


async def test_risks_go_to_the_initiator_with_a_four_hour_clock_when_high(room: Room, clock: FrozenClock) -> None:
    await room.say("u_zhangmin", TASK)
    raised = await room.say("u_zhaolei",
                            "风险 高 XZB20261101 主视觉供应商可能延期 影响 海报延期3天 建议 启用备选供应商")
    text = card_text(raised[0])
    assert "已上报高风险 #1，需在 4 小时内答复" in text and "请 @张敏 处理" in text
    assert "回复时限:11月23日 14:00" in text and "启用备选供应商" in text
    low = card_text((await room.say("u_zhaolei", "风险 低 XZB20261101 字体授权待续 影响 无 建议 续费"))[0])
    assert "#2" in low and "24 小时" in low
    # The initiator raising a risk on their own task sends it up to their superior.
    own = card_text((await room.say("u_zhangmin", "风险 中 XZB20261101 预算紧张 影响 少做一条视频 建议 追加预算"))[0])
    assert "请 @周杰 处理" in own
    clock.advance(timedelta(hours=5))
    listing = card_text((await room.say("u_zhangmin", "问题 XZB20261101"))[0])
    assert "已超过答复时限" in listing and "超时未答复 1 个" in listing

    unclear = await room.say("u_zhaolei", "风险 XZB20261101 预算紧张")
    assert "风险级别" in unclear[0]["text"]
    vague = await room.say("u_zhaolei", "风险 高 XZB20261101 预算紧张")
    assert "影响和建议" in vague[0]["text"]
    outsider = await room.say("u_wangqiang", "卡点 XZB20261101 没有素材")
    assert "只有负责人、协作人、发起人或审批人可以上报卡点或风险" in outsider[0]["text"]


async def test_a_risks_level_is_stored_as_a_code_and_shown_as_a_word(
    room: Room, any_db: Database, clock: FrozenClock
) -> None:
    await room.say("u_zhangmin", TASK)
    severe = card_text((await room.say("u_zhaolei", "风险 严重 XZB20261101 供应商倒闭 影响 无法交付 建议 换供应商"))[0])
    assert "已上报高风险 #1，需在 4 小时内答复" in severe and "级别:高风险" in severe
    urgent = card_text((await room.say("u_zhaolei", "风险 紧急 XZB20261101 版权纠纷 影响 下架 建议 法务介入"))[0])
    assert "已上报高风险 #2，需在 4 小时内答复" in urgent
    medium = card_text((await room.say("u_zhaolei", "risk medium XZB20261101 预算紧张 影响 少做一条 建议 追加"))[0])
    assert "已上报中风险 #3，需在 24 小时内答复" in medium and "级别:中风险" in medium
    await room.say("u_zhaolei", "风险 低 XZB20261101 字体授权待续 影响 无 建议 续费")

    async with any_db.session() as session:
        stored = {d.number: d.data["level"] for d in (await session.execute(select(Decision))).scalars()}
    assert stored == {1: "high", 2: "high", 3: "medium", 4: "low"}
    listing = card_text((await room.say("u_zhangmin", "问题 XZB20261101"))[0])
    assert all(f"风险 #{n}（{word}）" in listing for n, word in ((1, "高"), (3, "中"), (4, "低"))), listing
    assert "high" not in listing and "medium" not in listing


async def test_two_blockers_for_one_person_need_a_number(room: Room) -> None:
    await room.say("u_zhangmin", TASK)
    await room.say("u_zhaolei", "卡点 XZB20261101 素材未到 需要 @王强")
    await room.say("u_zhaolei", "卡点 XZB20261101 版权未确认 需要 @王强")
    ambiguous = await room.say("u_wangqiang", "已解决 XZB20261101 方案 已处理")
    assert "卡点 #1、卡点 #2" in ambiguous[0]["text"] and "已解决 XZB20261101 卡点 #2" in ambiguous[0]["text"]
    done = await room.say("u_wangqiang", "已解决 XZB20261101 #2 方案 已签授权")
    assert "卡点 #2" in card_text(done[0]) and "结果：已解决" in card_text(done[0])
    no_reason = await room.say("u_wangqiang", "已解决 XZB20261101 #1")
    assert "需要写明方案" in no_reason[0]["text"]


async def test_a_blocker_and_a_risk_with_the_same_number_are_told_apart_by_their_kind(room: Room) -> None:
    await room.say("u_zhangmin", TASK)
    await room.say("u_zhaolei", "卡点 XZB20261101 素材未到 需要 @张敏")
    await room.say("u_zhaolei", "风险 中 XZB20261101 预算紧张 影响 少做一条视频 建议 追加预算")
    ambiguous = await room.say("u_zhangmin", "已知悉 XZB20261101 #1")
    assert "卡点 #1、风险 #1" in ambiguous[0]["text"], ambiguous[0]["text"]
    risk = await room.say("u_zhangmin", "已知悉 XZB20261101 风险 #1")
    assert "风险 #1" in card_text(risk[0]) and "已知悉" in card_text(risk[0])
    blocker = await room.say("u_zhangmin", "已知悉 XZB20261101 卡点#1")
    assert "卡点 #1" in card_text(blocker[0])
    wrong = await room.say("u_zhangmin", "已知悉 XZB20261101 变更 #1")
    assert "没有可以「已知悉」的待处理事项" in wrong[0]["text"]
