"""The collaboration request as a decision: each asked department's head 接受 or 拒绝."""

from __future__ import annotations

from datetime import datetime

from bot.core import CardElement, Fields, Text
from bot.decisions import DecisionFlow, DecisionService, FlowEffects, Option, register_flow
from bot.decisions.flow import HAND_OVER, Answer, DecisionState
from bot.presentation.format import short_due
from bot.presentation.words import priority_word
from bot.router import Post
from storage.tables import Decision, Task

KIND = "collaboration"
REQUEST = "collab"


class CollaborationFlow(DecisionFlow):
    kind = KIND
    title = "跨部门协作请求"
    noun = "协作请求"
    options = (
        Option("accept", "接受", "已接受", "primary"),
        Option("reject", "拒绝", "已拒绝", "danger", needs="原因"),
        HAND_OVER,
    )

    def name(self, decision: Decision) -> str:
        return f"协作请求（{decision.data.get('department', '')}）"

    def describe(self, decision: Decision, task: Task, names: dict[int, str], timezone: str) -> list[CardElement]:
        fields = [("请求部门", str(decision.data.get("department", ""))),
                  ("发起人", names.get(decision.requester_id or 0, "")),
                  ("优先级", priority_word(task.priority)),
                  ("期望启动", short_due(task.start_at, timezone) if task.start_at else "尽快"),
                  ("截止", short_due(task.due_at, timezone))]
        elements: list[CardElement] = [Fields(tuple(fields))]
        brief = [f"**背景**：{task.background}"] if task.background else []
        if task.objective:
            brief.append(f"**目标**：{task.objective}")
        if task.deliverables:
            brief.append(f"**交付物**：{task.deliverables}")
        if brief:
            elements.append(Text("\n".join(brief)))
        return elements

    async def after(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        from bot.workflows.collaboration.service import CollaborationService

        return await CollaborationService(decisions.scope).answered(answer, decisions)

    async def handed_over(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        """The department stays the one asked; its line on the overview names the new decider."""
        from bot.workflows.collaboration.service import CollaborationService

        refresh, _ = await CollaborationService(decisions.scope).overview(answer.task)
        return FlowEffects(refreshes=[refresh])


FLOW = register_flow(CollaborationFlow())


def department_line(decision: Decision, names: dict[int, str], parts: dict[str, str], timezone: str,
                    now: datetime) -> tuple[str, str]:
    """One department's state on the request's overview."""
    head = names.get(decision.decider_id, "")
    department = f"{decision.data.get('department', '')}（{head}）"
    if decision.state == DecisionState.DECIDED and decision.outcome == "accept":
        part = decision.data.get("part", "")
        return department, f"✅ 已接受 · {part} 由 {parts.get(part, head)} 负责"
    if decision.state == DecisionState.DECIDED:
        later = decision.data.get("proposed_start")
        text = f"❌ 已拒绝：{decision.answer or ''}"
        if later:
            text += f"（可启动 {later}）"
        return department, text
    late = "，已超时" if decision.due_at is not None and decision.due_at < now else ""
    return department, f"⏳ 待答复（时限 {short_due(decision.due_at, timezone, now)}{late}）"


def accepted_post(decision: Decision, task: Task, part: Task, owner_mention: str, owner_is_head: bool,
                  chat_id: str | None) -> Post:
    text = (f"✅ {decision.data.get('department', '')} 已接受协作请求 {task.code}，"
            f"由 {owner_mention} 负责子任务 {part.code}。")
    if owner_is_head:
        text += f"如需指定执行人，请发送：指派 {part.code} @某人"
    return Post(text=text, chat_id=chat_id)


def refused_post(decision: Decision, task: Task, initiator: str, reason: str, later: str | None,
                 chat_id: str | None) -> Post:
    text = f"❌ {decision.data.get('department', '')} 拒绝了协作请求 {task.code}：{reason}"
    if later:
        text += f"；可启动时间：{later}"
    return Post(text=text + f"。请 {initiator} 调整后重新发起，或与该部门负责人沟通。", chat_id=chat_id)
