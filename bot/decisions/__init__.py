"""Decisions made on cards: one mechanism for every workflow that asks someone to decide.

A workflow (bot/workflows/…) describes its decision as a `DecisionFlow`: the buttons it offers,
what the card says, and what follows an answer. This package asks (stores the decision and posts
its card to the person who must answer), checks every answer against the database (the right
person, still open, an untampered button), records it in the task's timeline, and shows the card
as decided.
"""

from bot.decisions.flow import DecisionFlow, DecisionState, FlowEffects, Option, register_flow
from bot.decisions.service import Answered, DecisionService

__all__ = [
    "Answered",
    "DecisionFlow",
    "DecisionService",
    "DecisionState",
    "FlowEffects",
    "Option",
    "register_flow",
]
