"""The seed's example project, loaded by `tuijin demo` into the console tenant.

Task XZB20231001 "Q4新品宣传物料制作", initiated by 市场部 with 设计部 and 品牌部: 3 posters and
2 short videos (3 after a change), with subtasks -01/-02/-03 and the decisions that shaped them
(bot/demo_story.py). Due dates are set relative to today so the demo
shows live health colours rather than a project that ended years ago.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.core.platform import DirectoryProfile
from bot.demo_story import DemoStory
from bot.platforms import DemoSeed, console_demo_seed
from storage.db import Database
from storage.repositories import DecisionRepository, DirectoryRepository, TaskRepository, TenantRepository
from storage.repositories.goals import GoalRepository
from storage.tables import Goal, KeyResult, Priority, Task, TaskStatus

HEADS = {"市场部": "u_zhangmin", "设计部": "u_lina", "品牌部": "u_wangqiang", "总经办": "u_zhoujie"}
PROJECT_CHAT = "oc_q4promo"
ROOT_CODE = "XZB20231001"


def _at(base: datetime, days: int, end: time) -> datetime:
    return datetime.combine((base + timedelta(days=days)).date(), end, tzinfo=base.tzinfo)


async def load_demo(db: Database, settings: Settings, clock: Clock, seed: DemoSeed | None = None) -> bool:
    """Load the example once; False when it is already there. `seed`: whose tenant and people (the console's)."""
    seed = seed or console_demo_seed()
    people: dict[str, DirectoryProfile] = {p.user_id: p for p in seed.people}
    now = clock.now().astimezone(ZoneInfo(settings.timezone))
    end = settings.workday_end
    async with db.transaction() as session:
        tenant = await TenantRepository(session).ensure(seed.platform, seed.tenant_key, name="演示公司",
                                                        code_prefix=settings.task_code_prefix)
        assert tenant.id is not None
        tasks = TaskRepository(session, tenant.id)
        if await tasks.by_code(ROOT_CODE) is not None:
            return False
        directory = DirectoryRepository(session, tenant.id)
        users = {uid: await directory.ensure_user(uid, p.name) for uid, p in sorted(people.items())}
        for uid, person in people.items():
            department = await directory.ensure_department(person.department_names[0])
            users[uid].department_id = department.id
            if person.leader_user_id:
                users[uid].leader_user_id = users[person.leader_user_id].id
            if HEADS.get(person.department_names[0]) == uid:
                department.head_user_id = users[uid].id
        chat = await directory.ensure_chat(PROJECT_CHAT, name=seed.chat_names.get(PROJECT_CHAT, ""),
                                           timezone=settings.timezone)
        departments = {d.name: d for d in await directory.departments()}

        def task(code: str, title: str, owner: str, days: int, **extra: object) -> Task:
            fields: dict[str, object] = {"initiator_id": users["u_zhangmin"].id,
                                         "department_id": departments["市场部"].id, **extra}
            return Task(tenant_id=tenant.id or 0, chat_id=chat.id, code=code, title=title,
                        owner_id=users[owner].id, due_at=_at(now, days, end),
                        created_at=clock.now(), updated_at=clock.now(), **fields)  # type: ignore[arg-type]

        root = await tasks.add(task(
            ROOT_CODE, "Q4新品宣传物料制作", "u_zhangmin", 14, priority=Priority.HIGH, status=TaskStatus.IN_PROGRESS,
            progress=57,
            background="新品将于下月上市，需要全套宣传物料", objective="上市前完成全部宣传物料",
            deliverables="3张海报和2条短视频",
            delivery_standard="3张海报、2条短视频，符合品牌规范，经品牌部审核通过",
            resources="设计部2人、品牌部1人，预算2万元", approver_id=users["u_wangqiang"].id,
            description="市场部发起，设计部、品牌部协作完成Q4新品上市宣传物料。",
        ))
        for member in ("u_lina", "u_wangqiang"):
            await tasks.add_member(root.id or 0, users[member].id or 0, "collaborator")
        subtasks = [
            task(f"{ROOT_CODE}-01", "海报初稿设计", "u_zhaolei", 1, parent_id=root.id, priority=Priority.HIGH,
                 status=TaskStatus.IN_PROGRESS, progress=70, delivery_standard="3张海报初稿（竖版、横版、方形）",
                 department_id=departments["设计部"].id, initiator_id=users["u_lina"].id),
            task(f"{ROOT_CODE}-02", "短视频脚本撰写", "u_chenjing", 3, parent_id=root.id, priority=Priority.MEDIUM,
                 status=TaskStatus.DONE, progress=100, delivery_standard="3条30秒短视频脚本，含分镜",
                 department_id=departments["品牌部"].id, initiator_id=users["u_wangqiang"].id,
                 completed_at=clock.now()),
            task(f"{ROOT_CODE}-03", "物料修改定稿", "u_lina", 12, parent_id=root.id, priority=Priority.MEDIUM,
                 status=TaskStatus.PENDING, progress=0, delivery_standard="全部物料定稿并通过品牌部审核"),
        ]
        for sub in subtasks:
            await tasks.add(sub)
            await tasks.record(sub.id or 0, "created", f"创建子任务（主任务 {ROOT_CODE}）",
                               actor_id=users["u_zhangmin"].id, at=clock.now())
        await tasks.record(root.id or 0, "created", "创建任务，负责人 张敏", actor_id=users["u_zhangmin"].id,
                           at=clock.now())
        await tasks.record(subtasks[0].id or 0, "progress", "进度 70%：海报初稿已完成",
                           actor_id=users["u_zhaolei"].id, at=clock.now())
        await DemoStory(DecisionRepository(session, tenant.id), tasks, users, clock.now()).tell(
            root, subtasks[0], subtasks[1], {name: d.id or 0 for name, d in departments.items()})
        # The goal the project serves (总目标 → 阶段目标 → 任务), with one key result.
        users["u_zhangmin"].is_admin = True
        goals = GoalRepository(session, tenant.id)
        goal = Goal(tenant_id=tenant.id, code=f"O{now.year}{await goals.next_number(f'O{now.year}'):03d}",
                    title="Q4新品上市", owner_id=users["u_zhangmin"].id, initiator_id=users["u_zhoujie"].id,
                    chat_id=chat.id, due_at=_at(now, 30, end), created_at=clock.now())
        await goals.add(goal)
        stage = Goal(tenant_id=tenant.id, code=f"{goal.code}-S1", parent_id=goal.id, title="宣传物料准备",
                     owner_id=users["u_zhangmin"].id, initiator_id=users["u_zhoujie"].id, chat_id=chat.id,
                     due_at=_at(now, 14, end), created_at=clock.now())
        await goals.add(stage)
        await goals.add(KeyResult(tenant_id=tenant.id, code=f"{goal.code}-KR1", goal_id=goal.id or 0,
                                  title="新品曝光量", target=100, current=20, unit="万次", created_at=clock.now()))
        root.goal_id = stage.id
        await tasks.record(root.id or 0, "linked", f"关联到阶段目标 {stage.code} 宣传物料准备",
                           actor_id=users["u_zhangmin"].id, at=clock.now())
    return True
