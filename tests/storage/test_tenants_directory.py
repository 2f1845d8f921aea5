"""Tenants and the directory (users, chats, departments), and tenant scoping, on every engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import event

from storage.db import Database
from storage.repositories import DirectoryRepository, TaskRepository, TenantRepository
from storage.tables import Task

from .conftest import TwoTenants

SHANGHAI = timezone(timedelta(hours=8))


async def test_tenant_ensure_is_idempotent(any_db: Database) -> None:
    async with any_db.transaction() as session:
        first = await TenantRepository(session).ensure("feishu", "t1", name="甲", code_prefix="ABC")
    async with any_db.transaction() as session:
        second = await TenantRepository(session).ensure("feishu", "t1", name="ignored", code_prefix="XYZ")
    assert first.id is not None
    assert second.id == first.id
    # The first registration wins; ensure does not overwrite.
    assert second.name == "甲"
    assert second.task_code_prefix == "ABC"
    async with any_db.session() as session:
        found = await TenantRepository(session).get("feishu", "t1")
        missing = await TenantRepository(session).get("feishu", "nope")
    assert found is not None and found.id == first.id
    assert missing is None


async def test_same_tenant_key_on_different_platforms_is_different_tenants(any_db: Database) -> None:
    async with any_db.transaction() as session:
        repo = TenantRepository(session)
        feishu = await repo.ensure("feishu", "corp-1")
        dingtalk = await repo.ensure("dingtalk", "corp-1")
        wecom = await repo.ensure("wecom", "corp-1")
    assert len({feishu.id, dingtalk.id, wecom.id}) == 3
    async with any_db.session() as session:
        again = await TenantRepository(session).get("dingtalk", "corp-1")
    assert again is not None and again.id == dingtalk.id


async def test_ensure_user_is_idempotent_and_keeps_a_newly_learnt_name(
    any_db: Database, tenants: TwoTenants
) -> None:
    async with any_db.transaction() as session:
        first = await DirectoryRepository(session, tenants.a).ensure_user("ou_1")
    assert first.name == ""
    async with any_db.transaction() as session:
        named = await DirectoryRepository(session, tenants.a).ensure_user("ou_1", "张三")
    assert named.id == first.id
    async with any_db.transaction() as session:
        # No name given: the learnt name stays.
        again = await DirectoryRepository(session, tenants.a).ensure_user("ou_1")
    assert again.id == first.id
    assert again.name == "张三"
    async with any_db.session() as session:
        directory = DirectoryRepository(session, tenants.a)
        stored = await directory.user_by_platform_id("ou_1")
        everyone = await directory.all_users()
    assert stored is not None and stored.name == "张三"
    assert [u.id for u in everyone] == [first.id]

    async with any_db.transaction() as session:
        await DirectoryRepository(session, tenants.a).ensure_user("ou_1", "张三丰")
    async with any_db.session() as session:
        renamed = await DirectoryRepository(session, tenants.a).user_by_platform_id("ou_1")
    assert renamed is not None and renamed.name == "张三丰"


async def test_ensure_chat_is_idempotent(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        first = await DirectoryRepository(session, tenants.a).ensure_chat(
            "oc_1", name="项目群", timezone="Asia/Tokyo", settings={"digest": "09:00"}
        )
    async with any_db.transaction() as session:
        second = await DirectoryRepository(session, tenants.a).ensure_chat("oc_1")
    assert second.id == first.id
    assert second.name == "项目群"
    assert second.timezone == "Asia/Tokyo"
    assert second.settings == {"digest": "09:00"}
    async with any_db.transaction() as session:
        renamed = await DirectoryRepository(session, tenants.a).ensure_chat("oc_1", name="新项目群")
    assert renamed.id == first.id
    async with any_db.session() as session:
        directory = DirectoryRepository(session, tenants.a)
        stored = await directory.chat(renamed.id or 0)
        chats = await directory.all_chats()
    assert stored is not None and stored.name == "新项目群"
    assert [c.id for c in chats] == [first.id]


async def test_departments_with_a_head_and_directory_sync(any_db: Database, tenants: TwoTenants) -> None:
    synced = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        dept = await directory.ensure_department("研发部", platform_department_id="od_1")
        head = await directory.ensure_user("ou_head", "李四")
        member = await directory.ensure_user("ou_member", "王五")
        dept.head_user_id = head.id
        await directory.record_directory_sync(member, department=dept, leader=head, at=synced)
    async with any_db.transaction() as session:
        again = await DirectoryRepository(session, tenants.a).ensure_department("研发部")
    assert again.id == dept.id
    assert again.platform_department_id == "od_1"

    async with any_db.session() as session:
        directory = DirectoryRepository(session, tenants.a)
        stored = await directory.department(dept.id or 0)
        listed = await directory.departments()
        stored_member = await directory.user_by_platform_id("ou_member")
    assert stored is not None
    assert stored.head_user_id == head.id
    assert [d.name for d in listed] == ["研发部"]
    assert stored_member is not None
    assert stored_member.department_id == dept.id
    assert stored_member.leader_user_id == head.id
    assert stored_member.directory_synced_at == synced
    assert stored_member.directory_synced_at.utcoffset() == timedelta(0)


async def test_users_named_and_users_by_ids(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        w1 = await directory.ensure_user("ou_w1", "王伟")
        w2 = await directory.ensure_user("ou_w2", "王伟")
        other = await directory.ensure_user("ou_x", "赵六")
        await DirectoryRepository(session, tenants.b).ensure_user("ou_w3", "王伟")
    async with any_db.session() as session:
        directory = DirectoryRepository(session, tenants.a)
        named = await directory.users_named("王伟")
        nobody = await directory.users_named("不存在")
        by_ids = await directory.users_by_ids([w1.id or 0, other.id or 0, w1.id or 0])
        empty = await directory.users_by_ids([])
    assert sorted(u.id or 0 for u in named) == sorted([w1.id or 0, w2.id or 0])
    assert nobody == []
    assert set(by_ids) == {w1.id, other.id}
    assert by_ids[other.id or 0].name == "赵六"
    assert empty == {}


async def test_tenant_scoping_hides_another_tenants_rows(any_db: Database, tenants: TwoTenants) -> None:
    async with any_db.transaction() as session:
        directory = DirectoryRepository(session, tenants.a)
        user = await directory.ensure_user("ou_shared", "张三")
        chat = await directory.ensure_chat("oc_shared", name="甲群")
        dept = await directory.ensure_department("研发部")
        tasks = TaskRepository(session, tenants.a)
        parent = await tasks.add(Task(code="XZB20261101", title="父任务", chat_id=chat.id, owner_id=user.id))
        await tasks.add(Task(code="XZB20261101-01", title="子任务", chat_id=chat.id, parent_id=parent.id))
        await tasks.add_member(parent.id or 0, user.id or 0, "协作人")
        await tasks.record(parent.id or 0, "created", "", actor_id=user.id, at=datetime.now(UTC))
    assert user.id and chat.id and dept.id and parent.id

    async with any_db.session() as session:
        b_dir = DirectoryRepository(session, tenants.b)
        b_tasks = TaskRepository(session, tenants.b)
        # By platform id, by id, and in lists.
        assert await b_dir.user_by_platform_id("ou_shared") is None
        assert await b_dir.user(user.id) is None
        assert await b_dir.users_by_ids([user.id]) == {}
        assert await b_dir.users_named("张三") == []
        assert await b_dir.all_users() == []
        assert await b_dir.chat_by_platform_id("oc_shared") is None
        assert await b_dir.chat(chat.id) is None
        assert await b_dir.all_chats() == []
        assert await b_dir.department(dept.id) is None
        assert await b_dir.departments() == []
        assert await b_tasks.by_code("XZB20261101") is None
        assert await b_tasks.by_id(parent.id) is None
        assert await b_tasks.children(parent.id) == []
        assert await b_tasks.in_chat(chat.id, include_closed=True) == []
        assert await b_tasks.involving(user.id, include_closed=True) == []
        assert await b_tasks.members(parent.id) == []
        assert await b_tasks.timeline(parent.id) == []

        # ... while tenant A sees them all.
        a_dir = DirectoryRepository(session, tenants.a)
        a_tasks = TaskRepository(session, tenants.a)
        assert (await a_dir.user(user.id)) is not None
        assert (await a_dir.chat(chat.id)) is not None
        assert (await a_tasks.by_id(parent.id)) is not None
        assert [t.code for t in await a_tasks.in_chat(chat.id)] == ["XZB20261101", "XZB20261101-01"]
        assert len(await a_tasks.members(parent.id)) == 1
        assert len(await a_tasks.timeline(parent.id)) == 1

    # The same platform ids in tenant B are new, separate rows.
    async with any_db.transaction() as session:
        b_dir = DirectoryRepository(session, tenants.b)
        b_user = await b_dir.ensure_user("ou_shared", "另一个张三")
        b_chat = await b_dir.ensure_chat("oc_shared")
    assert b_user.id != user.id
    assert b_chat.id != chat.id
    async with any_db.session() as session:
        a_user = await DirectoryRepository(session, tenants.a).user_by_platform_id("ou_shared")
    assert a_user is not None and a_user.name == "张三"


async def test_users_the_session_holds_are_not_selected_again_and_stay_in_their_tenant(
    any_db: Database, tenants: TwoTenants,
) -> None:
    async with any_db.transaction() as session:
        mine = await DirectoryRepository(session, tenants.a).ensure_user("ou_held", "张三")
        theirs = await DirectoryRepository(session, tenants.b).ensure_user("ou_theirs", "李四")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(any_db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with any_db.session() as session:
            a_dir, b_dir = DirectoryRepository(session, tenants.a), DirectoryRepository(session, tenants.b)
            first = await a_dir.users_by_ids([mine.id or 0])
            assert await b_dir.user_by_platform_id("ou_theirs") is not None  # now held by the session too
            selected = len(statements)
            again = await a_dir.users_by_ids([mine.id or 0])
            assert len(statements) == selected  # served from the session, no SELECT
            assert again[mine.id or 0] is first[mine.id or 0]
            # Held, but another tenant's: still asked of the database, which finds nothing.
            assert await a_dir.users_by_ids([theirs.id or 0, mine.id or 0]) == {mine.id: first[mine.id or 0]}
            assert len(statements) == selected + 1
    finally:
        event.remove(any_db.engine.sync_engine, "before_cursor_execute", count)
