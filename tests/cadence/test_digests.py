"""Weekly digest and monthly review: the numbers on known data, when they are sent, and once only."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FrozenClock
from storage.db import Database
from storage.tables import Chat, Decision, Department, Task, TaskEvent, Tenant, User
from tests.support import settle
from tests.workflows.conftest import Room, card_text, organise

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def sweep(room: Room, when: datetime) -> list[dict[str, Any]]:
    before = max((m["seq"] for m in await room.history()), default=0)
    room.services.clock.set(when)
    # Only the digest sweep: reminders and escalations of the same data are tested elsewhere.
    done = await room.services.sweeps.sweeps["digests"].run(when)
    await settle(room.services)
    posted = [m for m in await room.history() if m["seq"] > before and m["sender"]["is_bot"]]
    assert done == len(posted), (done, posted)
    return posted


def text_of(message: dict[str, Any]) -> str:
    return str(message["text"]) if message["text"] else card_text(message)


async def test_the_weekly_digest_on_a_working_friday(room: Room, clock: FrozenClock) -> None:
    await room.say("u_zhangmin", "新建任务 海报 负责人 @赵磊 截止 11月24日")          # 01: done on time
    await room.say("u_zhangmin", "新建任务 视频 负责人 @赵磊 截止 11月25日")          # 02: late, open
    await room.say("u_zhangmin", "新建任务 文案 负责人 @陈静 截止 11月26日")          # 03: done late
    await room.say("u_zhangmin", "新建任务 物料 负责人 @陈静 截止 12月1日")           # 04: due next week
    await room.say("u_zhangmin", "新建任务 发布会 负责人 @刘洋 截止 12月15日")        # 05: in progress
    await room.say("u_chenjing", "进度 XZB20261104 40% 在做")
    await room.say("u_chenjing", "卡点 XZB20261104 场地未定")
    clock.set(local(11, 24, 12))
    await room.say("u_zhaolei", "完成 XZB20261101")
    clock.set(local(11, 27, 9))
    await room.say("u_chenjing", "完成 XZB20261103")
    await room.say("u_liuyang", "进度 XZB20261105 10% 起步")

    nudge = await sweep(room, local(11, 27, 15, 0))
    assert len(nudge) == 1 and "@赵磊" in text_of(nudge[0]) and "@刘洋" not in text_of(nudge[0])
    assert await sweep(room, local(11, 27, 16, 59)) == []
    digest = await sweep(room, local(11, 27, 17, 0))
    assert await sweep(room, local(11, 27, 17, 0)) == []       # two sweeps, one instant: sent once
    assert await sweep(room, local(11, 30, 10, 0)) == []       # nor caught up again on Monday
    text = text_of(digest[0])
    assert "周报 · 11月23日–11月29日" in text and "补发" not in text
    assert "完成率:1/3 = 33%" in text and "本周完成:2 项" in text and "已延期:1 项" in text
    assert "进行中:2 项" in text and "未解决风险/卡点:1 个" in text and "下周到期:1 项" in text
    assert "XZB20261104 物料 40%" in text and "卡点 #1 XZB20261104：场地未定" in text
    assert "🔴 XZB20261102 视频" in text

    # It is Monday now: 周报 上周 is the same week, 周报 the new one.
    on_demand = card_text((await room.say("u_zhaolei", "周报 上周"))[0])
    assert "完成率:1/3 = 33%" in on_demand
    assert "本期无到期任务" in card_text((await room.say("u_zhaolei", "周报"))[0])


async def test_a_week_ending_in_a_holiday_and_a_missed_friday(room: Room, clock: FrozenClock) -> None:
    clock.set(local(9, 28, 10))
    await room.say("u_zhangmin", "新建任务 国庆海报 负责人 @赵磊 截止 10月20日")
    assert await sweep(room, local(10, 2, 17, 0)) == []         # 国庆节: nothing sent
    assert len(await sweep(room, local(9, 30, 17, 0))) == 1      # the week's last working day instead
    # The next Friday (10月9日) is missed; Saturday 10th is a make-up working day: caught up, marked late.
    posted = await sweep(room, local(10, 10, 9, 0))
    late = [m for m in posted if "周报" in text_of(m)]
    assert len(late) == 1 and "（补发）" in text_of(late[0]) and "10月5日–10月11日" in text_of(late[0])
    # September's review, due on October's first working day (the 8th) and also missed, is caught up too.
    assert [m for m in posted if "月度复盘 · 2026年9月（补发）" in text_of(m)]


async def _data_set(room: Room, db: Database) -> None:
    """October 2026 in the project chat: 28 tasks due, 24 done on time, 4 not; requests and blockers."""
    await organise(room)
    for user in ("u_lina", "u_wangqiang", "u_zhaolei", "u_chenjing"):
        await room.say(user, "我的任务")
    async with db.transaction() as session:
        tenant = (await session.execute(select(Tenant))).scalar_one()
        chat = (await session.execute(select(Chat).where(Chat.platform_chat_id == "oc_q4promo"))).scalar_one()
        users = {u.platform_user_id: u for u in (await session.execute(select(User))).scalars()}
        departments = {d.name: d for d in (await session.execute(select(Department))).scalars()}
        design, brand = departments["设计部"].id, departments["品牌部"].id
        created = local(9, 25, 10)

        def task(n: int, due: datetime, **fields: Any) -> Task:
            return Task(tenant_id=tenant.id, chat_id=chat.id, code=f"XZB202610{n:02d}", title=f"任务{n}",
                        owner_id=users["u_zhaolei"].id, initiator_id=users["u_zhangmin"].id,
                        due_at=due, created_at=created, updated_at=created, **fields)

        rows = []
        for n in range(1, 25):
            due = local(10, 8, 18) + timedelta(days=n - 1)
            rows.append(task(n, due, status="done", progress=100, completed_at=due - timedelta(hours=2),
                             department_id=design if n % 2 else brand))
        rows.append(task(25, local(10, 12, 18), status="done", progress=100, completed_at=local(10, 14, 11),
                         department_id=design))
        rows.append(task(26, local(10, 15, 18), status="done", progress=100, completed_at=local(10, 16, 11),
                         department_id=brand))
        rows.append(task(27, local(10, 20, 18), status="in_progress", progress=60, department_id=design))
        rows.append(task(28, local(10, 28, 18), status="in_progress", progress=30, department_id=brand))
        rows.append(task(29, local(10, 21, 18), status="cancelled"))                 # cancelled: not counted
        rows.append(task(30, local(11, 3, 18), status="in_progress"))                  # due next month
        session.add_all(rows)
        await session.flush()
        by_code = {t.code: t for t in rows}
        for code, reason, day in (("XZB20261025", "素材晚到两天", 13),
                                  ("XZB20261026", "供应商延误", 15), ("XZB20261027", "需求变更", 21)):
            if code in by_code:
                session.add(TaskEvent(tenant_id=tenant.id, task_id=by_code[code].id, actor_id=users["u_zhaolei"].id,
                                      kind="delay_reason", detail=reason, at=local(10, day, 10)))

        def decision(kind: str, code: str, number: int, **fields: Any) -> Decision:
            return Decision(tenant_id=tenant.id, task_id=by_code[code].id, chat_id=chat.id, kind=kind, number=number,
                            token=secrets.token_hex(8), requester_id=users["u_zhangmin"].id, **fields)

        session.add_all([
            decision("collaboration", "XZB20261001", 1, decider_id=users["u_lina"].id, department_id=design,
                     state="decided", outcome="reject", answer="人手不足", due_at=local(10, 9, 18),
                     responded_at=local(10, 9, 11), created_at=local(10, 7, 10)),
            decision("collaboration", "XZB20261002", 1, decider_id=users["u_wangqiang"].id, department_id=brand,
                     state="decided", outcome="accept", due_at=local(10, 12, 18), responded_at=local(10, 13, 15),
                     created_at=local(10, 8, 10)),
            decision("collaboration", "XZB20261003", 1, decider_id=users["u_wangqiang"].id, department_id=brand,
                     state="decided", outcome="accept", due_at=local(10, 12, 18), responded_at=local(10, 12, 9),
                     created_at=local(10, 8, 10)),
            decision("blocker", "XZB20261001", 1, decider_id=users["u_lina"].id, state="decided",
                     created_at=local(10, 9, 10), data={"description": "a"}),
            decision("blocker", "XZB20261027", 1, decider_id=users["u_lina"].id, state="open",
                     created_at=local(10, 19, 10), data={"description": "b"}),
            decision("blocker", "XZB20261002", 1, decider_id=users["u_wangqiang"].id, state="decided",
                     created_at=local(10, 10, 10), data={"description": "c"}),
            decision("blocker", "XZB20261030", 1, decider_id=users["u_wangqiang"].id, state="open",
                     created_at=local(11, 2, 9), data={"description": "next month"}),
        ])


async def test_the_monthly_review_numbers_on_a_known_data_set(room: Room, any_db: Database,
                                                               clock: FrozenClock) -> None:
    clock.set(local(9, 25, 10))
    await _data_set(room, any_db)
    await room.say("u_zhangmin", "复盘 做得好 配合顺畅 待改进 素材到位晚 措施 素材提前一周确认")
    await sweep(room, local(10, 30, 17, 0))                     # October's last weekly digest
    assert await sweep(room, local(11, 2, 9, 59)) == []
    review = await sweep(room, local(11, 2, 10, 0))             # Monday 2 November: the first working day
    assert await sweep(room, local(11, 2, 10, 0)) == []
    assert len(review) == 1
    text = text_of(review[0])
    assert "月度复盘 · 2026年10月" in text and "补发" not in text
    assert "按时完成率:24/28 = 85%" in text and "延期任务:4 项" in text
    assert "XZB20261025 任务25（赵磊，截止 10月12日，10月14日完成）；原因：素材晚到两天" in text
    assert "XZB20261027 任务27（赵磊，截止 10月20日，仍未完成）；原因：需求变更" in text
    assert "XZB20261028 任务28（赵磊，截止 10月28日，仍未完成）；未说明原因" in text
    assert "设计部 拒绝：人手不足" in text and "品牌部 超时答复（晚 21 小时）" in text
    assert "XZB20261003" not in text.split("跨部门协作")[1].split("卡点（按部门）")[0]
    assert "设计部 2 个（未解决 1）" in text and "品牌部 1 个（未解决 0）" in text
    assert "素材提前一周确认" in text

    on_demand = card_text((await room.say("u_zhangmin", "月报 10月"))[0])
    assert "按时完成率:24/28 = 85%" in on_demand
    said = await room.say("u_zhangmin", "复盘 做得好 按时率高 待改进 协作超时 措施 协作请求当天答复")
    recorded = card_text(said[0])
    assert "复盘 · 2026-10" in recorded
    shown = card_text((await room.say("u_zhaolei", "复盘"))[0])
    assert "复盘 · 2026-10" in shown and "协作请求当天答复" in shown and "记录人：张敏" in shown


async def test_a_missed_review_is_caught_up_marked_late(room: Room, any_db: Database, clock: FrozenClock) -> None:
    clock.set(local(9, 25, 10))
    await _data_set(room, any_db)
    late = await sweep(room, local(11, 3, 9, 0))
    reviews = [m for m in late if "月度复盘" in text_of(m)]
    assert len(reviews) == 1 and "（补发）" in text_of(reviews[0]) and "24/28 = 85%" in text_of(reviews[0])
    assert await sweep(room, local(11, 3, 9, 1)) == []


async def test_a_digest_for_many_chats_is_spread_over_the_next_minutes(
    aiohttp_client: Any, any_db: Database, clock: FrozenClock
) -> None:
    from bot.scheduler.digests import Digests
    from tests.support import start_app

    client, services = await start_app(aiohttp_client, any_db, clock)
    room = Room(client, services)
    for chat in ("oc_q4promo", "oc_market"):
        response = await client.post("/console/api/messages", json={
            "chat_id": chat, "user_id": "u_zhangmin", "text": "新建任务 海报 负责人 @赵磊 截止 12月15日"})
        assert response.status == 202
    await settle(services)
    digests = Digests(services.db, services.settings, services.outbox, clock, per_sweep=1)
    first = await digests.run(local(11, 27, 17, 0))
    second = await digests.run(local(11, 27, 17, 1))
    third = await digests.run(local(11, 27, 17, 2))
    assert (first, second, third) == (1, 1, 0)  # one chat a minute here; each once
    await settle(room.services)
