"""延期原因: the reason goes into the timeline (kind `delay_reason`); a new date is a change request."""

from __future__ import annotations

import dataclasses

from bot.core import Card, Text
from bot.engine.errors import DomainError
from bot.engine.policy import TaskAction
from bot.presentation.words import closed_phrase
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.changes.commands import RequestChange
from bot.workflows.changes.handlers import ask_for_change
from bot.workflows.delays.commands import ExplainDelay
from storage.tables import CLOSED_STATUSES

router = Router("delays")
DELAY_REASON_EVENT = "delay_reason"


@router.command(ExplainDelay)
async def explain_delay(command: ExplainDelay, scope: Scope) -> Reply:
    task = await scope.tasks.require_for(command.code, actor=scope.user, action=TaskAction.REPORT_PROGRESS)
    if task.status in CLOSED_STATUSES:
        raise DomainError(f"任务 {task.code} 已{closed_phrase(task.status)}，无需说明延期。")
    await scope.tasks.note(task, scope.user, DELAY_REASON_EVENT, command.reason)
    said = f"已记录任务 {task.code} 的延期原因：{command.reason}。"
    if command.due is None:
        return Reply(text=said + f"如需调整截止时间，请发送：延期原因 {task.code} {command.reason} 新截止 日期",
                     task_code=task.code)
    # The new date takes effect as any deadline change does: agreed by whoever must agree (变更).
    change = await ask_for_change(scope, RequestChange(code=task.code, reason=f"延期：{command.reason}",
                                                       due=command.due))
    if change.card is not None:
        card = Card(title=change.card.title, template=change.card.template,
                    elements=(Text(said), *change.card.elements))
        return dataclasses.replace(change, card=card)
    return dataclasses.replace(change, text=said + (change.text or ""))
