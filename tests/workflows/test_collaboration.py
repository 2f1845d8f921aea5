"""跨部门协作 through the console's real API, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.tables import Decision, Task, TaskEvent
from tests.workflows.conftest import Room, buttons, card_text, organise

REQUEST = ("发起协作 Q4新品宣传物料 部门 设计部,品牌部 截止 12月15日 背景 新品12月20日上市 "
           "目标 完成全套宣传物料 优先级 高 交付物 3张海报和2条短视频 启动 12月1日")


async def tasks(db: Database) -> dict[str, Task]:
    async with db.session() as session:
        return {t.code: t for t in (await session.execute(select(Task))).scalars()}


async def test_both_heads_accept_and_the_request_starts(room: Room, any_db: Database) -> None:
    await organise(room)
    posted = await room.say("u_zhangmin", REQUEST)
    overview, design, brand = posted
    assert "已向 设计部、品牌部 发起协作请求" in card_text(overview)
    assert "⏳ 待答复" in card_text(overview) and "0/2 个部门已接受" in card_text(overview)
    # Each head gets a card naming them, with the brief and the answer deadline: 2 working days.
    assert "请 @李娜 处理" in card_text(design) and "设计部" in card_text(design)
    assert "回复时限:11月25日 18:00" in card_text(design)
    assert "背景" in card_text(design) and "3张海报和2条短视频" in card_text(design)
    assert set(buttons(design)) == {"接受", "拒绝", "转交"}
    assert "请 @王强 处理" in card_text(brand)

    # Someone else pressing the head's card changes nothing and is told who can.
    stranger = await room.press("u_liuyang", design, "接受")
    assert "只有 李娜 可以处理" in stranger["toast"]["content"]
    assert "接受" in buttons(await room.message(design["id"]))

    accepted = await room.press("u_lina", design, "接受")
    assert accepted["toast"]["content"] == "已接受"
    decided = await room.message(design["id"])
    assert not buttons(decided) and "结果：已接受" in card_text(decided) and "李娜" in card_text(decided)
    again = await room.press("u_lina", decided, "接受", value=buttons(design)["接受"]["value"])
    assert "已由 李娜 接受" in again["toast"]["content"]
    assert "无需重复处理" in again["toast"]["content"]
    news = [m for m in await room.history() if m["text"] and "已接受协作请求" in m["text"]][-1]
    assert "设计部 已接受协作请求" in news["text"] and "指派 XZB20261101-01" in news["text"]
    assert "1/2 个部门已接受" in card_text(await room.message(overview["id"]))

    # 王强 accepts by message and names the owner of his department's part at once.
    replies = await room.say("u_wangqiang", "接受 XZB20261101 @陈静")
    assert any("所有部门都已接受" in card_text(r) for r in replies if r["card"])
    assert not buttons(await room.message(brand["id"]))
    assert "2/2 个部门已接受" in card_text(await room.message(overview["id"]))
    state = await tasks(any_db)
    assert state["XZB20261101"].status == "in_progress"
    assert state["XZB20261101-01"].title == "Q4新品宣传物料（设计部）"
    people = {t.code: t.owner_id for t in state.values()}
    assert people["XZB20261101-02"] != people["XZB20261101-01"]
    async with any_db.session() as session:
        kinds = [e.kind for e in (await session.execute(select(TaskEvent).order_by(TaskEvent.id))).scalars()]
    assert kinds.count("collaboration_accept") == 2 and kinds.count("collaboration_asked") == 2


async def test_a_refusal_needs_a_reason_and_may_offer_a_later_start(room: Room, any_db: Database) -> None:
    await organise(room)
    _, design, _ = await room.say("u_zhangmin", REQUEST)
    asked = await room.press("u_lina", design, "拒绝")
    assert "拒绝需要写明原因" in asked["toast"]["content"]
    assert "拒绝 XZB20261101 原因" in card_text(asked["card"] and {"card": asked["card"]})
    assert "拒绝" in buttons(await room.message(design["id"]))

    empty = await room.say("u_lina", "拒绝 XZB20261101")
    assert "需要写明原因" in empty[0]["text"]
    replies = await room.say("u_lina", "拒绝 XZB20261101 原因 当前人力饱和 可启动 12月7日")
    assert "结果：已拒绝" in card_text(replies[0]) and "当前人力饱和" in card_text(replies[0])
    told = [r for r in replies if r["text"] and "拒绝了协作请求" in r["text"]]
    assert told and "可启动时间：12月7日" in told[0]["text"] and "@张敏" in told[0]["text"]
    # The head's card in the group no longer offers buttons.
    assert not buttons(await room.message(design["id"]))
    async with any_db.session() as session:
        refused = (await session.execute(select(Decision).where(Decision.outcome == "reject"))).scalar_one()
    assert refused.answer == "当前人力饱和" and refused.data["proposed_start"].startswith("12月7日")
    assert (await tasks(any_db))["XZB20261101"].status == "pending"


async def test_unknown_departments_and_headless_ones_are_named(room: Room) -> None:
    await room.say("u_zhangmin", "设置部门 设计部 负责人 @李娜")
    typo = await room.say("u_zhangmin", REQUEST.replace("设计部,品牌部", "设计组"))
    assert "没有找到部门「设计组」" in typo[0]["text"] and "设计部" in typo[0]["text"]
    await room.say("u_chenjing", "组织")  # the directory now knows 品牌部, which has no head yet
    headless = await room.say("u_zhangmin", REQUEST)
    assert "品牌部还没有负责人" in headless[0]["text"]
    missing = await room.say("u_zhangmin", "发起协作 海报 部门 设计部 截止 12月15日")
    assert "背景和目标" in missing[0]["text"]


async def test_the_reason_typed_into_the_card_decides_at_once(room: Room, any_db: Database) -> None:
    await organise(room)
    _, design, brand = await room.say("u_zhangmin", REQUEST)
    field = next(e for e in design["card"]["elements"] if e["type"] == "buttons")["input"]
    assert field["name"] == "answer" and "拒绝时必填原因" in field["placeholder"]
    refused = await room.press("u_lina", design, "拒绝", typed="当前人力饱和 可启动 12月7日")
    assert refused["toast"]["content"] == "已拒绝"
    assert "结果：已拒绝" in card_text({"card": refused["card"]}) and not buttons({"card": refused["card"]})
    # Text typed with 接受 is not needed and changes nothing about accepting.
    assert (await room.press("u_wangqiang", brand, "接受", typed="没问题"))["toast"]["content"] == "已接受"
    async with any_db.session() as session:
        refusal = (await session.execute(select(Decision).where(Decision.outcome == "reject"))).scalar_one()
    assert refusal.answer == "当前人力饱和" and refusal.data["proposed_start"].startswith("12月7日")


async def test_a_start_typed_into_the_card_that_is_no_date_refuses_the_click(room: Room, any_db: Database) -> None:
    await organise(room)
    _, design, _ = await room.say("u_zhangmin", REQUEST)
    refused = await room.press("u_lina", design, "拒绝", typed="当前人力饱和 可启动 下下下个月底左右")
    assert refused["toast"]["type"] == "error"
    assert "可启动" in refused["toast"]["content"] and "再点一次" in refused["toast"]["content"]
    async with any_db.session() as session:
        assert (await session.execute(select(Decision).where(Decision.outcome == "reject"))).first() is None
    # Corrected, the same button decides.
    again = await room.press("u_lina", design, "拒绝", typed="当前人力饱和 可启动 12月7日")
    assert again["toast"]["content"] == "已拒绝"
