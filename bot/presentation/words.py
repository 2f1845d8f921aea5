"""The words people read for the codes the core stores: a task's status and priority, a risk's level."""

from __future__ import annotations

from typing import Final

from storage.tables import Priority, RiskLevel, TaskStatus

STATUS_WORDS: Final = {
    TaskStatus.PENDING: "待启动", TaskStatus.IN_PROGRESS: "进行中", TaskStatus.IN_REVIEW: "待验收",
    TaskStatus.DONE: "已完成", TaskStatus.CANCELLED: "已取消",
}
PRIORITY_WORDS: Final = {Priority.HIGH: "高", Priority.MEDIUM: "中", Priority.LOW: "低"}
RISK_LEVEL_WORDS: Final = {RiskLevel.HIGH: "高", RiskLevel.MEDIUM: "中", RiskLevel.LOW: "低"}


def status_word(status: str) -> str:
    return STATUS_WORDS.get(TaskStatus(status), status) if status in TaskStatus._value2member_map_ else status


def priority_word(priority: str) -> str:
    return PRIORITY_WORDS.get(Priority(priority), priority) if priority in Priority._value2member_map_ else priority


def risk_level_word(level: str) -> str:
    return RISK_LEVEL_WORDS.get(RiskLevel(level), level) if level in RiskLevel._value2member_map_ else level


def closed_phrase(status: str) -> str:
    """完成 or 取消, for sentences such as 任务 X 已完成，不能再…"""
    return status_word(status).removeprefix("已")
