"""Goal commands: 目标, 阶段目标, KR, KR进度, 关联, 目标树."""

from __future__ import annotations

from bot.commands import LinkTask, NewGoal, NewKeyResult, NewStage, ShowGoalTree, UpdateKeyResult
from bot.engine.goals import GoalService
from bot.engine.policy import TaskAction
from bot.presentation.goal_cards import goal_tree_card
from bot.router import Reply, Router
from bot.scope import Scope

router = Router("goals")


def _service(scope: Scope) -> GoalService:
    return GoalService(scope.session, scope.tenant.id or 0, scope.clock, people=scope.people,
                       timezone=scope.timezone)


async def _tree(scope: Scope, code: str, headline: str) -> Reply:
    return Reply(card=goal_tree_card(await _service(scope).tree(code), headline=headline))


@router.command(NewGoal)
async def new_goal(command: NewGoal, scope: Scope) -> Reply:
    goal = await _service(scope).create(command.title, command.due, command.owner, actor=scope.user, chat=scope.chat)
    return await _tree(scope, goal.code, f"已新建目标 {goal.code}。下一步：阶段目标 {goal.code} … 或 KR {goal.code} …")


@router.command(NewStage)
async def new_stage(command: NewStage, scope: Scope) -> Reply:
    stage = await _service(scope).add_stage(command.goal_code, command.title, command.due, command.owner,
                                            actor=scope.user, chat=scope.chat)
    return await _tree(scope, command.goal_code, f"已新建阶段目标 {stage.code}。")


@router.command(NewKeyResult)
async def new_key_result(command: NewKeyResult, scope: Scope) -> Reply:
    kr = await _service(scope).add_key_result(command.goal_code, command.title, command.target, command.unit,
                                              command.current, actor=scope.user)
    return await _tree(scope, command.goal_code.split("-")[0], f"已添加关键结果 {kr.code}。")


@router.command(UpdateKeyResult)
async def update_key_result(command: UpdateKeyResult, scope: Scope) -> Reply:
    kr = await _service(scope).update_key_result(command.code, command.current, actor=scope.user)
    return await _tree(scope, kr.code.split("-")[0], f"{kr.code} 当前值已更新为 {kr.current:g}{kr.unit}。")


@router.command(LinkTask)
async def link_task(command: LinkTask, scope: Scope) -> Reply:
    task = await scope.tasks.require_for(command.task_code, actor=scope.user, action=TaskAction.UPDATE)
    where = await _service(scope).link(command.task_code, command.target_code, task=task)
    await scope.tasks.note(task, scope.user, "linked", f"关联到{where}")
    return await _tree(scope, command.target_code.split("-")[0], f"任务 {task.code} 已关联到{where}。")


@router.command(ShowGoalTree)
async def show_goal_tree(command: ShowGoalTree, scope: Scope) -> Reply:
    return Reply(card=goal_tree_card(await _service(scope).tree(command.code)))
