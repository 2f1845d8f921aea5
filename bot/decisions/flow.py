"""What a workflow tells the decision mechanism: its options, its card body, its consequences."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.cards import ButtonStyle, CardElement
from bot.engine.errors import DomainError
from bot.router import CardRefresh, Post
from storage.tables import Decision, Task, User

if TYPE_CHECKING:
    from bot.decisions.service import DecisionService


class DecisionState(StrEnum):
    OPEN = "open"
    # Seen and owned (已知悉): the response clock has stopped, the decision is still to be made.
    ACKNOWLEDGED = "acknowledged"
    DECIDED = "decided"
    # Moot: another answer in the same request settled it (one 驳回 cancels a change).
    WITHDRAWN = "withdrawn"


LIVE_STATES = (DecisionState.OPEN.value, DecisionState.ACKNOWLEDGED.value)


class AnswerIncomplete(DomainError):
    """What an answer still lacks (a reason, the person to hand over to), as the message that supplies it."""


@dataclass(frozen=True)
class Option:
    """A button on the card and the word that does the same by message (拒绝 XZB… 原因 …)."""

    key: str
    label: str
    outcome: str
    style: ButtonStyle = "default"
    # The word for the text this answer must carry (原因, 方案, 意见); None when it needs none.
    needs: str | None = None
    # False for an answer that keeps the decision open (已知悉).
    closes: bool = True
    # The answer names the next person to decide (转交).
    hands_over: bool = False


# 转交: every flow offers it (bot/decisions/handover.py moves the decision and restarts its clock).
HAND_OVER = Option("hand", "转交", "已转交", hands_over=True)


@dataclass
class Answer:
    """One answer being applied, with the rows it concerns locked."""

    decision: Decision
    task: Task
    option: Option
    actor: User
    text: str | None = None
    person: User | None = None
    # A later start a refusing department can offer (可启动 10月20日).
    proposed: datetime | None = None


@dataclass
class FlowEffects:
    """What follows an answer besides the decision's own card."""

    posts: list[Post] = field(default_factory=list)
    refreshes: list[CardRefresh] = field(default_factory=list)
    headline: str | None = None


class DecisionFlow(ABC):
    kind: str
    title: str
    # What the decision is called in a sentence: 协作请求, 卡点, 变更, 验收.
    noun: str
    options: tuple[Option, ...]

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    def option_named(self, word: str) -> Option | None:
        return next((o for o in self.options if o.label == word), None)

    def name(self, decision: Decision) -> str:
        """How one decision is referred to: 卡点 #2."""
        return f"{self.noun} #{decision.number}"

    @abstractmethod
    def describe(self, decision: Decision, task: Task, names: dict[int, str], timezone: str) -> list[CardElement]:
        """The card's body: what is asked, for the person who must answer."""

    @abstractmethod
    async def after(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        """Apply the answer's consequences to the task (inside the answer's transaction)."""

    async def handed_over(self, answer: Answer, decisions: DecisionService) -> FlowEffects:
        """What else shows who now decides (an overview card); the task itself does not change."""
        return FlowEffects()


_FLOWS: dict[str, DecisionFlow] = {}


def register_flow(flow: DecisionFlow) -> DecisionFlow:
    _FLOWS[flow.kind] = flow
    return flow


def flow_for(kind: str) -> DecisionFlow | None:
    return _FLOWS.get(kind)


def all_flows() -> tuple[DecisionFlow, ...]:
    return tuple(_FLOWS.values())
