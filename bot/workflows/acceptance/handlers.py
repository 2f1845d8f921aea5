"""提交验收."""

from __future__ import annotations

from bot.core import Card, Text
from bot.engine.people import mention
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.acceptance.commands import SubmitForReview
from bot.workflows.acceptance.service import AcceptanceService
from bot.workflows.clocks import REVIEW_WORKING_DAYS

router = Router("acceptance")


@router.command(SubmitForReview)
async def submit(command: SubmitForReview, scope: Scope) -> Reply:
    service = AcceptanceService(scope)
    task, decision = await service.submit(command)
    card = await service.decisions.card(decision)
    reviewer = await scope.directory.user(decision.decider_id)
    who = mention(reviewer) if reviewer is not None else ""
    headline = f"{task.code} 已提交验收，状态：待验收。请 {who} 在 {REVIEW_WORKING_DAYS} 个工作日内验收。"
    return Reply(card=Card(title=card.title, template=card.template, elements=(Text(headline), *card.elements)),
                 key=service.decisions.card_key(decision), task_code=task.code,
                 posts=(await service.decisions.direct_post(decision),))
