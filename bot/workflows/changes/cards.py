"""A change request's overview: old → new, and each decider's answer."""

from __future__ import annotations

from bot.core import Card, CardElement, Fields, Note, Text
from bot.core.cards import Template
from bot.presentation.format import short_due
from storage.tables import Decision, Task

ANSWERS = {"approve": "✅ 已同意", "veto": "❌ 已驳回"}


def change_card(task: Task, asked: list[Decision], names: dict[int, str], timezone: str) -> Card:
    first = asked[0]
    number = first.request.removeprefix("change-")
    elements: list[CardElement] = [
        Fields((("申请人", names.get(first.requester_id or 0, "")), ("原因", str(first.data.get("reason", ""))))),
        Text("**变更内容**\n" + "\n".join(str(line) for line in first.data.get("lines", []))),
    ]
    rows = []
    for decision in asked:
        if decision.state == "decided":
            state = ANSWERS.get(decision.outcome or "", "已处理")
            if decision.answer:
                state += f"：{decision.answer}"
        elif decision.state == "withdrawn":
            state = "— 无需确认（已驳回）"
        else:
            state = f"⏳ 待确认（时限 {short_due(decision.due_at, timezone)}）"
        rows.append((names.get(decision.decider_id, ""), state))
    elements.append(Fields(tuple(rows)))
    vetoed = any(d.outcome == "veto" for d in asked)
    agreed = all(d.outcome == "approve" for d in asked)
    result = "已驳回，变更未生效" if vetoed else ("全员同意，已生效" if agreed else "等待确认，全部同意后自动生效")
    elements.append(Note(f"结果：{result}"))
    template: Template = "red" if vetoed else ("green" if agreed else "orange")
    return Card(title=f"变更 #{number} · {task.code} {task.title}", elements=tuple(elements), template=template)
