"""The goal tree card: goal → stage goals → key results and tasks → subtasks, with rolled-up progress."""

from __future__ import annotations

from bot.core import Card, CardElement, Divider, Note, Text
from bot.engine.goals import GoalNode, KeyResultNode
from bot.engine.health import HEALTH_DOT
from bot.engine.views import TaskView
from bot.presentation.format import short_due
from bot.presentation.words import status_word

# Deep trees are cut, not failed: a card has a size limit on every platform.
MAX_LINES = 60


def _number(value: float) -> str:
    return f"{value:g}"


def _task_lines(view: TaskView, indent: str) -> list[str]:
    line = (f"{indent}{HEALTH_DOT[view.health]} {view.code} {view.title}　{view.owner} · {status_word(view.status)} "
            f"{view.progress}% · 截止 {short_due(view.due_at, view.timezone, view.as_of)}")
    return [line, *(line for child in view.children for line in _task_lines(child, indent + "　　"))]


def _kr_lines(kr: KeyResultNode, indent: str) -> list[str]:
    head = (f"{indent}🎯 {kr.code} {kr.title}　{_number(kr.current)}/{_number(kr.target)}{kr.unit} "
            f"· {kr.progress}%")
    return [head, *(line for task in kr.tasks for line in _task_lines(task, indent + "　　"))]


def _goal_lines(goal: GoalNode, indent: str = "") -> list[str]:
    kind = "阶段目标" if "-S" in goal.code else "目标"
    head = (f"{indent}{HEALTH_DOT[goal.health]} **{kind} {goal.code} {goal.title}**　{goal.owner} · "
            f"{goal.progress}% · 截止 {short_due(goal.due_at, goal.timezone)}")
    lines = [head]
    for kr in goal.key_results:
        lines.extend(_kr_lines(kr, indent + "　　"))
    for task in goal.tasks:
        lines.extend(_task_lines(task, indent + "　　"))
    for stage in goal.stages:
        lines.extend(_goal_lines(stage, indent + "　　"))
    return lines


def goal_tree_card(goals: list[GoalNode], *, headline: str | None = None) -> Card:
    elements: list[CardElement] = []
    if headline:
        elements.append(Text(headline))
    if not goals:
        elements.append(Text("还没有目标。发送：目标 Q4新品上市 截止 12月31日 负责人 @张敏"))
    for goal in goals:
        lines = _goal_lines(goal)
        if len(lines) > MAX_LINES:
            lines = [*lines[:MAX_LINES], f"……还有 {len(lines) - MAX_LINES} 行，发送「目标树 {goal.code}」分开查看"]
        elements.extend((Divider(), Text("\n".join(lines))))
    elements.append(Note("进度汇总：关键结果 = 当前值/目标值；目标 = 关键结果、阶段目标和直接关联任务的平均"))
    title = "目标树" if len(goals) != 1 else f"目标树 · {goals[0].code} {goals[0].title}"
    return Card(title=title, elements=tuple(elements), template="blue")
