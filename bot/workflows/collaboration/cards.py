"""The request's overview: the brief and every department's answer as it arrives."""

from __future__ import annotations

from datetime import datetime

from bot.core import Card, CardElement, Fields, Note, Text
from bot.core.cards import Template
from bot.presentation.format import short_due
from bot.presentation.words import priority_word, status_word
from bot.workflows.collaboration.flow import department_line
from storage.tables import Decision, Task


def overview_card(task: Task, decisions: list[Decision], names: dict[int, str], parts: dict[str, str],
                  department: str, timezone: str, now: datetime, headline: str | None = None) -> Card:
    elements: list[CardElement] = []
    if headline:
        elements.append(Text(headline))
    elements.append(Fields((
        ("发起人", names.get(task.initiator_id or 0, "")), ("发起部门", department),
        ("优先级", priority_word(task.priority)),
        ("期望启动", short_due(task.start_at, timezone) if task.start_at else "尽快"),
        ("截止", short_due(task.due_at, timezone)), ("状态", status_word(task.status)),
    )))
    brief = [f"**背景**：{task.background or ''}", f"**目标**：{task.objective or ''}"]
    if task.deliverables:
        brief.append(f"**交付物**：{task.deliverables}")
    elements.append(Text("\n".join(brief)))
    elements.append(Fields(tuple(department_line(d, names, parts, timezone, now) for d in decisions)))
    accepted = sum(1 for d in decisions if d.outcome == "accept")
    elements.append(Note(f"{accepted}/{len(decisions)} 个部门已接受 · 查看：协作 {task.code}"))
    template: Template = "green" if decisions and accepted == len(decisions) else (
        "red" if any(d.outcome == "reject" for d in decisions) else "blue")
    return Card(title=f"跨部门协作 · {task.code} {task.title}", elements=tuple(elements), template=template)
