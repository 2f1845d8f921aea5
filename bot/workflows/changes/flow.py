"""A change request as decisions: every head asked 同意 or 驳回; all must agree, one refusal ends it."""

from __future__ import annotations

from bot.core import CardElement, Fields, Text
from bot.decisions import DecisionFlow, DecisionService, FlowEffects, Option, register_flow
from bot.decisions.flow import HAND_OVER, Answer
from storage.tables import Decision, Task

KIND = "change"


def change_number(decision: Decision) -> str:
    return decision.request.removeprefix("change-")


class ChangeFlow(DecisionFlow):
    kind = KIND
    title = "变更申请"
    noun = "变更"
    options = (
        Option("approve", "同意", "已同意", "primary"),
        Option("veto", "驳回", "已驳回", "danger", needs="原因"),
        HAND_OVER,
    )

    def name(self, decision: Decision) -> str:
        return f"变更 #{change_number(decision)}"

    def describe(self, decision: Decision, task: Task, names: dict[int, str], timezone: str) -> list[CardElement]:
        lines = [str(line) for line in decision.data.get("lines", [])]
        return [
            Fields((("申请人", names.get(decision.requester_id or 0, "")), ("原因", str(decision.data.get("reason"))))),
            Text("**变更内容**\n" + "\n".join(lines)),
        ]

    async def after(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        from bot.workflows.changes.service import ChangeService

        return await ChangeService(decisions.scope).answered(answer, decisions)

    async def handed_over(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        from bot.workflows.changes.service import ChangeService

        overview = await ChangeService(decisions.scope).overview(answer.task, answer.decision.request)
        return FlowEffects(refreshes=[overview])


FLOW = register_flow(ChangeFlow())
