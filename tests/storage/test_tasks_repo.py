"""TaskRepository: codes, lookups, listings, members and the timeline, on every engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.repositories import DirectoryRepository, TaskRepository, TenantRepository
from storage.repositories.directory import chat_timezones_by_tenant
from storage.tables import Task

from .conftest import TwoTenants

SHANGHAI = timezone(timedelta(hours=8))


async def _take(db: Database, tenant_id: int, period: str) -> int:
    async with db.transaction() as session:
        return await TaskRepository(session, tenant_id).next_sequence(period)


async def test_next_sequence_counts_per_period_and_per_tenant(any_db: Database, tenants: TwoTenants) -> None:
    assert [await _take(any_db, tenants.a, "202611") for _ in range(3)] == [1, 2, 3]
    # A new period restarts; the old one carries on where it was.
    assert [await _take(any_db, tenants.a, "202612") for _ in range(2)] == [1, 2]
    assert await _take(any_db, tenants.a, "202611") == 4
    # Another tenant has its own counter.
    assert [await _take(any_db, tenants.b, "202611") for _ in range(2)] == [1, 2]
    assert await _take(any_db, tenants.a, "202612") == 3


async def test_next_sequence_inside_one_transaction(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        repo = TaskRepository(session, tenants.a)
        taken = [await repo.next_sequence("202611") for _ in range(3)]
    assert taken == [1, 2, 3]


async def test_concurrent_next_sequence_never_repeats_a_number(any_db: Database, tenants: TwoTenants) -> None:
    # Each call runs in its own session and transaction; on PostgreSQL these really race.
    workers = 12
    taken = await asyncio.gather(*(_take(any_db, tenants.a, "202611") for _ in range(workers)))
    assert sorted(taken) == list(range(1, workers + 1))
    # And a second wave, racing on an existing counter row, carries on without gaps or repeats.
    more = await asyncio.gather(*(_take(any_db, tenants.a, "202611") for _ in range(workers)))
    assert sorted(more) == list(range(workers + 1, 2 * workers + 1))


async def test_add_and_by_code_is_case_insensitive(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        task = await TaskRepository(session, tenants.a).add(
            Task(tenant_id=tenants.b, code="XZB20261101", title="写周报")  # tenant_id is overwritten
        )
    assert task.id is not None
    assert task.tenant_id == tenants.a
    async with any_db.session() as session:
        repo = TaskRepository(session, tenants.a)
        lower = await repo.by_code("xzb20261101")
        exact = await repo.by_code("XZB20261101")
        by_id = await repo.by_id(task.id)
        missing = await repo.by_code("XZB20261102")
    assert lower is not None and lower.id == task.id and lower.title == "写周报"
    assert exact is not None and exact.id == task.id
    assert by_id is not None and by_id.code == "XZB20261101"
    assert missing is None
    # Defaults survive the round trip.
    assert (lower.status, lower.priority, lower.progress) == ("pending", "medium", 0)


async def test_code_is_unique_per_tenant(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        await TaskRepository(session, tenants.a).add(Task(code="XZB20261101", title="一"))
    with pytest.raises(IntegrityError):
        async with any_db.transaction() as session:
            await TaskRepository(session, tenants.a).add(Task(code="XZB20261101", title="重复"))
    # The same code in another tenant is fine.
    async with any_db.transaction() as session:
        other = await TaskRepository(session, tenants.b).add(Task(code="XZB20261101", title="乙的"))
    assert other.id is not None
    async with any_db.session() as session:
        a = await TaskRepository(session, tenants.a).by_code("XZB20261101")
        b = await TaskRepository(session, tenants.b).by_code("XZB20261101")
    assert a is not None and a.title == "一"
    assert b is not None and b.title == "乙的"


async def test_children_are_ordered_by_code(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        repo = TaskRepository(session, tenants.a)
        parent = await repo.add(Task(code="XZB20261101", title="父"))
        other_parent = await repo.add(Task(code="XZB20261102", title="另一个父"))
        for n in (3, 1, 10, 2):
            await repo.add(Task(code=f"XZB20261101-{n:02d}", title=f"子{n}", parent_id=parent.id))
        await repo.add(Task(code="XZB20261102-01", title="别人的子", parent_id=other_parent.id))
    async with any_db.session() as session:
        children = await TaskRepository(session, tenants.a).children(parent.id or 0)
        none = await TaskRepository(session, tenants.a).children(children[0].id or 0)
    assert [c.code for c in children] == [
        "XZB20261101-01", "XZB20261101-02", "XZB20261101-03", "XZB20261101-10",
    ]
    assert none == []


async def test_in_chat_excludes_closed_tasks_unless_asked(any_db: Database, tenants: TwoTenants) -> None:
    statuses = ["pending", "in_progress", "in_review", "done", "cancelled"]
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        chat = await directory.ensure_chat("oc_1")
        elsewhere = await directory.ensure_chat("oc_2")
        repo = TaskRepository(session, tenants.a)
        for n, status in enumerate(statuses, start=1):
            await repo.add(Task(code=f"XZB202611{n:02d}", title=status, status=status, chat_id=chat.id))
        await repo.add(Task(code="XZB20261199", title="别的群", chat_id=elsewhere.id))
    async with any_db.session() as session:
        repo = TaskRepository(session, tenants.a)
        open_tasks = await repo.in_chat(chat.id or 0)
        everything = await repo.in_chat(chat.id or 0, include_closed=True)
    assert [t.status for t in open_tasks] == ["pending", "in_progress", "in_review"]
    assert [t.status for t in everything] == statuses


async def test_active_chats_by_timezone_and_the_timezones_of_every_tenant(
    any_db: Database, tenants: TwoTenants
) -> None:
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        shanghai = await directory.ensure_chat("oc_sh")
        london = await directory.ensure_chat("oc_ldn", timezone="Europe/London")
        await directory.ensure_chat("oc_quiet", timezone="America/New_York")  # no task: no digest
        repo = TaskRepository(session, tenants.a)
        await repo.add(Task(code="XZB20261101", title="上海", chat_id=shanghai.id))
        await repo.add(Task(code="XZB20261102", title="伦敦", chat_id=london.id))
        await DirectoryRepository(session, tenants.b).ensure_chat("oc_b")
    since = datetime(2026, 11, 23, tzinfo=UTC)
    async with any_db.session() as session:
        repo = TaskRepository(session, tenants.a)
        assert await repo.active_chats(since) == sorted([shanghai.id or 0, london.id or 0])
        assert await repo.active_chats(since, timezones=["Europe/London"]) == [london.id]
        assert await repo.active_chats(since, timezones=["Asia/Shanghai", "Europe/London"]) == sorted(
            [shanghai.id or 0, london.id or 0])
        assert await repo.active_chats(since, timezones=["America/New_York"]) == []
        zones = await chat_timezones_by_tenant(session)
    assert zones == {tenants.a: {"Asia/Shanghai", "Europe/London", "America/New_York"}, tenants.b: {"Asia/Shanghai"}}


async def test_involving_finds_owned_and_collaborating_tasks(any_db: Database, tenants: TwoTenants) -> None:
    due = datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        me = await directory.ensure_user("ou_me", "我")
        boss = await directory.ensure_user("ou_boss", "老板")
        repo = TaskRepository(session, tenants.a)
        undated_owned = await repo.add(Task(code="XZB20261101", title="我负责·无截止", owner_id=me.id))
        late_owned = await repo.add(
            Task(code="XZB20261102", title="我负责·晚", owner_id=me.id, due_at=due + timedelta(days=3))
        )
        helping = await repo.add(Task(code="XZB20261103", title="我协作·早", owner_id=boss.id, due_at=due))
        await repo.add_member(helping.id or 0, me.id or 0, "协作人")
        closed = await repo.add(Task(code="XZB20261104", title="done", owner_id=me.id, status="done"))
        unrelated = await repo.add(Task(code="XZB20261105", title="与我无关", owner_id=boss.id, due_at=due))
        await repo.add_member(unrelated.id or 0, boss.id or 0, "协作人")
    async with any_db.session() as session:
        repo = TaskRepository(session, tenants.a)
        mine = await repo.involving(me.id or 0)
        mine_all = await repo.involving(me.id or 0, include_closed=True)
        bosses = await repo.involving(boss.id or 0)
    # Ordered by due date, undated tasks last on every engine.
    assert [t.id for t in mine] == [helping.id, late_owned.id, undated_owned.id]
    assert {t.id for t in mine_all} == {helping.id, late_owned.id, undated_owned.id, closed.id}
    assert {t.id for t in bosses} == {helping.id, unrelated.id}


async def test_members_are_idempotent(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        alice = await directory.ensure_user("ou_a", "甲")
        bob = await directory.ensure_user("ou_b", "乙")
        repo = TaskRepository(session, tenants.a)
        task = await repo.add(Task(code="XZB20261101", title="任务"))
        await repo.add_member(task.id or 0, alice.id or 0, "协作人")
        await repo.add_member(task.id or 0, alice.id or 0, "协作人")
    async with any_db.transaction() as session:
        repo = TaskRepository(session, tenants.a)
        await repo.add_member(task.id or 0, alice.id or 0, "协作人")
        await repo.add_member(task.id or 0, alice.id or 0, "知会人")
        await repo.add_member(task.id or 0, bob.id or 0, "咨询人")
    async with any_db.session() as session:
        members = await TaskRepository(session, tenants.a).members(task.id or 0)
    assert [(m.user_id, m.role) for m in members] == [
        (alice.id, "协作人"), (alice.id, "知会人"), (bob.id, "咨询人"),
    ]
    assert all(m.tenant_id == tenants.a for m in members)


async def test_timeline_is_ordered_by_time_across_timezones(any_db: Database, tenants: TwoTenants) -> None:
    base = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    async with any_db.transaction() as session:
        repo = TaskRepository(session, tenants.a)
        task = await repo.add(Task(code="XZB20261101", title="任务"))
        # Recorded out of order, and in different zones: 10:30 Shanghai is 02:30 UTC.
        await repo.record(task.id or 0, "progress", "第三", actor_id=None, at=base + timedelta(hours=1))
        await repo.record(task.id or 0, "created", "第一", actor_id=None, at=base)
        await repo.record(
            task.id or 0, "assigned", "第二", actor_id=None, at=datetime(2026, 11, 23, 10, 30, tzinfo=SHANGHAI)
        )
    async with any_db.session() as session:
        repo = TaskRepository(session, tenants.a)
        timeline = await repo.timeline(task.id or 0)
        first_two = await repo.timeline(task.id or 0, limit=2)
    assert [e.detail for e in timeline] == ["第一", "第二", "第三"]
    assert [e.at for e in timeline] == [base, base + timedelta(minutes=30), base + timedelta(hours=1)]
    assert [e.detail for e in first_two] == ["第一", "第二"]


async def test_datetimes_come_back_aware_in_utc(any_db: Database, tenants: TwoTenants) -> None:
    due = datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)
    async with any_db.transaction() as session:
        task = await TaskRepository(session, tenants.a).add(
            Task(code="XZB20261101", title="任务", due_at=due, start_at=datetime(2026, 11, 23, 1, 0))
        )
    async with any_db.session() as session:
        stored = await TaskRepository(session, tenants.a).by_id(task.id or 0)
    assert stored is not None
    for value in (stored.due_at, stored.start_at, stored.created_at, stored.updated_at):
        assert value is not None
        assert value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
    # The instant is kept: 18:00 in Shanghai is 10:00 UTC.
    assert stored.due_at == due
    assert stored.due_at == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert stored.due_at.hour == 10
    # Naive input is taken as UTC.
    assert stored.start_at == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert stored.completed_at is None


async def test_a_number_taken_by_an_open_create_does_not_hold_up_the_next(
    any_db: Database, tenants: TwoTenants
) -> None:
    """A create in progress must not make every other create in the tenant wait for its commit."""
    async with any_db.transaction() as slow:
        first = await TaskRepository(slow, tenants.a).next_sequence("202611")
        if any_db.is_sqlite:
            # One writer, one pooled connection: the number is the open transaction's own.
            await slow.rollback()
            assert await _take(any_db, tenants.a, "202611") == 1
            return
        # Another command takes the next number while the first transaction is still open.
        second = await asyncio.wait_for(_take(any_db, tenants.a, "202611"), timeout=10)
        await slow.rollback()
    assert (first, second) == (1, 2)
    # On PostgreSQL the rolled-back create leaves a gap; a number is never given twice.
    assert await _take(any_db, tenants.a, "202611") == 3


async def test_a_tenant_created_in_the_same_transaction_takes_its_first_number(any_db: Database) -> None:
    async with any_db.transaction() as session:
        tenant = await TenantRepository(session).ensure("feishu", "tenant-new", name="新公司")
        assert tenant.id is not None
        repo = TaskRepository(session, tenant.id)
        assert [await repo.next_sequence("202611"), await repo.next_sequence("202611")] == [1, 2]
    assert await _take(any_db, tenant.id, "202611") == 3


async def test_people_are_a_tasks_members_in_order_and_its_named_users_of_its_tenant_only(
    any_db: Database, tenants: TwoTenants,
) -> None:
    async with any_db.transaction() as session:
        mine = DirectoryRepository(session, tenants.a)
        owner, helper, watcher, approver = [await mine.ensure_user(f"u_{n}", n) for n in ("own", "help", "see", "ok")]
        outsider = await DirectoryRepository(session, tenants.b).ensure_user("u_other", "外人")
        repo = TaskRepository(session, tenants.a)
        task = await repo.add(Task(tenant_id=tenants.a, code="XZB20261101", title="海报", owner_id=owner.id,
                                   approver_id=approver.id, initiator_id=owner.id))
        await repo.add_member(task.id or 0, watcher.id or 0, "informed")
        await repo.add_member(task.id or 0, helper.id or 0, "collaborator")
        await repo.add_member(task.id or 0, owner.id or 0, "consulted")
        # A row naming another tenant's user is never how that user's name reaches this tenant.
        await repo.add_member(task.id or 0, outsider.id or 0, "collaborator")
        bare = await repo.add(Task(tenant_id=tenants.a, code="XZB20261102", title="无人"))
    async with any_db.session() as session:
        repo = TaskRepository(session, tenants.a)
        members, users = await repo.people(task)
        assert members == [(watcher.id, "informed"), (helper.id, "collaborator"), (owner.id, "consulted")]
        assert {u.name for u in users.values()} == {"own", "help", "see", "ok"}
        assert await repo.people(bare) == ([], {})
