"""Task cards: one task, a task's details with its timeline, and task lists."""

from __future__ import annotations

from bot.core import ActionPayload, Button, Buttons, Card, Divider, Fields, Note, Text
from bot.core.cards import Template
from bot.engine.health import HEALTH_DOT, HEALTH_TEMPLATE
from bot.engine.views import TaskView
from bot.presentation.format import local_due, progress_bar, short_due
from bot.presentation.words import priority_word, status_word

DONE = ActionPayload(act="task.done")
DETAIL = ActionPayload(act="task.detail")


def _template(view: TaskView) -> Template:
    return HEALTH_TEMPLATE[view.health] if view.is_open else "grey"


def _buttons(view: TaskView, *, detail: bool = True) -> Buttons | None:
    buttons: list[Button] = []
    if view.is_open:
        buttons.append(Button("完成", DONE.model_copy(update={"ref": view.code}), "primary"))
    if detail:
        buttons.append(Button("详情", DETAIL.model_copy(update={"ref": view.code})))
    return Buttons(tuple(buttons)) if buttons else None


def _core_fields(view: TaskView) -> list[tuple[str, str]]:
    fields = [
        ("负责人", view.owner),
        ("截止", local_due(view.due_at, view.timezone)),
        ("优先级", priority_word(view.priority)),
        ("状态", status_word(view.status)),
        ("健康", f"{HEALTH_DOT[view.health]} {view.health}"),
        ("进度", progress_bar(view.progress)),
    ]
    if view.parent_code:
        fields.append(("主任务", view.parent_code))
    if view.collaborators:
        fields.append(("协作人", "、".join(view.collaborators)))
    if view.approver:
        fields.append(("审批人", view.approver))
    return fields


def task_card(view: TaskView, *, headline: str | None = None) -> Card:
    elements: list = []
    if headline:
        elements.append(Text(headline))
    elements.append(Fields(tuple(_core_fields(view))))
    if view.delivery_standard:
        elements.append(Text(f"**交付标准**：{view.delivery_standard}"))
    if view.resources:
        elements.append(Text(f"**所需资源**：{view.resources}"))
    buttons = _buttons(view)
    if buttons:
        elements.append(buttons)
    if view.is_open:
        elements.append(Note(f"任务编号 {view.code} · 更新进度：进度 {view.code} 50% 说明"))
    else:
        elements.append(Note(f"任务编号 {view.code} · {status_word(view.status)}"))
    return Card(title=f"{view.code} {view.title}", elements=tuple(elements), template=_template(view))


def task_detail_card(view: TaskView) -> Card:
    fields = _core_fields(view)
    if view.initiator:
        fields.append(("发起人", view.initiator))
    if view.consulted:
        fields.append(("咨询人", "、".join(view.consulted)))
    if view.informed:
        fields.append(("知会人", "、".join(view.informed)))
    elements: list = [Fields(tuple(fields))]
    if view.description:
        elements.append(Text(view.description))
    if view.delivery_standard:
        elements.append(Text(f"**交付标准**：{view.delivery_standard}"))
    if view.resources:
        elements.append(Text(f"**所需资源**：{view.resources}"))
    if view.children:
        lines = [
            f"{HEALTH_DOT[c.health]} {c.code} {c.title} · {c.owner} · {status_word(c.status)} {c.progress}%"
            f" · {short_due(c.due_at, c.timezone, c.as_of)}"
            for c in view.children
        ]
        elements += [Divider(), Text("**子任务**\n" + "\n".join(lines))]
    if view.timeline:
        lines = [f"{short_due(e.at, view.timezone)} {e.actor}：{e.detail}" for e in view.timeline[-10:]]
        elements += [Divider(), Text("**时间线**\n" + "\n".join(lines))]
    buttons = _buttons(view, detail=False)
    if buttons:
        elements.append(buttons)
    return Card(title=f"{view.code} {view.title}", elements=tuple(elements), template=_template(view))


def task_list_card(title: str, views: list[TaskView], *, empty_hint: str) -> Card:
    if not views:
        return Card(title=title, elements=(Text(empty_hint),), template="grey")
    counts = {h: sum(1 for v in views if v.health == h) for h in ("正常", "即将到期", "延期")}
    summary = (
        f"共 {len(views)} 项 · 🟢 正常 {counts['正常']} · 🟡 即将到期 {counts['即将到期']} · 🔴 延期 {counts['延期']}"
    )
    lines = [
        f"{HEALTH_DOT[v.health]} **{v.code}** {v.title}\n"
        f"　　{v.owner} · {status_word(v.status)} {v.progress}% · 截止 {short_due(v.due_at, v.timezone, v.as_of)}"
        for v in views[:30]
    ]
    elements: list = [Text(summary), Divider(), Text("\n".join(lines))]
    if len(views) > 30:
        elements.append(Note(f"另有 {len(views) - 30} 项未显示，发送「任务 编号」查看单个任务。"))
    else:
        elements.append(Note("发送「任务 编号」查看详情，例如：任务 " + views[0].code))
    template: Template = "red" if counts["延期"] else ("yellow" if counts["即将到期"] else "blue")
    return Card(title=title, elements=tuple(elements), template=template)
