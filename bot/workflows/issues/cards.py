"""问题: a task's blockers and risks with their clocks."""

from __future__ import annotations

from datetime import datetime

from bot.core import Card, CardElement, Note, Text
from bot.core.cards import Template
from bot.decisions.flow import flow_for
from bot.presentation.format import short_due
from bot.presentation.words import risk_level_word
from storage.tables import Decision, Task

STATES = {"open": "待处理", "acknowledged": "已知悉，处理中", "decided": "已解决", "withdrawn": "已撤销"}


def issues_card(task: Task, issues: list[Decision], names: dict[int, str], timezone: str, now: datetime) -> Card:
    if not issues:
        return Card(title=f"问题 · {task.code} {task.title}", template="green", elements=(
            Text("这个任务没有上报过卡点或风险。"),
            Note(f"上报：卡点 {task.code} 描述 需要 @某人；风险 高 {task.code} 描述 影响 …… 建议 ……"),
        ))
    elements: list[CardElement] = []
    late = 0
    for issue in issues:
        flow = flow_for(issue.kind)
        name = flow.name(issue) if flow is not None else issue.kind
        level = f"（{risk_level_word(issue.data['level'])}）" if issue.data.get("level") else ""
        state = STATES.get(issue.state, issue.state)
        line = f"**{name}{level}** · {state} · 处理人 {names.get(issue.decider_id, '')}"
        line += f"\n{issue.data.get('description', '')}"
        if issue.state == "decided":
            line += f"\n方案：{issue.answer or ''}"
        elif issue.due_at is not None:
            if issue.state == "open" and issue.due_at < now:
                late += 1
                line += f"\n⚠️ 已超过答复时限 {short_due(issue.due_at, timezone, now)}"
            elif issue.state == "open":
                line += f"\n答复时限 {short_due(issue.due_at, timezone, now)}"
        elements.append(Text(line))
    open_count = sum(1 for i in issues if i.state in ("open", "acknowledged"))
    elements.append(Note(f"共 {len(issues)} 个，未解决 {open_count} 个，超时未答复 {late} 个"))
    template: Template = "red" if late else ("orange" if open_count else "green")
    return Card(title=f"问题 · {task.code} {task.title}", elements=tuple(elements), template=template)
