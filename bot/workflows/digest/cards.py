"""The weekly digest and monthly review cards, and the Friday progress nudge."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core import Card, Fields, Note, Text
from bot.engine.people import mention
from bot.engine.task_views import display_name
from bot.presentation.format import short_due
from bot.workflows.digest.report import Delayed, MonthlyReview, WeeklyDigest
from storage.tables import ReviewNote, Task, TaskStatus, User

LIMIT = 10


def _rate(on_time: int, due: int, percent: int | None) -> str:
    return f"{on_time}/{due} = {percent}%" if percent is not None else "本期无到期任务"


def _lines(items: list[str]) -> str:
    if not items:
        return "无"
    more = f"\n…等共 {len(items)} 项" if len(items) > LIMIT else ""
    return "\n".join(items[:LIMIT]) + more


def _owner(task: Task, owners: dict[int, User]) -> str:
    return display_name(owners.get(task.owner_id or 0)) if task.owner_id else "未指派"


def weekly_card(digest: WeeklyDigest, timezone: str, now: datetime, *, late: bool = False) -> Card:
    tz = ZoneInfo(timezone)
    first, last = digest.start.astimezone(tz), (digest.end - timedelta(days=1)).astimezone(tz)

    def due(task: Task) -> str:
        return short_due(task.due_at, timezone, now)

    elements: list[Text | Fields | Note] = [
        Fields((("完成率", _rate(digest.on_time, digest.due, digest.rate)), ("本周完成", f"{len(digest.done)} 项"),
                ("进行中", f"{len(digest.in_progress)} 项"), ("已延期", f"{len(digest.overdue)} 项"),
                ("未解决风险/卡点", f"{len(digest.issues)} 个"), ("下周到期", f"{len(digest.due_next)} 项"))),
        Text("**本周完成**\n" + _lines([f"✅ {t.code} {t.title}（{_owner(t, digest.owners)}）" for t in digest.done])),
        Text("**进行中**\n" + _lines([f"{t.code} {t.title} {t.progress}%（{_owner(t, digest.owners)}，截止 {due(t)}）"
                                      for t in digest.in_progress])),
        Text("**已延期**\n" + _lines([f"🔴 {t.code} {t.title}（{_owner(t, digest.owners)}，截止 {due(t)}）"
                                      for t in digest.overdue])),
        Text("**未解决的风险和卡点**\n" + _lines([
            f"{'卡点' if d.kind == 'blocker' else '风险'} #{d.number} {t.code}：{(d.data or {}).get('description', '')}"
            for d, t in digest.issues])),
        Text("**下周到期**\n" + _lines([f"{t.code} {t.title}（{_owner(t, digest.owners)}，截止 {due(t)}）"
                                        for t in digest.due_next])),
    ]
    if late:
        elements.append(Note("本周报因服务中断延后发送。"))
    elements.append(Note("完成率 = 本周到期任务中按时完成的比例。随时发送「周报」或「周报 上周」查看。"))
    title = f"📊 周报 · {first.month}月{first.day}日–{last.month}月{last.day}日" + ("（补发）" if late else "")
    return Card(title=title, elements=tuple(elements), template="blue")


def monthly_card(review: MonthlyReview, timezone: str, note: ReviewNote | None, *, late: bool = False) -> Card:
    tz = ZoneInfo(timezone)

    def delayed(item: Delayed) -> str:
        task = item.task
        due = task.due_at.astimezone(tz) if task.due_at else None
        when = f"截止 {due.month}月{due.day}日" if due else "无截止"
        if task.completed_at is not None and task.status == TaskStatus.DONE:
            done = task.completed_at.astimezone(tz)
            state = f"{done.month}月{done.day}日完成"
        else:
            state = "仍未完成"
        reason = f"；原因：{item.reason}" if item.reason else "；未说明原因"
        return f"{task.code} {task.title}（{_owner(task, review.owners)}，{when}，{state}）{reason}"

    elements: list[Text | Fields | Note] = [
        Fields((("按时完成率", _rate(review.on_time, review.due, review.rate)),
                ("延期任务", f"{len(review.delayed)} 项"), ("协作问题", f"{len(review.requests)} 个"),
                ("卡点", f"{sum(n for _, n, _ in review.blockers)} 个"))),
        Text("**延期任务及原因**\n" + _lines([delayed(d) for d in review.delayed])),
        Text("**跨部门协作：拒绝或超时**\n"
             + _lines([f"{r.task.code} {r.task.title}：{r.what}" for r in review.requests])),
        Text("**卡点（按部门）**\n"
             + _lines([f"{name} {n} 个（未解决 {unresolved}）" for name, n, unresolved in review.blockers])),
    ]
    if note is not None:
        elements.append(Text(f"**上次复盘（{note.period}）的措施**\n{note.actions or '无'}"))
    if late:
        elements.append(Note("本月报因服务中断延后发送。"))
    elements.append(Note("按时完成率 = 本月到期任务中按时完成的比例（向下取整）。"
                         "记录复盘：复盘 做得好 … 待改进 … 措施 …"))
    title = f"🗓️ 月度复盘 · {review.year}年{review.month}月" + ("（补发）" if late else "")
    return Card(title=title, elements=tuple(elements), template="purple")


def note_card(note: ReviewNote, author: User | None) -> Card:
    return Card(title=f"📝 复盘 · {note.period}", template="purple", elements=(
        Text(f"**做得好**\n{note.good or '—'}"), Text(f"**待改进**\n{note.improve or '—'}"),
        Text(f"**措施**\n{note.actions or '—'}"), Note(f"记录人：{display_name(author)}"),
    ))


def nudge_text(owners: list[User]) -> str:
    return (f"📝 周五进度更新：请 {' '.join(mention(u) for u in owners)} 更新本周任务进度，"
            "例如：进度 XZB20231001-01 80% 还差视频剪辑。17:00 发周报。")
