"""Every command: its Chinese name, the words that invoke it, a description and an example."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from bot.commands.text import ascii_lower

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    english: str
    aliases: tuple[str, ...]
    description: str
    example: str
    # Free-text commands may be followed directly by Chinese text (新建任务海报设计); the others need
    # a boundary so that 完成了 is not read as 完成 + "了".
    free_text: bool = False


NEW_TASK: Final = CommandSpec(
    "新建任务", "new task", ("新建任务", "新任务", "创建任务", "new task", "newtask", "task new"),
    "新建任务，写上负责人和截止时间",
    "新建任务 Q4新品宣传物料制作 负责人 @张三 截止 10月15日 优先级 高 交付标准 3张海报和2条短视频",
    free_text=True,
)
NEW_SUBTASK: Final = CommandSpec(
    "子任务", "subtask", ("子任务", "subtask", "sub task"),
    "在某个任务下新建子任务（负责人、截止时间不写则沿用主任务）",
    "子任务 XZB20231001 海报初稿设计 负责人 @李四 截止 10月8日 交付标准 3张海报初稿",
)
ASSIGN: Final = CommandSpec(
    "指派", "assign", ("指派", "分配", "assign"),
    "把任务交给另一个人负责",
    "指派 XZB20231001-01 @王五",
)
PROGRESS: Final = CommandSpec(
    "进度", "progress", ("进度", "progress"),
    "更新任务进度（0–100%），可以附一句说明",
    "进度 XZB20231001-01 70% 海报初稿已完成",
)
COMPLETE: Final = CommandSpec(
    "完成", "done", ("完成", "done", "finish"),
    "把任务标记为已完成",
    "完成 XZB20231001-01",
)
MY_TASKS: Final = CommandSpec(
    "我的任务", "my tasks", ("我的任务", "my tasks", "my task", "mytasks", "mine"),
    "查看我负责的任务",
    "我的任务",
)
CHAT_TASKS: Final = CommandSpec(
    "本群任务", "tasks", ("本群任务", "任务列表", "群任务", "tasks", "list"),
    "查看本群的任务",
    "本群任务",
)
SHOW_TASK: Final = CommandSpec(
    "任务", "show", ("任务", "详情", "任务详情", "show", "task"),
    "查看某个任务的详情",
    "任务 XZB20231001",
)
HELP: Final = CommandSpec(
    "帮助", "help", ("帮助", "菜单", "help", "menu", "?"),
    "查看所有命令，或某个命令的用法",
    "帮助 新建任务",
    free_text=True,
)

SET_COLLABORATORS: Final = CommandSpec(
    "协作人", "support", ("协作人", "协作者", "support", "collaborators"),
    "为任务添加协作人（可多人）",
    "协作人 XZB20231001 @赵磊 @陈静",
)
SET_APPROVER: Final = CommandSpec(
    "审批人", "approver", ("审批人", "approver"),
    "设置任务的审批人（验收人）",
    "审批人 XZB20231001 @王强",
)
SET_CONSULTED: Final = CommandSpec(
    "咨询人", "consulted", ("咨询人", "consulted"),
    "为任务添加咨询人（可多人）",
    "咨询人 XZB20231001 @李娜",
)
SET_INFORMED: Final = CommandSpec(
    "知会人", "informed", ("知会人", "informed"),
    "为任务添加知会人（可多人）",
    "知会人 XZB20231001 @周杰",
)
SET_RESOURCES: Final = CommandSpec(
    "资源", "resources", ("资源", "所需资源", "resources"),
    "写明任务所需资源",
    "资源 XZB20231001 需要摄影棚半天",
    free_text=True,
)
SET_STANDARD: Final = CommandSpec(
    "交付标准", "standard", ("交付标准", "standard"),
    "写明任务的交付标准",
    "交付标准 XZB20231001 3张海报和2条短视频",
    free_text=True,
)
SET_DEADLINE: Final = CommandSpec(
    "截止", "deadline", ("截止", "改截止", "截止时间", "deadline", "due"),
    "修改任务的截止时间（发起人或审批人）",
    "截止 XZB20231001 10月20日",
)
NEW_GOAL: Final = CommandSpec(
    "目标", "goal", ("目标", "新建目标", "总目标", "goal", "objective"),
    "新建一个目标（OKR 的 O），可以写截止和负责人",
    "目标 Q4新品上市 截止 12月31日 负责人 @张敏",
    free_text=True,
)
NEW_STAGE: Final = CommandSpec(
    "阶段目标", "stage", ("阶段目标", "stage"),
    "在目标下新建阶段目标",
    "阶段目标 O2026001 物料准备 截止 12月15日 负责人 @李娜",
)
NEW_KEY_RESULT: Final = CommandSpec(
    "KR", "key result", ("kr", "关键结果", "key result"),
    "给目标（或阶段目标）加一个关键结果，写目标值",
    "KR O2026001 新品曝光量 目标值 100万次 当前 20万次",
)
KEY_RESULT_PROGRESS: Final = CommandSpec(
    "KR进度", "kr progress", ("kr进度", "关键结果进度", "kr progress"),
    "更新关键结果的当前值",
    "KR进度 O2026001-KR1 35",
)
LINK_TASK: Final = CommandSpec(
    "关联", "link", ("关联", "挂到", "link"),
    "把任务（连同子任务）挂到目标、阶段目标或关键结果下",
    "关联 XZB20231001 O2026001-KR1",
)
GOAL_TREE: Final = CommandSpec(
    "目标树", "goals", ("目标树", "目标列表", "goals", "goal tree", "okr"),
    "查看目标 → 阶段目标 → 关键结果和任务，以及汇总进度",
    "目标树 O2026001",
)
SET_DEPARTMENT: Final = CommandSpec(
    "设置部门", "set department", ("设置部门", "部门负责人", "set department", "set dept"),
    "设置部门负责人（部门不存在时新建）；管理员可用",
    "设置部门 设计部 负责人 @李娜",
)
JOIN_DEPARTMENT: Final = CommandSpec(
    "加入部门", "join department", ("加入部门", "部门成员", "join department", "join dept"),
    "把成员加入某个部门；管理员可用",
    "加入部门 设计部 @赵磊 @陈静",
)
SET_SUPERIOR: Final = CommandSpec(
    "设置上级", "set superior", ("设置上级", "汇报给", "set superior", "set manager"),
    "设置某人的上级（前一个人汇报给后一个人）；管理员可用",
    "设置上级 @赵磊 @李娜",
)
SHOW_ORGANISATION: Final = CommandSpec(
    "组织", "org", ("组织", "组织架构", "架构", "org", "organisation", "organization"),
    "查看部门、负责人、成员和上级",
    "组织 设计部",
)
ADD_ADMIN: Final = CommandSpec(
    "设置管理员", "add admin", ("设置管理员", "添加管理员", "add admin", "set admin"),
    "把某人设为管理员（可以修改组织架构）；管理员可用",
    "设置管理员 @王强",
)
BIND_PUSH: Final = CommandSpec(
    "绑定推送", "bind push", ("绑定推送", "bind push", "bindpush"),
    "把群机器人的 Webhook 绑定到本群，提醒和汇总经它推送（写「关闭」解除）；管理员可用",
    "绑定推送 693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
)

COMMANDS: Final = (
    NEW_TASK, NEW_SUBTASK, ASSIGN, PROGRESS, COMPLETE, MY_TASKS, CHAT_TASKS, SHOW_TASK,
    SET_COLLABORATORS, SET_APPROVER, SET_CONSULTED, SET_INFORMED, SET_RESOURCES, SET_STANDARD, SET_DEADLINE,
    NEW_GOAL, NEW_STAGE, NEW_KEY_RESULT, KEY_RESULT_PROGRESS, LINK_TASK, GOAL_TREE,
    SET_DEPARTMENT, JOIN_DEPARTMENT, SET_SUPERIOR, SHOW_ORGANISATION, ADD_ADMIN, BIND_PUSH, HELP,
)

# Words people type that are not commands but clearly mean one; used for "did you mean".
SYNONYMS: Final = {
    "新建": "新建任务", "创建": "新建任务", "新增任务": "新建任务", "添加任务": "新建任务", "建任务": "新建任务",
    "进展": "进度", "更新进度": "进度", "汇报进度": "进度", "汇报": "进度",
    "完成了": "完成", "已完成": "完成", "搞定": "完成", "结束": "完成",
    "分派": "指派", "交给": "指派",
    "任务清单": "本群任务", "列表": "本群任务", "所有任务": "本群任务",
    "我的": "我的任务", "查看": "任务", "查看任务": "任务",
    "说明": "帮助", "用法": "帮助", "怎么用": "帮助",
    "部门": "组织", "通讯录": "组织", "管理员": "设置管理员", "上级": "设置上级",
}


# Commands of the workflow packages (bot/workflows), added when they load; help stays last.
_ADDED: list[CommandSpec] = []
_EXTENSIONS_LOADED = False
# What is derived from the commands (the list itself, tables built from it), until one is added.
_ALL: tuple[CommandSpec, ...] = ()
_DERIVED: dict[Callable[[tuple[CommandSpec, ...]], Any], Any] = {}


def add_command(spec: CommandSpec) -> None:
    global _ALL
    if all(spec.name != known.name for known in _ADDED):
        _ADDED.append(spec)
        _ALL = ()
        _DERIVED.clear()


def all_commands() -> tuple[CommandSpec, ...]:
    """The core commands, then every workflow's, then 帮助."""
    global _EXTENSIONS_LOADED, _ALL
    if not _EXTENSIONS_LOADED:
        _EXTENSIONS_LOADED = True
        # Each workflow registers its own commands; loaded on first use, so this module stays a leaf.
        importlib.import_module("bot.workflows").load_commands()
    if not _ALL:
        _ALL = (*COMMANDS[:-1], *_ADDED, COMMANDS[-1])
    return _ALL


def derived(build: Callable[[tuple[CommandSpec, ...]], _T]) -> Callable[[], _T]:
    """`build(all_commands())`, built on first use and again after a workflow adds a command."""
    def current() -> _T:
        commands = all_commands()  # first: loading the workflows adds their commands
        if build not in _DERIVED:
            _DERIVED[build] = build(commands)
        return cast(_T, _DERIVED[build])
    return current


def _by_word(commands: tuple[CommandSpec, ...]) -> dict[str, CommandSpec]:
    """Every word naming a command; the first command in order keeps a word two share."""
    named: dict[str, CommandSpec] = {}
    for spec in commands:
        for word in (spec.name, spec.english, *spec.aliases):
            named.setdefault(word, spec)
    return named


_named = derived(_by_word)


def find_command(word: str) -> CommandSpec | None:
    """The command `word` names (its name, English name or any alias), ignoring case and spacing."""
    return _named().get(" ".join(ascii_lower(word).split()))
