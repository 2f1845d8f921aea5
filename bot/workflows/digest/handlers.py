"""周报, 月报 and 复盘 on demand."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.router import Reply, Router
from bot.scope import Scope
from bot.workflows.digest.cards import monthly_card, note_card, weekly_card
from bot.workflows.digest.commands import RecordReview, ShowMonthly, ShowWeekly
from bot.workflows.digest.report import Reports, week_bounds
from storage.repositories.reviews import ReviewRepository
from storage.tables import ReviewNote

router = Router("digest")


def _today(scope: Scope) -> date:
    return scope.clock.now().astimezone(ZoneInfo(scope.timezone)).date()


def previous_month(day: date) -> tuple[int, int]:
    first = day.replace(day=1) - timedelta(days=1)
    return first.year, first.month


@router.command(ShowWeekly)
async def weekly(command: ShowWeekly, scope: Scope) -> Reply:
    today = _today(scope) - timedelta(days=7 if command.last_week else 0)
    start, end = week_bounds(today, scope.timezone)
    now = scope.clock.now()
    digest = await Reports(scope.session, scope.tenant.id or 0).weekly(scope.chat.id or 0, start, end, min(now, end))
    return Reply(card=weekly_card(digest, scope.timezone, now))


@router.command(ShowMonthly)
async def monthly(command: ShowMonthly, scope: Scope) -> Reply:
    today = _today(scope)
    month = command.month or today.month
    year = command.year or (today.year - 1 if month > today.month else today.year)
    review = await Reports(scope.session, scope.tenant.id or 0).monthly(
        scope.chat.id or 0, year, month, scope.timezone, scope.clock.now())
    note = await ReviewRepository(scope.session, scope.tenant.id or 0).last(scope.chat.id or 0)
    return Reply(card=monthly_card(review, scope.timezone, note))


@router.command(RecordReview)
async def review(command: RecordReview, scope: Scope) -> Reply:
    reviews = ReviewRepository(scope.session, scope.tenant.id or 0)
    if command.good is None and command.improve is None and command.actions is None:
        last = await reviews.last(scope.chat.id or 0)
        if last is None:
            return Reply(text="本群还没有复盘记录。记录：复盘 做得好 … 待改进 … 措施 …")
        return Reply(card=note_card(last, await scope.directory.user(last.author_id) if last.author_id else None))
    year, month = previous_month(_today(scope))
    note = await reviews.add(ReviewNote(
        tenant_id=scope.tenant.id or 0, chat_id=scope.chat.id or 0, author_id=scope.user.id,
        period=f"{year}-{month:02d}", good=command.good, improve=command.improve, actions=command.actions,
        created_at=scope.clock.now(),
    ))
    card = note_card(note, scope.user)
    return Reply(text=None, card=card)
