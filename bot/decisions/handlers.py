"""The decision buttons, answers typed as messages, and 待我处理."""

from __future__ import annotations

from typing import Literal, cast

from bot.commands.keyed import Rejected
from bot.core import ActionPayload, Card, Fields, Note, Text
from bot.decisions.cards import ACTION, ANSWER_FIELD
from bot.decisions.commands import AnswerDecision, ShowWaiting, answer_from_card
from bot.decisions.flow import HAND_OVER, LIVE_STATES, flow_for
from bot.decisions.handover import HandOvers, person_in_field
from bot.decisions.service import STALE, Answered, DecisionService
from bot.engine.errors import DomainError
from bot.engine.task_views import display_name
from bot.presentation.format import short_due
from bot.router import CardRefresh, Reply, Router
from bot.scope import Scope
from storage.tables import Decision

router = Router("decisions")
ToastKind = Literal["success", "info", "warning", "error"]


def _reply(answered: Answered, *, inline: bool) -> Reply:
    # Every copy of the card (in the group and sent to the decider) shows the answer; the copy
    # pressed is also answered inline, and a typed answer's reply shows the card in its chat.
    refreshes = [CardRefresh(key=key, card=answered.card, shown_in_reply=not inline)
                 for key in answered.copies] + list(answered.refreshes)
    card = answered.card
    if answered.headline and not inline:
        card = Card(title=card.title, elements=(Text(answered.headline), *card.elements), template=card.template)
    return Reply(card=card, toast=answered.toast, toast_kind=cast(ToastKind, answered.toast_kind),
                 posts=tuple(answered.posts), refreshes=tuple(refreshes))


@router.action(ACTION)
async def press(action: ActionPayload, scope: Scope) -> Reply:
    option, _, token = action.arg.partition(".")
    if not action.ref.isdigit() or not token:
        raise DomainError(STALE)
    typed = scope.inputs.get(ANSWER_FIELD, "").strip()
    service = DecisionService(scope)
    if option == HAND_OVER.key:
        # The field names who takes over; checked against the directory, never trusted as an id.
        answered = await service.answer(int(action.ref), option, token=token, by_button=True,
                                        handed_to=person_in_field(typed) if typed else None)
        return _reply(answered, inline=True)
    try:
        text, proposed = answer_from_card(typed, scope.parse_context()) if typed else (None, None)
    except Rejected:
        # A toast is one short line: the grammar's full list of date forms does not fit there.
        raise DomainError("没有看懂「可启动」后的日期，例如写：可启动 12月20日。改好后再点一次。") from None
    answered = await service.answer(int(action.ref), option, token=token, text=text,
                                    proposed=proposed, by_button=True)
    return _reply(answered, inline=True)


def _noun(decision: Decision) -> str:
    flow = flow_for(decision.kind)
    return flow.noun if flow is not None else decision.kind


def _called(decision: Decision, noun: str) -> bool:
    """Whether `noun` (卡点, 变更 …, as typed before #n) names this decision's kind."""
    flow = flow_for(decision.kind)
    return flow is not None and noun in (flow.noun, flow.title)


@router.command(AnswerDecision)
async def answer(command: AnswerDecision, scope: Scope) -> Reply:
    service = DecisionService(scope)
    task = await scope.tasks.tasks.by_code(command.code)
    if task is None:
        raise DomainError(f"找不到任务 {command.code}。发送「待我处理」查看等你处理的事项。")
    waiting = [d for d in await service.repo.for_task(task.id or 0) if d.state in LIVE_STATES
               and (flow := flow_for(d.kind)) is not None and flow.option_named(command.word) is not None]
    if command.number is not None:
        waiting = [d for d in waiting if d.number == command.number]
    if command.noun is not None:
        waiting = [d for d in waiting if _called(d, command.noun)]
    if not waiting:
        raise DomainError(f"任务 {task.code} 没有可以「{command.word}」的待处理事项。"
                          "发送「待我处理」查看等你处理的事项。")
    mine = [d for d in waiting if d.decider_id == scope.user.id]
    if not mine and command.word == HAND_OVER.label:
        # 转交 for a decider on leave, by the person who asked, their superior or head, or an admin.
        hand_overs = HandOvers(service)
        mine = [d for d in waiting if await hand_overs.acts_for_absent(d)]
    if not mine:
        deciders = await scope.directory.users_by_ids([d.decider_id for d in waiting])
        names = "、".join(dict.fromkeys(display_name(deciders.get(d.decider_id)) for d in waiting))
        raise DomainError(f"这件事要由 {names} 处理（任务 {task.code}），你的回复没有改变任何内容。")
    if len(mine) > 1:
        named = [f"{_noun(d)} #{d.number}" for d in mine]
        raise DomainError(f"任务 {task.code} 有 {len(mine)} 件等你{command.word}的事（{'、'.join(named)}），"
                          f"请写明是哪一件，例如：{command.word} {task.code} {named[-1]} ……")
    decision = mine[0]
    flow = flow_for(decision.kind)
    assert flow is not None
    option = flow.option_named(command.word)
    assert option is not None
    if option.hands_over:
        answered = await service.answer(decision.id or 0, option.key, token=None, by_button=False,
                                        handed_to=command.people[0] if command.people else None)
        return _reply(answered, inline=False)
    person = await scope.people.resolve(command.people[0]) if command.people else None
    answered = await service.answer(decision.id or 0, option.key, token=None, text=command.text, person=person,
                                    proposed=command.proposed, by_button=False)
    return _reply(answered, inline=False)


@router.command(ShowWaiting)
async def waiting(command: ShowWaiting, scope: Scope) -> Reply:
    items = await DecisionService(scope).waiting_on(scope.user)
    now = scope.clock.now()
    if not items:
        return Reply(card=Card(title="待我处理", elements=(Text("没有等你处理的事项。"),), template="green"))
    lines = []
    for decision, task in items:
        flow = flow_for(decision.kind)
        name = flow.name(decision) if flow is not None else decision.kind
        due = short_due(decision.due_at, scope.timezone, now) if decision.due_at else "无时限"
        late = "（已超时）" if decision.due_at is not None and decision.due_at < now else ""
        lines.append((f"{name} · {task.code}", f"{task.title} · 时限 {due}{late}"))
    return Reply(card=Card(title=f"待我处理（{len(items)}）", elements=(
        Fields(tuple(lines)), Note("在卡片上处理，或回复命令，例如：接受 XZB20231001；发送「帮助」查看用法。"),
    ), template="orange"))
