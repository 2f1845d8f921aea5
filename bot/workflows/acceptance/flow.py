"""A review as a decision: the deliverable next to its standard, 通过 or 不通过."""

from __future__ import annotations

from bot.core import CardElement, Fields, Text
from bot.decisions import DecisionFlow, DecisionService, FlowEffects, Option, register_flow
from bot.decisions.flow import HAND_OVER, Answer
from bot.engine.people import mention
from bot.router import Post
from storage.tables import Decision, Task, TaskStatus

KIND = "acceptance"


class AcceptanceFlow(DecisionFlow):
    kind = KIND
    title = "成果验收"
    noun = "验收"
    options = (
        Option("pass", "通过", "已通过", "primary"),
        Option("fail", "不通过", "不通过", "danger", needs="意见"),
        HAND_OVER,
    )

    def describe(self, decision: Decision, task: Task, names: dict[int, str], timezone: str) -> list[CardElement]:
        standard = decision.data.get("standard") or "（未写交付标准）"
        return [
            Fields((("提交人", names.get(decision.requester_id or 0, "")), ("进度", f"{task.progress}%"))),
            Text(f"**交付标准**：{standard}\n**交付物**：{decision.data.get('deliverable', '')}\n"
                 f"**自检**：{decision.data.get('self_check', '')}"),
        ]

    async def after(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        decision, task, tasks = answer.decision, answer.task, decisions.scope.tasks
        owner = await decisions.scope.directory.user(task.owner_id or 0)
        to = mention(owner) if owner is not None else ""
        chat = await decisions.chat_of(decision.chat_id)
        if answer.option.key == "pass":
            await tasks.finish(task, actor=answer.actor, detail="验收通过，任务完成并归档")
            return FlowEffects(posts=[Post(text=f"🎉 {task.code} {task.title} 验收通过，已完成。{to}", chat_id=chat)],
                               headline="验收通过，任务已完成。")
        await tasks.set_status(task, TaskStatus.IN_PROGRESS, allowed_from=(TaskStatus.IN_REVIEW,), actor=answer.actor,
                               detail=f"验收不通过，退回进行中：{answer.text}")
        return FlowEffects(posts=[Post(text=f"↩️ {task.code} 验收未通过：{answer.text}。请 {to} 修改后重新提交验收。",
                                       chat_id=chat)])


FLOW = register_flow(AcceptanceFlow())
