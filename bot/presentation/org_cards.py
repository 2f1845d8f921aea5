"""The organisation card: departments, heads, members and who each reports to."""

from __future__ import annotations

from bot.core import Card, CardElement, Divider, Fields, Note, Text
from bot.engine.organisation import MemberView, OrganisationView

# A card must stay readable (and under platforms' size limits) for a large company.
MAX_MEMBERS_SHOWN = 30


def _member_line(member: MemberView) -> str:
    role = "（负责人）" if member.is_head else ""
    superior = f" → 上级 {member.superior}" if member.superior else ""
    return f"· {member.name}{role}{superior}"


def _members(members: tuple[MemberView, ...]) -> str:
    lines = [_member_line(m) for m in members[:MAX_MEMBERS_SHOWN]]
    if len(members) > MAX_MEMBERS_SHOWN:
        lines.append(f"……还有 {len(members) - MAX_MEMBERS_SHOWN} 人")
    return "\n".join(lines) if lines else "（暂无成员）"


def organisation_card(view: OrganisationView, *, headline: str | None = None) -> Card:
    elements: list[CardElement] = []
    if headline:
        elements.append(Text(headline))
    if not view.departments:
        elements.append(Text("还没有部门。管理员可以发送：设置部门 设计部 负责人 @李娜"))
    for department in view.departments:
        elements.append(Divider())
        elements.append(Fields((("部门", department.name), ("负责人", department.head or "未设置"))))
        elements.append(Text(_members(department.members)))
    if view.unassigned:
        elements.append(Divider())
        elements.append(Text("**未分配部门**\n" + _members(view.unassigned)))
    admins = "、".join(view.admins) or "未设置"
    elements.append(Note(f"管理员：{admins}。修改请用：设置部门 / 加入部门 / 设置上级"))
    title = "组织架构" if len(view.departments) != 1 else f"组织架构 · {view.departments[0].name}"
    return Card(title=title, elements=tuple(elements), template="blue")
