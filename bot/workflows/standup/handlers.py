"""站会: settings and answers."""

from __future__ import annotations

from bot.core import Card, Text
from bot.decisions import DecisionService
from bot.engine.task_views import display_name
from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.standup.commands import AnswerStandup, ConfigureStandup
from bot.workflows.standup.service import StandupService, members_of
from storage.tables import Standup

router = Router("standup")


async def _describe(scope: Scope, standup: Standup | None) -> str:
    if standup is None or not standup.enabled:
        return ("本群未开启站会。管理员可发送：站会 时间 09:30"
                "（之后可设 站会 成员 @a @b、站会 提醒 10:30、站会 汇总 11:00）")
    members, _ = await members_of(scope.session, scope.tenant.id or 0, standup)
    who = "、".join(display_name(m) for m in members) or "（尚无：未设置成员时为本群有进行中任务的负责人）"
    who_set = "" if standup.member_ids else "（未设置成员，按本群任务的负责人）"
    parts = [f"每个工作日 {standup.prompt_time} 提问"]
    if standup.remind_time:
        parts.append(f"{standup.remind_time} 提醒未回答的人")
    if standup.summary_time:
        parts.append(f"{standup.summary_time} 汇总")
    return f"本群站会：{'，'.join(parts)}。成员：{who}{who_set}。"


@router.command(ConfigureStandup)
async def configure(command: ConfigureStandup, scope: Scope) -> Reply:
    service = StandupService(scope)
    if command.show:
        return Reply(text=await _describe(scope, await service.current()))
    standup = await service.configure(command)
    if not standup.enabled:
        return Reply(text="本群站会已关闭。重新开启请发送：站会 时间 09:30")
    return Reply(text="已设置。" + await _describe(scope, standup))


@router.command(AnswerStandup)
async def answer(command: AnswerStandup, scope: Scope) -> Reply:
    recorded = await StandupService(scope).answer(command)
    until = f"（{recorded.summary_at} 汇总前可再次发送修改）" if recorded.summary_at else "（可再次发送修改）"
    said = f"已记录 {display_name(scope.user)} 的站会{until}"
    if recorded.blocker_refused:
        said += f"。障碍未能上报为卡点：{recorded.blocker_refused}"
    if recorded.blocker is None:
        return Reply(text=said)
    decisions = DecisionService(scope)
    card = await decisions.card(recorded.blocker)
    headline = f"{said}。障碍已上报为卡点 #{recorded.blocker.number}。"
    return Reply(card=Card(title=card.title, template=card.template, elements=(Text(headline), *card.elements)),
                 key=decisions.card_key(recorded.blocker))
