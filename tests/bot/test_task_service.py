"""The task service on both engines: codes, subtasks, roll-up, permissions, timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.commands import NewSubtask, NewTask, PersonRef
from bot.engine.errors import DomainError
from bot.engine.people import PeopleResolver
from bot.engine.tasks import TaskService
from storage.repositories import DirectoryRepository, TenantRepository

DUE = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)


async def service_for(session, clock):
    tenant = await TenantRepository(session).ensure("console", "t1")
    directory = DirectoryRepository(session, tenant.id)
    chat = await directory.ensure_chat("oc_1", name="项目群")
    people = {uid: await directory.ensure_user(uid, name)
              for uid, name in [("u_a", "张敏"), ("u_b", "赵磊"), ("u_c", "陈静"), ("u_d", "李娜")]}
    # As if every test command @-mentioned these four: the resolver trusts only the event's mentions.
    resolver = PeopleResolver(directory, {uid: user.name for uid, user in people.items()})
    return TaskService(session, tenant, clock, people=resolver, timezone="Asia/Shanghai"), chat, people


def new_task(title="Q4新品宣传物料制作", owner="u_a", **extra):
    return NewTask(title=title, owner=PersonRef(user_id=owner), due=DUE, **extra)


async def test_codes_follow_the_month_and_subtasks_add_a_suffix(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        first = await tasks.create(new_task(), actor=people["u_a"], chat=chat)
        second = await tasks.create(new_task("第二个"), actor=people["u_a"], chat=chat)
        sub1 = await tasks.create_subtask(NewSubtask(first.code, "海报初稿设计", owner=PersonRef(user_id="u_b")),
                                          actor=people["u_a"], chat=chat)
        sub2 = await tasks.create_subtask(NewSubtask(first.code, "短视频脚本撰写"), actor=people["u_a"], chat=chat)
    assert (first.code, second.code) == ("XZB20261101", "XZB20261102")
    assert (sub1.code, sub2.code) == ("XZB20261101-01", "XZB20261101-02")
    assert sub1.owner == "赵磊" and sub2.owner == "张敏"  # a subtask without owner inherits the parent's
    assert sub2.due_at == DUE and sub1.parent_code == first.code


async def test_progress_rolls_up_and_done_needs_children_done(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        root = await tasks.create(new_task(), actor=people["u_a"], chat=chat)
        a = await tasks.create_subtask(NewSubtask(root.code, "A", owner=PersonRef(user_id="u_b")),
                                       actor=people["u_a"], chat=chat)
        b = await tasks.create_subtask(NewSubtask(root.code, "B", owner=PersonRef(user_id="u_c")),
                                       actor=people["u_a"], chat=chat)
        await tasks.report_progress(a.code, 70, "海报初稿已完成", actor=people["u_b"])
        view = await tasks.view(root.code, actor=people["u_a"], chat=chat)
        assert (view.progress, view.status) == (35, "in_progress")
        with pytest.raises(DomainError, match="子任务未完成"):
            await tasks.complete(root.code, actor=people["u_a"])
        await tasks.complete(a.code, actor=people["u_b"])
        await tasks.complete(b.code, actor=people["u_c"])
        assert (await tasks.view(root.code, actor=people["u_a"], chat=chat)).progress == 100
        done, changed = await tasks.complete(root.code, actor=people["u_a"])
        again, changed_again = await tasks.complete(root.code, actor=people["u_a"])
    assert done.status == "done" and changed and not changed_again and again.status == "done"
    kinds = [e.kind for e in (await _timeline(any_db, clock, root.code))]
    assert kinds.count("completed") == 1


async def _timeline(db, clock, code):
    async with db.session() as session:
        tasks, chat, people = await service_for(session, clock)
        return (await tasks.view(code, actor=people["u_a"], chat=chat)).timeline


async def test_only_the_people_on_the_task_may_change_it(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        root = await tasks.create(new_task(owner="u_b"), actor=people["u_a"], chat=chat)
        with pytest.raises(DomainError, match="只有负责人"):
            await tasks.complete(root.code, actor=people["u_c"])
        with pytest.raises(DomainError, match="只有负责人"):
            await tasks.report_progress(root.code, 10, "", actor=people["u_d"])
        assigned = await tasks.assign(root.code, PersonRef(user_id="u_c"), actor=people["u_a"])
        assert assigned.owner == "陈静"
        # the new owner may now act; the old one no longer may
        await tasks.report_progress(root.code, 20, "", actor=people["u_c"])
        with pytest.raises(DomainError):
            await tasks.complete(root.code, actor=people["u_b"])


async def test_subtask_due_cannot_pass_the_parent_due(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        root = await tasks.create(new_task(), actor=people["u_a"], chat=chat)
        with pytest.raises(DomainError, match="不能晚于"):
            await tasks.create_subtask(NewSubtask(root.code, "迟到的", due=DUE + timedelta(days=1)),
                                       actor=people["u_a"], chat=chat)


async def test_people_by_name_and_unknown_names(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        view = await tasks.create(NewTask(title="按名字", owner=PersonRef(name="赵磊"), due=DUE,
                                          collaborators=(PersonRef(name="陈静"), PersonRef(user_id="u_d"))),
                                  actor=people["u_a"], chat=chat)
        assert view.owner == "赵磊" and view.collaborators == ("陈静", "李娜")
        with pytest.raises(DomainError, match="找不到成员「王五」"):
            await tasks.create(NewTask(title="x", owner=PersonRef(name="王五"), due=DUE), actor=people["u_a"],
                               chat=chat)


async def test_health_follows_the_clock(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        soon = await tasks.create(NewTask(title="快到期", owner=PersonRef(user_id="u_a"),
                                          due=clock.now() + timedelta(hours=5)), actor=people["u_a"], chat=chat)
        later = await tasks.create(new_task("不急"), actor=people["u_a"], chat=chat)
        assert (soon.health, later.health) == ("即将到期", "正常")
        clock.advance(timedelta(hours=6))
        assert (await tasks.view(soon.code, actor=people["u_a"], chat=chat)).health == "延期"
        listed = {v.code: v.health for v in await tasks.list_chat(chat)}
        assert listed == {soon.code: "延期", later.code: "正常"}
        mine = await tasks.list_involving(people["u_a"])
        assert [v.code for v in mine] == [soon.code, later.code]


async def test_a_due_date_in_the_past_is_refused(any_db, clock):
    async with any_db.transaction() as session:
        tasks, chat, people = await service_for(session, clock)
        with pytest.raises(DomainError, match="已经过去了"):
            await tasks.create(NewTask(title="过期", owner=PersonRef(user_id="u_a"),
                                       due=clock.now() - timedelta(hours=1)), actor=people["u_a"], chat=chat)
