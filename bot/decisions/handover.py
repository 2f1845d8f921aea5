"""转交: a decision moves to another person, who gets it with a fresh response window.

Every flow offers it (`HAND_OVER` in flow.py). Who may hand over, and to whom, is written in
bot/engine/policy.py (`may_hand_over`, `hand_over_bar`); the new deadline in
bot/workflows/clocks.py (`response_due`): the flow's whole window counted from the hand-over, so
the escalation steps, claimed per decider and deadline, start again for the new person.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.commands.model import PersonRef
from bot.commands.people import parse_people
from bot.commands.text import Folded
from bot.core import Buttons, Card, Note
from bot.decisions.cards import reference
from bot.decisions.flow import LIVE_STATES, Answer, AnswerIncomplete, DecisionFlow, DecisionState, Option
from bot.engine.availability import Availability, day_label
from bot.engine.errors import DomainError
from bot.engine.policy import HandOverBar, HandOverTarget, hand_over_bar, may_hand_over, may_hand_over_for_absent
from bot.engine.task_views import display_name
from bot.presentation.format import short_due
from bot.router import Post
from storage.repositories import LeaveRepository
from storage.tables import Decision, Task, User

if TYPE_CHECKING:
    from bot.decisions.service import DecisionService


class HandOverRefused(AnswerIncomplete):
    """The person named may not take the decision; the message says what to send instead."""


def ask_whom(option: Option, ref: str) -> str:
    return f"{option.label}给谁？请 @ 接手的同事（不能是机器人），发送：{option.label} {ref} @某人"


def person_in_field(typed: str) -> PersonRef | None:
    """The person typed into a card's text field before pressing 转交 (a name; @ is optional)."""
    people = parse_people(Folded.of(typed).fold)
    return people[0] if people else None


class HandOvers:
    """转交 for one scope: who may, to whom, and moving the decision."""

    def __init__(self, decisions: DecisionService) -> None:
        self.decisions = decisions
        self.scope = decisions.scope

    def _availability(self) -> Availability:
        today = self.scope.clock.now().astimezone(ZoneInfo(self.scope.timezone)).date()
        leaves = LeaveRepository(self.scope.session, self.scope.tenant.id or 0)
        return Availability(self.scope.directory, leaves, today)

    async def acts_for_absent(self, decision: Decision) -> bool:
        """The decider is on leave today and the actor may 转交 for them (bot/engine/policy.py)."""
        decider = await self.scope.directory.user(decision.decider_id)
        if decider is None or await self._availability().away(decider) is None:
            return False
        department = await self.scope.directory.department(decider.department_id) if decider.department_id else None
        actor = self.scope.user
        return may_hand_over_for_absent(actor.id or 0, actor.is_admin, decision.requester_id, decider.leader_user_id,
                                        department.head_user_id if department else None)

    async def may(self, decision: Decision) -> bool:
        actor_id = self.scope.user.id or 0
        return may_hand_over(actor_id, decision.decider_id,
                             acts_for_absent=actor_id != decision.decider_id and await self.acts_for_absent(decision))

    async def target(self, flow: DecisionFlow, decision: Decision, task: Task, option: Option,
                     named: PersonRef | None) -> User:
        """The person named, if the decision may go to them; else HandOverRefused saying what to send."""
        ref = reference(decision, task)
        if named is None:
            raise HandOverRefused(ask_whom(option, ref))
        send = f"请发送：{option.label} {ref} @某人"
        try:
            person = await self.scope.people.resolve(named)
        except DomainError:
            who = f"成员「{named.name}」" if named.name else "这位成员"
            raise HandOverRefused(f"找不到{who}：只能转交给本企业的同事（在输入框里输入 @ 后从列表中选人）。"
                                  f"{send}") from None
        fellows = [d.decider_id for d in await self.decisions.repo.in_request(task.id or 0, decision.request)
                   if d.id != decision.id and d.kind == decision.kind and d.state in LIVE_STATES] \
            if decision.request else []
        away = await self._availability().away(person)
        bar = hand_over_bar(HandOverTarget(person.id or 0, person.tenant_id, away is not None),
                            tenant_id=self.scope.tenant.id or 0, decider_id=decision.decider_id,
                            requester_id=decision.requester_id, fellow_decider_ids=fellows)
        if bar is None:
            return person
        name, what = display_name(person), flow.name(decision)
        reasons = {
            HandOverBar.SAME: f"{what} 已经由 {name} 处理，请转交给其他人。",
            HandOverBar.REQUESTER: f"{what} 是 {name} 提出的，不能转交给提出人本人，请转交给其他人。",
            HandOverBar.ALSO_ASKED: f"{name} 已在处理同一请求中自己的那一份，不能再接手这一份，请转交给其他人。",
            HandOverBar.NOT_A_MEMBER: f"{name} 不是本企业的成员，只能转交给本企业的同事。",
            HandOverBar.AWAY: f"{name} 请假中（至 {day_label(away.until) if away else ''}），请转交给在岗的同事。",
        }
        raise HandOverRefused(f"{reasons[bar]}{send}")

    async def apply(self, flow: DecisionFlow, answer: Answer) -> tuple[Card, str, list[Post]]:
        """The decision moves to the new person: a fresh deadline and token, their cards, and the old
        cards (whose buttons the new token outdates) saying where it went."""
        decision, person, actor = answer.decision, answer.person, answer.actor
        assert person is not None
        previous = decision.decider_id
        decision.data = {**decision.data, "handed_from": previous, "handed_by": actor.id}
        decision.decider_id = person.id or 0
        decision.token = secrets.token_hex(8)
        decision.responded_at = None
        decision.state = DecisionState.OPEN
        decision.due_at = await self.decisions.due(decision.kind, decision.data, decision.chat_id)
        card = await self.decisions.card(decision)
        target = display_name(person)
        by = "" if actor.id == previous else f"（代 {display_name(await self.scope.directory.user(previous))}）"
        due = f"，回复时限 {short_due(decision.due_at, self.scope.timezone)}" if decision.due_at else ""
        await self.scope.tasks.note(answer.task, actor, f"{flow.kind}_handed",
                                    f"{flow.name(decision)} 由 {display_name(actor)}{by} 转交给 {target}{due}")
        handed = Card(title=card.title, template="grey",
                      elements=(*(e for e in card.elements if not isinstance(e, Buttons)),
                                Note(f"已转交给 {target}{due}，由 {target} 处理。")))
        return handed, f"已转交给 {target}{due}", await self.decisions.posts(decision, card)
