"""发起协作 and 协作."""

from __future__ import annotations

from bot.core import Card, Text
from bot.decisions import DecisionService
from bot.engine.errors import DomainError
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.collaboration.commands import RequestCollaboration, ShowCollaboration
from bot.workflows.collaboration.service import CollaborationService

router = Router("collaboration")


@router.command(RequestCollaboration)
async def request(command: RequestCollaboration, scope: Scope) -> Reply:
    service = CollaborationService(scope)
    task, asked = await service.request(command)
    decisions = DecisionService(scope)
    overview, _ = await service.overview(task)
    heads = "、".join(str(d.data.get("department", "")) for d in asked)
    card = overview.card
    card = Card(title=card.title, template=card.template, elements=(
        Text(f"已向 {heads} 发起协作请求，各部门负责人需在 2 个工作日内答复。"), *card.elements))
    return Reply(card=card, key=overview.key, task_code=task.code,
                 posts=tuple([post for d in asked for post in await decisions.posts(d)]))


@router.command(ShowCollaboration)
async def show(command: ShowCollaboration, scope: Scope) -> Reply:
    task = await scope.tasks.tasks.by_code(command.code)
    if task is None:
        raise DomainError(f"找不到任务 {command.code}。发送「本群任务」查看任务编号。")
    overview, decisions = await CollaborationService(scope).overview(task)
    if not decisions:
        raise DomainError(f"任务 {task.code} 不是跨部门协作请求。发送「任务 {task.code}」查看详情。")
    return Reply(card=overview.card, task_code=task.code)
