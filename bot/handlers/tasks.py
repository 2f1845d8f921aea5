"""Task commands and the task card's buttons."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.commands import (
    AssignTask,
    CompleteTask,
    ListChatTasks,
    ListMyTasks,
    NameTaskPeople,
    NewSubtask,
    NewTask,
    ReportProgress,
    SetDeadline,
    SetTaskText,
    ShowTask,
)
from bot.core import ActionPayload
from bot.engine.people import mention
from bot.engine.tasks import ROLE_WORDS
from bot.engine.views import TaskView
from bot.presentation.format import local_due
from bot.presentation.task_cards import task_card, task_detail_card, task_list_card
from bot.router import Post, Reply, Router
from bot.scope import Scope
from bot.workflows.changes.commands import RequestChange
from bot.workflows.changes.handlers import ask_for_change
from bot.workflows.changes.service import deadline_is_a_change

router = Router("tasks")


async def _mentions_for(scope: Scope, code: str) -> str:
    """The people named on a new task, as mentions, so the platform notifies them."""
    task = await scope.tasks.tasks.by_code(code)
    if task is None:
        return ""
    members, users = await scope.tasks.tasks.people(task)
    ids = [task.owner_id] + [user_id for user_id, _ in members]
    return " ".join(mention(users[i]) for i in dict.fromkeys(ids) if i in users)


@router.command(NewTask)
async def new_task(command: NewTask, scope: Scope) -> Reply:
    view, named = await scope.tasks.create_named(command, actor=scope.user, chat=scope.chat)
    people = " ".join(mention(user) for user in named)
    return Reply(card=task_card(view, headline=f"已创建任务，请 {people} 查收。{_next_year_note(view, scope)}"),
                 task_code=view.code)


def _next_year_note(view: TaskView, scope: Scope) -> str:
    """10月15日 typed in November means next year's: say so rather than leave it to be misread."""
    if view.due_at is None:
        return ""
    tz = ZoneInfo(scope.timezone)
    due = view.due_at.astimezone(tz)
    if due.year <= scope.clock.now().astimezone(tz).year:
        return ""
    return (f"（截止时间按明年 {due.year}年{due.month}月{due.day}日 计算；"
            f"如果不对，请用「截止 {view.code} 新日期」修改。）")


@router.command(NewSubtask)
async def new_subtask(command: NewSubtask, scope: Scope) -> Reply:
    view = await scope.tasks.create_subtask(command, actor=scope.user, chat=scope.chat)
    people = await _mentions_for(scope, view.code)
    headline = f"已在 {view.parent_code} 下创建子任务，请 {people} 查收。" if people else "已创建子任务。"
    return Reply(card=task_card(view, headline=headline), task_code=view.code)


@router.command(AssignTask)
async def assign(command: AssignTask, scope: Scope) -> Reply:
    view = await scope.tasks.assign(command.code, command.assignee, actor=scope.user)
    people = await _mentions_for(scope, view.code)
    return Reply(card=task_card(view, headline=f"负责人已改为 {view.owner}。{people}"), task_code=view.code)


@router.command(ReportProgress)
async def progress(command: ReportProgress, scope: Scope) -> Reply:
    view = await scope.tasks.report_progress(command.code, command.percent, command.note, actor=scope.user)
    headline = f"进度已更新为 {view.progress}%。"
    if command.percent == 100 and view.is_open:
        headline += f"如果已经交付，请点「完成」或发送：完成 {view.code}"
    return Reply(card=task_card(view, headline=headline), task_code=view.code)


@router.command(CompleteTask)
async def complete(command: CompleteTask, scope: Scope) -> Reply:
    view, changed = await scope.tasks.complete(command.code, actor=scope.user)
    headline = "任务已完成 🎉" if changed else "这个任务之前已经完成了。"
    return Reply(card=task_card(view, headline=headline), task_code=view.code)


@router.command(NameTaskPeople)
async def name_people(command: NameTaskPeople, scope: Scope) -> Reply:
    view, new = await scope.tasks.name_people(command.code, command.role, command.people, actor=scope.user)
    word = ROLE_WORDS[command.role]
    if not new:
        return Reply(card=task_card(view, headline=f"这些人已经是{word}了。"), task_code=view.code)
    people = " ".join(mention(u) for u in new)
    by = scope.user.name or "有人"
    # Told once, in the chat (the mention) and directly, where the platform delivers 1:1 messages.
    told = tuple(Post(text=f"{by} 把你设为任务 {view.code}「{view.title}」的{word}。发送「任务 {view.code}」查看详情。",
                      direct_to=u.platform_user_id) for u in new if u.id != scope.user.id)
    return Reply(card=task_card(view, headline=f"已把 {people} 设为{word}，请查收。"), task_code=view.code,
                 posts=told)


@router.command(SetTaskText)
async def set_text(command: SetTaskText, scope: Scope) -> Reply:
    view = await scope.tasks.set_text(command.code, command.field, command.text, actor=scope.user)
    label = "资源" if command.field == "resources" else "交付标准"
    return Reply(card=task_card(view, headline=f"{label}已更新。"), task_code=view.code)


@router.command(SetDeadline)
async def set_deadline(command: SetDeadline, scope: Scope) -> Reply:
    task = await scope.tasks.tasks.by_code(command.code)
    if task is not None and await deadline_is_a_change(scope, task):
        # On a cross-department task the owner's new date needs every collaborating head's consent.
        return await ask_for_change(scope, RequestChange(code=command.code, due=command.due,
                                                         reason="负责人申请调整截止时间"))
    view = await scope.tasks.set_deadline(command.code, command.due, actor=scope.user)
    owner = await _mentions_for(scope, view.code)
    due = local_due(view.due_at, view.timezone)
    return Reply(card=task_card(view, headline=f"截止时间已改为 {due}，请 {owner} 留意。"), task_code=view.code)


@router.command(ShowTask)
async def show(command: ShowTask, scope: Scope) -> Reply:
    view = await scope.tasks.view(command.code, actor=scope.user, chat=scope.chat)
    return Reply(card=task_detail_card(view), task_code=command.code)


@router.command(ListChatTasks)
async def chat_tasks(command: ListChatTasks, scope: Scope) -> Reply:
    views = await scope.tasks.list_chat(scope.chat)
    hint = "本群还没有进行中的任务。发送「帮助」看看怎么新建任务。"
    return Reply(card=task_list_card("本群任务", views, empty_hint=hint))


@router.command(ListMyTasks)
async def my_tasks(command: ListMyTasks, scope: Scope) -> Reply:
    views = await scope.tasks.list_involving(scope.user)
    name = scope.user.name or "我"
    return Reply(card=task_list_card(f"{name}的任务", views, empty_hint="你目前没有进行中的任务。"))


@router.action("task.done")
async def press_done(action: ActionPayload, scope: Scope) -> Reply:
    view, changed = await scope.tasks.complete(action.ref, actor=scope.user)
    return Reply(
        card=task_card(view, headline="任务已完成 🎉" if changed else None),
        task_code=view.code,
        toast="已标记完成" if changed else "任务已经是完成状态",
        toast_kind="success" if changed else "info",
    )


@router.action("task.detail")
async def press_detail(action: ActionPayload, scope: Scope) -> Reply:
    view = await scope.tasks.view(action.ref, actor=scope.user, chat=scope.chat)
    return Reply(card=task_detail_card(view), task_code=view.code, toast="任务详情", toast_kind="info")
