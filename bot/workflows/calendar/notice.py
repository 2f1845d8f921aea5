"""Admins are told once per year when the national make-up workdays (调休) of a year are unknown.

The `holidays` package carries the State Council's schedule once it is published (usually in
November for the next year). Until then the year's statutory holidays and weekends still apply;
an admin is told once, on their next command, so they can set the swaps by hand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any
from zoneinfo import ZoneInfo

from bot.engine.people import mention
from bot.router import Post, Reply
from bot.workflows.calendar.cards import unknown_year_note
from storage.repositories import DispatchRepository

NOTICE_KIND = "calendar_unknown"


async def calendar_notice(call: Callable[[], Awaitable[Reply]], name: str, scope: Any) -> Reply:
    reply = await call()
    if not getattr(scope.user, "is_admin", False) or not hasattr(scope, "calendar"):
        return reply
    now = scope.clock.now()
    today = now.astimezone(ZoneInfo(scope.timezone)).date()
    # In December next year's deadlines are near: its schedule matters too.
    years = [today.year, today.year + 1] if today.month == 12 else [today.year]
    unknown = [year for year in years if not scope.calendar.knows_makeup_days(year)]
    if not unknown:
        return reply
    claims = DispatchRepository(scope.session)
    target = f"tenant:{scope.tenant.id}"
    # A read first: once told, an admin's commands for the rest of the year write nothing here.
    told = await claims.already_claimed((NOTICE_KIND, target, str(year)) for year in unknown)
    posts = [
        Post(text=f"{mention(scope.user)} 提示：{unknown_year_note(year)}")
        for year in unknown
        if (NOTICE_KIND, target, str(year)) not in told and await claims.claim(NOTICE_KIND, target, str(year), now)
    ]
    return dataclasses.replace(reply, posts=(*reply.posts, *posts)) if posts else reply
