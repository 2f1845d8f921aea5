"""变更."""

from __future__ import annotations

from bot.core import Card, Text
from bot.engine.task_views import display_name
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.changes.commands import RequestChange
from bot.workflows.changes.service import ChangeService

router = Router("changes")


@router.command(RequestChange)
async def request(command: RequestChange, scope: Scope) -> Reply:
    return await ask_for_change(scope, command)


async def ask_for_change(scope: Scope, command: RequestChange) -> Reply:
    """A change request, asked of everyone who must agree (or applied when nobody else has a say)."""
    service = ChangeService(scope)
    task, asked, applied = await service.request(command)
    if applied:
        return Reply(text=f"变更已直接生效（任务 {task.code} 没有其他需要确认的人）。发送「任务 {task.code}」查看。",
                     task_code=task.code)
    overview = await service.overview(task, asked[0].request)
    users = await scope.directory.users_by_ids([d.decider_id for d in asked])
    names = "、".join(display_name(users.get(d.decider_id)) for d in asked)
    card = Card(title=overview.card.title, template=overview.card.template, elements=(
        Text(f"已提交变更申请，需 {names} 全部同意后生效。"), *overview.card.elements))
    return Reply(card=card, key=overview.key, task_code=task.code,
                 posts=tuple([post for d in asked for post in await service.decisions.posts(d)]))
