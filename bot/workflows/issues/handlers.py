"""卡点, 风险 and 问题."""

from __future__ import annotations

from bot.core import Card, Text
from bot.decisions import DecisionService
from bot.engine.task_views import display_name
from bot.presentation.words import risk_level_word
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.clocks import BLOCKER_HOURS, risk_hours
from bot.workflows.issues.cards import issues_card
from bot.workflows.issues.commands import RaiseBlocker, RaiseRisk, ShowIssues
from bot.workflows.issues.service import IssueService
from storage.tables import Decision

router = Router("issues")


async def _asked(scope: Scope, decision: Decision, headline: str) -> Reply:
    decisions = DecisionService(scope)
    card = await decisions.card(decision)
    return Reply(card=Card(title=card.title, template=card.template, elements=(Text(headline), *card.elements)),
                 key=decisions.card_key(decision), posts=(await decisions.direct_post(decision),))


@router.command(RaiseBlocker)
async def blocker(command: RaiseBlocker, scope: Scope) -> Reply:
    decision = await IssueService(scope).blocker(command)
    return await _asked(scope, decision, f"已上报卡点 #{decision.number}，需在 {BLOCKER_HOURS} 小时内答复。")


@router.command(RaiseRisk)
async def risk(command: RaiseRisk, scope: Scope) -> Reply:
    decision = await IssueService(scope).risk(command)
    return await _asked(scope, decision, f"已上报{risk_level_word(command.level)}风险 #{decision.number}，"
                                         f"需在 {risk_hours(command.level)} 小时内答复。")


@router.command(ShowIssues)
async def show(command: ShowIssues, scope: Scope) -> Reply:
    task, issues = await IssueService(scope).of_task(command.code)
    users = await scope.directory.users_by_ids([i.decider_id for i in issues])
    names = {uid: display_name(u) for uid, u in users.items()}
    return Reply(card=issues_card(task, issues, names, scope.timezone, scope.clock.now()), task_code=task.code)


