"""The stand-up's prompt and summary cards, and its reminder."""

from __future__ import annotations

from datetime import date, datetime

from bot.core import Card, Fields, Note, Text
from bot.engine.people import mention
from bot.engine.task_views import display_name
from bot.presentation.format import short_due
from storage.tables import StandupAnswer, Task, User

WEEKDAYS = "一二三四五六日"
HOW = "请回复：站会 昨天 … 今天 … 障碍 …（障碍里写任务编号会自动上报卡点）"


def day_label(day: date) -> str:
    return f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


def prompt_card(day: date, members: list[User], tasks: dict[int, list[Task]], away: set[int],
                summary_at: str | None, timezone: str, now: datetime) -> Card:
    blocks: list[Text | Note] = []
    for member in members:
        if member.id in away:
            blocks.append(Text(f"**{display_name(member)}**（请假）"))
            continue
        own = tasks.get(member.id or 0, [])
        lines = [f"· {t.code} {t.title}（{t.progress}%，截止 {short_due(t.due_at, timezone, now)}）" for t in own]
        blocks.append(Text(f"**{mention(member)}**\n" + ("\n".join(lines) if lines else "· 暂无进行中的任务")))
    until = f"，{summary_at} 汇总前可修改" if summary_at else ""
    blocks.append(Note(HOW + until))
    return Card(title=f"☀️ 每日站会 · {day_label(day)}", elements=tuple(blocks), template="blue")


def reminder_text(missing: list[User]) -> str:
    return f"⏰ 站会提醒：{' '.join(mention(u) for u in missing)} 还没有回答今天的站会。{HOW}"


def summary_card(day: date, members: list[User], answers: dict[int, StandupAnswer], users: dict[int, User],
                 away: set[int], *, late: bool) -> Card:
    answered = [a for a in answers.values()]
    missing = [m for m in members if m.id not in answers and m.id not in away]
    on_leave = [m for m in members if m.id in away]
    elements: list[Text | Fields | Note] = [Fields((
        ("已回答", f"{len([m for m in members if m.id in answers])}/{len(members) - len(on_leave)}"),
        ("未回答", "、".join(display_name(m) for m in missing) or "无"),
        ("请假", "、".join(display_name(m) for m in on_leave) or "无"),
    ))]
    for answer in answered:
        person = users.get(answer.user_id)
        parts = [f"昨天：{answer.yesterday}" if answer.yesterday else None,
                 f"今天：{answer.today}" if answer.today else None,
                 f"障碍：{answer.blockers}" if answer.blockers else None]
        elements.append(Text(f"**{display_name(person)}**\n" + "\n".join(p for p in parts if p)))
    blockers = [(users.get(a.user_id), a.blockers) for a in answered if a.blockers]
    elements.append(Text("**障碍**\n" + ("\n".join(f"{display_name(u)}：{b}" for u, b in blockers)
                                         if blockers else "无")))
    if late:
        elements.append(Note("本汇总因服务中断延后发送。"))
    title = f"📋 站会汇总 · {day_label(day)}" + ("（补发）" if late else "")
    return Card(title=title, elements=tuple(elements), template="orange" if blockers else "green")
