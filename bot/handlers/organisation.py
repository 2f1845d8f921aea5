"""Organisation commands: 设置部门, 加入部门, 设置上级, 组织, 设置管理员, 绑定推送."""

from __future__ import annotations

from bot.commands import AddAdmin, BindPushHook, JoinDepartment, SetDepartmentHead, SetSuperior, ShowOrganisation
from bot.engine.organisation import OrganisationService
from bot.engine.people import mention
from bot.engine.task_views import display_name
from bot.presentation.org_cards import organisation_card
from bot.router import Reply, Router
from bot.scope import Scope

router = Router("organisation")


def _service(scope: Scope) -> OrganisationService:
    return OrganisationService(scope.directory, scope.people)


@router.command(SetDepartmentHead)
async def set_department_head(command: SetDepartmentHead, scope: Scope) -> Reply:
    service = _service(scope)
    department, created = await service.set_head(command.department, command.head, create=command.create,
                                                 actor=scope.user)
    head = await scope.directory.user(department.head_user_id) if department.head_user_id else None
    verb = "已新建部门" if created else "已更新部门"
    headline = f"{verb}「{department.name}」，负责人 {mention(head) if head else '未设置'}。"
    return Reply(card=organisation_card(await service.view(department.name), headline=headline))


@router.command(JoinDepartment)
async def join_department(command: JoinDepartment, scope: Scope) -> Reply:
    service = _service(scope)
    department, members = await service.join(command.department, command.members, actor=scope.user)
    names = " ".join(mention(m) for m in members)
    headline = f"{names} 已加入「{department.name}」。"
    return Reply(card=organisation_card(await service.view(department.name), headline=headline))


@router.command(SetSuperior)
async def set_superior(command: SetSuperior, scope: Scope) -> Reply:
    person, superior = await _service(scope).set_superior(command.person, command.superior, actor=scope.user)
    return Reply(text=f"已设置：{mention(person)} 的上级是 {display_name(superior)}。问题升级时会通知上级。")


@router.command(ShowOrganisation)
async def show_organisation(command: ShowOrganisation, scope: Scope) -> Reply:
    return Reply(card=organisation_card(await _service(scope).view(command.department)))


@router.command(AddAdmin)
async def add_admin(command: AddAdmin, scope: Scope) -> Reply:
    person, added = await _service(scope).add_admin(command.person, actor=scope.user)
    if not added:
        return Reply(text=f"{display_name(person)} 已经是管理员了。")
    return Reply(text=f"{mention(person)} 现在是管理员，可以修改组织架构了。")


@router.command(BindPushHook)
async def bind_push_hook(command: BindPushHook, scope: Scope) -> Reply:
    bound = await _service(scope).bind_push_hook(scope.chat, command.key, actor=scope.user)
    if not bound:
        return Reply(text="已解除本群的推送绑定。")
    # The key is a credential: the reply shows only its end.
    return Reply(text=f"已绑定本群的推送（…{bound[-4:]}）。提醒和汇总会经这个群机器人发到本群。")
