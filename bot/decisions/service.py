"""Asking for a decision and applying an answer: the rules every decision card follows.

Only the person a decision is for may answer it; the answer is checked against the stored row
(state, decider, token), never against what the button says. The task row is locked before the
decision, so two heads answering one request at the same moment are applied one after the other
and the second sees the first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from bot.commands.model import PersonRef
from bot.core import Card
from bot.decisions.cards import decision_card, reference
from bot.decisions.flow import LIVE_STATES, Answer, AnswerIncomplete, DecisionFlow, DecisionState, Option, flow_for
from bot.decisions.handover import HandOvers
from bot.engine.errors import DomainError
from bot.engine.task_views import display_name
from bot.router import CardRefresh, Post
from bot.scope import Scope
from bot.workflows.clocks import response_due
from storage.repositories import DecisionRepository, TaskRepository
from storage.tables import Decision, Task, User

DIRECT = ":direct"
STALE = "这张卡片已失效，请使用最新的卡片，或发送「待我处理」查看。"


@dataclass
class Answered:
    """The outcome of one answer, ready to show: the card as it now is and what else to send."""

    decision: Decision
    card: Card
    toast: str
    toast_kind: str = "success"
    headline: str | None = None
    posts: list[Post] = field(default_factory=list)
    refreshes: list[CardRefresh] = field(default_factory=list)
    # The keys of the decision's cards as they were before this answer (in the group, and sent
    # directly to the decider): every copy is shown as it now is.
    copies: list[str] = field(default_factory=list)


class DecisionService:
    def __init__(self, scope: Scope) -> None:
        assert scope.tenant.id is not None
        self.scope = scope
        self.repo = DecisionRepository(scope.session, scope.tenant.id)
        self.tasks = TaskRepository(scope.session, scope.tenant.id)

    def now(self) -> datetime:
        return self.scope.clock.now()

    # Asking -----------------------------------------------------------------------------------------

    async def ask(
        self, flow: DecisionFlow, task: Task, *, decider: User, data: dict[str, object],
        request: str = "", department_id: int | None = None,
    ) -> Decision:
        """Store a decision for `decider` (the caller holds the task's lock) and note it in the timeline.

        Its deadline is the flow's response window from now (bot/workflows/clocks.py)."""
        chat_id = task.chat_id or self.scope.chat.id
        due_at = await self.due(flow.kind, data, chat_id)
        decision = await self.repo.add(Decision(
            tenant_id=self.scope.tenant.id or 0, task_id=task.id or 0, kind=flow.kind,
            number=await self.repo.next_number(task.id or 0, flow.kind), request=request,
            decider_id=decider.id or 0, requester_id=self.scope.user.id, department_id=department_id,
            chat_id=chat_id, data=dict(data), token=secrets.token_hex(8),
            due_at=due_at, created_at=self.now(),
        ))
        await self.scope.tasks.note(task, self.scope.user, f"{flow.kind}_asked",
                                    f"{flow.name(decision)} 请 {display_name(decider)} 处理")
        return decision

    async def due(self, kind: str, data: dict[str, object], chat_id: int | None) -> datetime | None:
        """The flow's answer window from now, ending in the time zone of the decision's chat (where its
        reminders go), whichever chat it is asked or handed over from."""
        chat = await self.scope.directory.chat(chat_id) if chat_id not in (None, self.scope.chat.id) else None
        return response_due(self.scope, kind, data, timezone=chat.timezone if chat is not None else None)

    def card_key(self, decision: Decision) -> str:
        conv = self.scope.conversation
        return f"decision:{conv.platform}:{conv.tenant_key}:{decision.id}:{decision.token}"

    async def card(self, decision: Decision, *, prompt: str | None = None) -> Card:
        flow = self._flow(decision)
        task = await self.tasks.by_id(decision.task_id)
        assert task is not None
        ids = [i for i in (decision.decider_id, decision.requester_id, decision.decided_by_id) if i is not None]
        users = await self.scope.directory.users_by_ids(ids)
        return decision_card(flow, decision, task, users, self.scope.timezone, prompt=prompt)

    async def post(self, decision: Decision, card: Card | None = None) -> Post:
        """The decision's card, for the chat the task lives in; its key lets later answers refresh it."""
        return Post(card=card or await self.card(decision), key=self.card_key(decision),
                    chat_id=await self.chat_of(decision.chat_id))

    async def direct_post(self, decision: Decision, card: Card | None = None) -> Post:
        """The same card sent to the decider directly: a head need not be in the project's group."""
        decider = await self.scope.directory.user(decision.decider_id)
        assert decider is not None
        return Post(card=card or await self.card(decision), key=self.card_key(decision) + DIRECT,
                    direct_to=decider.platform_user_id)

    async def posts(self, decision: Decision, card: Card | None = None) -> list[Post]:
        """Both copies of the decision's card, built once."""
        card = card or await self.card(decision)
        return [await self.post(decision, card), await self.direct_post(decision, card)]

    def copies(self, decision: Decision) -> list[str]:
        key = self.card_key(decision)
        return [key, key + DIRECT]

    async def chat_of(self, chat_id: int | None) -> str | None:
        """The platform id of a chat of this tenant, or None when it is the chat being answered in."""
        if chat_id is None or chat_id == self.scope.chat.id:
            return None
        chat = await self.scope.directory.chat(chat_id)
        return chat.platform_chat_id if chat is not None else None

    # Answering --------------------------------------------------------------------------------------

    def _flow(self, decision: Decision) -> DecisionFlow:
        flow = flow_for(decision.kind)
        if flow is None:
            raise DomainError(STALE)
        return flow

    async def answer(
        self, decision_id: int, option_key: str, *, token: str | None, text: str | None = None,
        person: User | None = None, handed_to: PersonRef | None = None, proposed: datetime | None = None,
        by_button: bool,
    ) -> Answered:
        """Apply one answer; `token` (from a button) must match the stored one, or it is refused.

        `person` is who an answer names (the owner of an accepted part); `handed_to`, who a 转交
        names, is resolved and checked here, against the policy, once the row is locked."""
        actor = self.scope.user
        found = await self.repo.by_id(decision_id)
        if found is None:
            raise DomainError(STALE)
        task = await self.tasks.by_id(found.task_id, lock=True)
        decision = await self.repo.by_id(decision_id, lock=True)
        if task is None or decision is None:
            raise DomainError(STALE)
        flow = self._flow(decision)
        option = flow.option(option_key)
        if option is None or (token is not None and not secrets.compare_digest(token, decision.token)):
            raise DomainError(STALE)
        if decision.state not in LIVE_STATES:
            return await self._already(flow, decision)
        hand_overs = HandOvers(self)
        allowed = await hand_overs.may(decision) if option.hands_over else actor.id == decision.decider_id
        if not allowed:
            decider = await self.scope.directory.user(decision.decider_id)
            raise DomainError(f"只有 {display_name(decider)} 可以处理{flow.name(decision)}（任务 {task.code}），"
                              "你的点击没有改变任何内容。")
        if not option.closes and decision.state == DecisionState.ACKNOWLEDGED:
            return Answered(decision, await self.card(decision), f"{option.outcome}，无需重复。处理完后请回复结果。",
                            "info")
        try:
            if option.hands_over:
                person = await hand_overs.target(flow, decision, task, option, handed_to)
            self._check_text(decision, task, option, text)
        except AnswerIncomplete as missing:
            if by_button:
                return Answered(decision, await self.card(decision, prompt=missing.message), missing.message, "info")
            raise
        return await self._apply(flow, Answer(decision, task, option, actor, text, person, proposed))

    def _check_text(self, decision: Decision, task: Task, option: Option, text: str | None) -> None:
        """An answer that must say why (原因, 方案, 意见) and does not is asked for it."""
        if option.needs and not (text and text.strip()):
            raise AnswerIncomplete(f"{option.label}需要写明{option.needs}，"
                                  f"请发送：{option.label} {reference(decision, task)} {option.needs} ……")

    async def _already(self, flow: DecisionFlow, decision: Decision) -> Answered:
        decider = await self.scope.directory.user(decision.decided_by_id or decision.decider_id)
        outcome = flow.option(decision.outcome or "")
        said = outcome.outcome.removeprefix("已") if outcome is not None else "处理"
        if decision.state == DecisionState.WITHDRAWN:
            message = f"{flow.name(decision)} 已撤销，无需处理。"
        else:
            message = f"{flow.name(decision)} 已由 {display_name(decider)} {said}，无需重复处理。"
        return Answered(decision, await self.card(decision), message, "info")

    async def _apply(self, flow: DecisionFlow, answer: Answer) -> Answered:
        copies = self.copies(decision := answer.decision)
        decision.responded_at = decision.responded_at or self.now()
        if answer.option.hands_over:
            card, toast, posts = await HandOvers(self).apply(flow, answer)
            effects = await flow.handed_over(answer, self)
        else:
            await self._decide(flow, answer)
            card, toast, posts = await self.card(decision), f"已{answer.option.outcome.removeprefix('已')}", []
            effects = await flow.after(answer, self)
        return Answered(decision, card, toast, headline=effects.headline, posts=posts + effects.posts,
                        refreshes=effects.refreshes, copies=copies)

    async def _decide(self, flow: DecisionFlow, answer: Answer) -> None:
        decision, option = answer.decision, answer.option
        if option.closes:
            decision.state = DecisionState.DECIDED
            decision.outcome = option.key
            decision.answer = (answer.text or "").strip() or None
            decision.decided_at = self.now()
            decision.decided_by_id = answer.actor.id
        else:
            decision.state = DecisionState.ACKNOWLEDGED
        said = f"{flow.name(decision)} {option.outcome}（{display_name(answer.actor)}）"
        if decision.answer and option.closes:
            said += f"：{decision.answer}"
        await self.scope.tasks.note(answer.task, answer.actor, f"{flow.kind}_{option.key}", said)

    def withdraw(self, decision: Decision, reason: str) -> None:
        """Settle a decision that no longer needs answering (its request was decided another way)."""
        decision.state = DecisionState.WITHDRAWN
        decision.answer = reason
        decision.decided_at = self.now()

    async def refreshes(self, decision: Decision) -> list[CardRefresh]:
        card = await self.card(decision)
        return [CardRefresh(key=key, card=card) for key in self.copies(decision)]

    async def waiting_on(self, user: User) -> list[tuple[Decision, Task]]:
        decisions = await self.repo.open_for(user.id or 0)
        tasks = await self.tasks.by_ids([d.task_id for d in decisions])
        return [(d, tasks[d.task_id]) for d in decisions if d.task_id in tasks]
