"""Blockers and risks as decisions: the receiver acknowledges, resolves or hands over."""

from __future__ import annotations

from bot.core import CardElement, Fields, Text
from bot.decisions import DecisionFlow, DecisionService, FlowEffects, Option, register_flow
from bot.decisions.flow import HAND_OVER, Answer
from bot.engine.people import mention
from bot.presentation.words import risk_level_word
from bot.router import Post
from storage.tables import Decision, Task

OPTIONS = (
    Option("ack", "已知悉", "已知悉", closes=False),
    Option("resolve", "已解决", "已解决", "primary", needs="方案"),
    HAND_OVER,
)


class IssueFlow(DecisionFlow):
    options = OPTIONS

    def __init__(self, kind: str, title: str, noun: str) -> None:
        self.kind = kind
        self.title = title
        self.noun = noun

    def describe(self, decision: Decision, task: Task, names: dict[int, str], timezone: str) -> list[CardElement]:
        fields = [("上报人", names.get(decision.requester_id or 0, "")), ("任务", f"{task.code} {task.title}")]
        if decision.data.get("level"):
            fields.insert(0, ("级别", f"{risk_level_word(decision.data['level'])}风险"))
        lines = [f"**{self.noun}**：{decision.data.get('description', '')}"]
        if decision.data.get("impact"):
            lines.append(f"**影响**：{decision.data['impact']}")
        if decision.data.get("suggestion"):
            lines.append(f"**建议**：{decision.data['suggestion']}")
        return [Fields(tuple(fields)), Text("\n".join(lines))]

    async def after(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        """The outcome goes back to the group, to the person who raised it."""
        decision, task = answer.decision, answer.task
        reporter = await decisions.scope.directory.user(decision.requester_id or 0)
        to = mention(reporter) if reporter is not None else ""
        name = f"{self.name(decision)}（{task.code}）"
        if answer.option.key == "ack":
            text = f"👀 {mention(answer.actor)} 已知悉{name}，正在处理。{to}"
        elif answer.option.key == "resolve":
            text = f"✅ {name}已解决：{answer.text}。{to}"
        else:
            return FlowEffects()
        return FlowEffects(posts=[Post(text=text, chat_id=await decisions.chat_of(decision.chat_id))])


BLOCKER = register_flow(IssueFlow("blocker", "卡点上报", "卡点"))
RISK = register_flow(IssueFlow("risk", "风险上报", "风险"))
