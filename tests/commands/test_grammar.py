from __future__ import annotations

import pytest

from bot.commands import (
    CODE_PATTERN,
    AssignTask,
    CompleteTask,
    ListChatTasks,
    ListMyTasks,
    NewSubtask,
    NewTask,
    ParseError,
    PersonRef,
    ReportProgress,
    ShowHelp,
    ShowTask,
    help_entries,
    help_text,
    parse_command,
)
from bot.workflows.issues.commands import RaiseRisk
from storage.tables import RiskLevel
from tests.commands.moments import CTX, at

LARK_ID = "ou_7d8a6e6df7621556ce0d21922b676706ccs"
SEED = "新建任务 Q4新品宣传物料制作 负责人 @张三 截止 10月15日 优先级 高 交付标准 3张海报和2条短视频"


def parse(text: str) -> object:
    return parse_command(text, CTX)


def error(text: str) -> ParseError:
    result = parse(text)
    assert isinstance(result, ParseError), result
    return result


# --- 新建任务 ---------------------------------------------------------------------------------------


def test_seed_task() -> None:
    assert parse(SEED) == NewTask(
        title="Q4新品宣传物料制作",
        owner=PersonRef(name="张三"),
        due=at(2027, 10, 15),  # 10月15日 has passed on 2026-11-23
        priority="high",
        delivery_standard="3张海报和2条短视频",
    )


@pytest.mark.parametrize(
    "alias", ["新建任务", "新任务", "创建任务", "new task", "NewTask", "task new", "/新建任务", "／new task"]
)
def test_new_task_aliases(alias: str) -> None:
    result = parse(f"{alias} 周报 负责人 @张三 截止 周五")
    assert result == NewTask(title="周报", owner=PersonRef(name="张三"), due=at(2026, 11, 27))


def test_new_task_with_every_field_and_mentions() -> None:
    text = (
        f"新建任务 年会筹备 负责人 <@{LARK_ID}> 截止 12月20日 下午3点 优先级 P0 交付标准 方案+预算 "
        "协作人 <@ou_b> @李四、王五 审批人 @赵总 咨询人 @财务 知会人 <@ou_c> 和 <@ou_d> "
        "资源 预算5万 描述 包括场地和节目 开始 下周一"
    )
    assert parse(text) == NewTask(
        title="年会筹备",
        owner=PersonRef(user_id=LARK_ID),
        due=at(2026, 12, 20, 15, 0),
        priority="high",
        delivery_standard="方案+预算",
        collaborators=(PersonRef(user_id="ou_b"), PersonRef(name="李四"), PersonRef(name="王五")),
        approver=PersonRef(name="赵总"),
        consulted=(PersonRef(name="财务"),),
        informed=(PersonRef(user_id="ou_c"), PersonRef(user_id="ou_d")),
        resources="预算5万",
        description="包括场地和节目",
        start=at(2026, 11, 30),
    )


def test_new_task_english_keys() -> None:
    text = "new task Fix login owner: <@ou_a> due: fri 3pm priority: low support <@ou_b>, <@ou_c> desc: SSO only"
    assert parse(text) == NewTask(
        title="Fix login",
        owner=PersonRef(user_id="ou_a"),
        due=at(2026, 11, 27, 15, 0),
        priority="low",
        collaborators=(PersonRef(user_id="ou_b"), PersonRef(user_id="ou_c")),
        description="SSO only",
    )


def test_full_width_punctuation_and_colon_keys() -> None:
    text = "\u3000新建任务：年会筹备，负责人：＠张三，截止：１２月２０日；优先级：低；交付标准：方案，预算。 "
    assert parse(text) == NewTask(
        title="年会筹备",
        owner=PersonRef(name="张三"),
        due=at(2026, 12, 20),
        priority="low",
        delivery_standard="方案，预算",
    )


def test_multiline_message() -> None:
    text = "新建任务 年会筹备\n负责人：@张三\n截止：周五\n描述：第一行\n第二行"
    result = parse(text)
    assert isinstance(result, NewTask)
    assert (result.title, result.owner, result.due) == ("年会筹备", PersonRef(name="张三"), at(2026, 11, 27))
    assert result.description == "第一行\n第二行"


def test_bare_name_owner_and_keys_without_space() -> None:
    assert parse("新建任务 周报 负责人 张三 截止10月15日 优先级高") == NewTask(
        title="周报", owner=PersonRef(name="张三"), due=at(2027, 10, 15), priority="high"
    )
    assert parse(f"新建任务 周报 负责人<@{LARK_ID}>截止 周五") == NewTask(
        title="周报", owner=PersonRef(user_id=LARK_ID), due=at(2026, 11, 27)
    )


def test_key_words_inside_a_title_stay_in_the_title() -> None:
    result = parse("新建任务 资源整合方案 开始准备 负责人 @张三 截止 周五")
    assert isinstance(result, NewTask)
    assert result.title == "资源整合方案 开始准备"
    assert result.resources is None and result.start is None


@pytest.mark.parametrize(
    ("word", "priority"),
    [("高", "high"), ("中", "medium"), ("低", "low"), ("high", "high"), ("Medium", "medium"), ("l", "low"),
     ("P0", "high"), ("p1", "high"), ("P2", "medium"), ("P3", "low"), ("紧急", "high")],
)
def test_priorities(word: str, priority: str) -> None:
    result = parse(f"新建任务 周报 负责人 @张三 截止 周五 优先级 {word}")
    assert isinstance(result, NewTask)
    assert result.priority == priority


def test_priority_defaults_to_medium() -> None:
    result = parse("新建任务 周报 负责人 @张三 截止 周五")
    assert isinstance(result, NewTask)
    assert result.priority == "medium"


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("新建任务 周报 截止 周五", "负责人"),
        ("新建任务 周报 负责人 @张三", "截止时间"),
        ("新建任务 周报 负责人 截止 周五", "负责人"),
        ("新建任务 周报", "负责人、截止时间"),
        ("新建任务 负责人 @张三 截止 周五", "任务标题"),
        ("新建任务", "任务标题、负责人、截止时间"),
    ],
)
def test_missing_fields_are_named_with_an_example(text: str, missing: str) -> None:
    result = error(text)
    assert result.kind == "missing_field"
    assert f"缺少：{missing}。" in result.message
    assert " / " not in result.message  # written in Chinese, answered in Chinese only
    assert "新建任务 Q4新品宣传物料制作 负责人 @张三 截止 10月15日" in result.message


def test_missing_owner_in_english() -> None:
    result = error("new task Fix login due friday")
    assert result.kind == "missing_field"
    assert "missing: owner" in result.message


def test_bad_due_lists_the_accepted_forms() -> None:
    result = error("新建任务 周报 负责人 @张三 截止 2月30日")
    assert result.kind == "bad_date"
    assert result.message.startswith("截止时间没有看懂：2027年2月没有30日")
    for form in ("今天", "明天", "后天", "周五", "下周一", "10月15日", "10.15", "2026-10-15", "3天后", "18点",
                 "下午3点", "15:30", "下班前"):
        assert form in result.message


def test_bad_start_date() -> None:
    result = error("新建任务 周报 负责人 @张三 截止 周五 开始 某天")
    assert result.kind == "bad_date"
    assert result.message.startswith("开始时间没有看懂")


def test_bad_priority() -> None:
    result = error("新建任务 周报 负责人 @张三 截止 周五 优先级 超级高")
    assert result.kind == "bad_value"
    assert "高、中、低" in result.message


def test_two_owners_are_refused() -> None:
    result = error("新建任务 周报 负责人 @张三 @李四 截止 周五")
    assert result.kind == "bad_value"
    assert "协作人" in result.message


def test_duplicate_key_is_refused_but_people_keys_merge() -> None:
    assert error("新建任务 周报 负责人 @张三 截止 周五 截止 周六").kind == "bad_value"
    result = parse("新建任务 周报 负责人 @张三 截止 周五 协作人 @李四 协作人 @王五")
    assert isinstance(result, NewTask)
    assert result.collaborators == (PersonRef(name="李四"), PersonRef(name="王五"))


def test_messages_never_echo_mentions() -> None:
    result = error("新建任务 周报 负责人 <@all> 截止 <@all>")
    assert result.kind == "bad_date"
    assert "<@" not in result.message


# --- 子任务 ------------------------------------------------------------------------------------------


def test_seed_subtasks() -> None:
    assert parse("子任务 XZB20231001 海报初稿设计 负责人 @李四 截止 10月8日 交付标准 3张海报初稿") == NewSubtask(
        parent_code="XZB20231001",
        title="海报初稿设计",
        owner=PersonRef(name="李四"),
        due=at(2027, 10, 8),
        delivery_standard="3张海报初稿",
    )
    assert parse("子任务 XZB20231001 短视频脚本撰写 负责人 @王五 截止 12月10日 优先级 中") == NewSubtask(
        parent_code="XZB20231001",
        title="短视频脚本撰写",
        owner=PersonRef(name="王五"),
        due=at(2026, 12, 10),
        priority="medium",
    )
    assert parse("subtask xzb20231001 物料修改定稿 support <@ou_a> resources 设计外包") == NewSubtask(
        parent_code="XZB20231001",
        title="物料修改定稿",
        collaborators=(PersonRef(user_id="ou_a"),),
        resources="设计外包",
    )


def test_subtask_inherits_owner_due_and_priority() -> None:
    assert parse("子任务 XZB20231001-01 海报尺寸确认") == NewSubtask(
        parent_code="XZB20231001-01", title="海报尺寸确认", owner=None, due=None, priority=None
    )


def test_subtask_errors() -> None:
    assert error("子任务 XZB20231001").kind == "missing_field"
    assert error("子任务 海报初稿设计 负责人 @李四").kind == "bad_value"
    unsupported = error("子任务 XZB20231001 海报 审批人 @赵总")
    assert unsupported.kind == "bad_value"
    assert "审批人" in unsupported.message


# --- 指派 / 进度 / 完成 / 查看 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["指派 XZB20231001-01 @王五", "分配 XZB20231001-01 @王五", "assign xzb20231001-01 @王五",
     "指派 @王五 XZB20231001-01", "指派 XZB20231001-01 给 @王五", "指派XZB20231001-01 给王五",
     "指派：XZB20231001-01，@王五"],
)
def test_assign(text: str) -> None:
    assert parse(text) == AssignTask(code="XZB20231001-01", assignee=PersonRef(name="王五"))


def test_assign_with_mention_token() -> None:
    assert parse(f"指派 XZB20231001-02 <@{LARK_ID}>") == AssignTask(
        code="XZB20231001-02", assignee=PersonRef(user_id=LARK_ID)
    )


def test_assign_errors() -> None:
    assert error("指派 XZB20231001-01").kind == "missing_field"
    assert error("指派 XZB20231001-01 @王五 @李四").kind == "bad_value"
    assert error("指派 @王五").kind == "bad_value"
    assert error("指派 XZB-1 @王五").kind == "bad_value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("进度 XZB20231001-01 70% 海报初稿已完成", ReportProgress("XZB20231001-01", 70, "海报初稿已完成")),
        ("进度 XZB20231001-01 70", ReportProgress("XZB20231001-01", 70, "")),
        ("进度 xzb20231001-01 ７０％，海报初稿已完成", ReportProgress("XZB20231001-01", 70, "海报初稿已完成")),
        ("progress XZB20231001-01 100 % done!", ReportProgress("XZB20231001-01", 100, "done!")),
        ("进度 XZB20231001-01 0%", ReportProgress("XZB20231001-01", 0, "")),
        ("进度XZB20231001-01 50%还差两张", ReportProgress("XZB20231001-01", 50, "还差两张")),
    ],
)
def test_progress(text: str, expected: ReportProgress) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("进度 XZB20231001-01 170%", "bad_value"),
        ("进度 XZB20231001-01 101", "bad_value"),
        ("进度 XZB20231001-01 -5%", "bad_value"),
        ("进度 XZB20231001-01 70.5%", "bad_value"),
        ("进度 XZB20231001-01 99999999999999999999%", "bad_value"),
        ("进度 XZB20231001-01 5张海报", "bad_value"),
        ("进度 XZB20231001-01", "missing_field"),
        ("进度 XZB20231001-01 快完成了", "missing_field"),
        ("进度 70%", "bad_value"),
    ],
)
def test_progress_errors(text: str, kind: str) -> None:
    result = error(text)
    assert result.kind == kind
    assert "进度 XZB20231001-01 70% 海报初稿已完成" in result.message


@pytest.mark.parametrize(
    "text", ["完成 XZB20231001-01", "done XZB20231001-01", "FINISH xzb20231001-01", "完成：XZB20231001-01"]
)
def test_complete(text: str) -> None:
    assert parse(text) == CompleteTask(code="XZB20231001-01")


def test_nested_subtask_code() -> None:
    assert parse("完成 xzb20231001-01-02") == CompleteTask(code="XZB20231001-01-02")


@pytest.mark.parametrize("text", ["完成", "完成 XZB-1", "完成 XZB20231001-1", "完成 20231001", "完成 XZB", "done 海报"])
def test_bad_codes_explain_the_format(text: str) -> None:
    result = error(text)
    assert result.kind == "bad_value"
    assert "XZB20231001-01" in result.message
    assert "完成 XZB20231001-01" in result.message


@pytest.mark.parametrize(
    "text", ["任务 XZB20231001", "详情 XZB20231001", "show xzb20231001", "task XZB20231001", "任务XZB20231001"]
)
def test_show(text: str) -> None:
    assert parse(text) == ShowTask(code="XZB20231001")


@pytest.mark.parametrize("text", ["我的任务", "my tasks", "My Tasks", "mine", "/我的任务"])
def test_my_tasks(text: str) -> None:
    assert parse(text) == ListMyTasks()


@pytest.mark.parametrize("text", ["本群任务", "任务列表", "群任务", "tasks", "LIST", "本群任务 "])
def test_chat_tasks(text: str) -> None:
    assert parse(text) == ListChatTasks()


@pytest.mark.parametrize(
    ("text", "topic"),
    [("帮助", None), ("help", None), ("?", None), ("？", None), ("菜单", None), ("/help", None),
     ("帮助 新建任务", "新建任务"), ("help new task", "新建任务"), ("帮助 assign", "指派"), ("帮助 别的", "别的")],
)
def test_help(text: str, topic: str | None) -> None:
    assert parse(text) == ShowHelp(topic=topic)


# --- empty / unknown ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\u3000\n\t", "/", "\u200b"])
def test_empty(text: str) -> None:
    result = error(text)
    assert result.kind == "empty"
    assert "发送「帮助」查看所有命令" in result.message and "send" not in result.message


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("新建", "新建任务"), ("新建 周报", "新建任务"), ("进展 XZB20231001 50%", "进度"), ("完成了", "完成"),
     ("完成了 XZB20231001", "完成"), ("hlep", "help"), ("任务清单", "本群任务"), ("finished XZB1", "done"),
     ("我的任务呢", "我的任务"), ("新任", "新建任务")],
)
def test_unknown_command_suggests_the_close_one(text: str, suggestion: str) -> None:
    result = error(text)
    assert result.kind == "unknown_command"
    assert f"你是不是想输入「{suggestion}」？" in result.message
    assert "发送「帮助」查看所有命令" in result.message
    assert ("send 'help'" in result.message) == text.isascii()


def test_unknown_command_without_suggestion() -> None:
    result = error("今天天气不错")
    assert result.kind == "unknown_command"
    assert result.message == "没有看懂这条命令。发送「帮助」查看所有命令"


# --- codes and help -------------------------------------------------------------------------------


def test_code_pattern() -> None:
    for code in ("XZB20231001", "XZB20231001-01", "XZB20231001-01-02", "A1"):
        assert CODE_PATTERN.fullmatch(code)
    for code in ("xzb20231001", "XZB", "20231001", "XZB20231001-1", "XZB20231001-", "XZB_1"):
        assert CODE_PATTERN.fullmatch(code) is None


def test_help_entries_cover_every_command_and_parse() -> None:
    names = [entry.name for entry in help_entries()]
    assert names == ["新建任务", "子任务", "指派", "进度", "完成", "我的任务", "本群任务", "任务",
                     "协作人", "审批人", "咨询人", "知会人", "资源", "交付标准", "截止",
                     "目标", "阶段目标", "KR", "KR进度", "关联", "目标树",
                     "设置部门", "加入部门", "设置上级", "组织", "设置管理员", "绑定推送",
                     "待我处理", "转交", "发起协作", "协作", "接受", "拒绝", "卡点", "风险", "问题", "已知悉", "已解决",
                     "变更", "同意", "驳回", "提交验收", "通过", "不通过", "延期原因",
                     "假期", "调休", "日历", "请假", "销假", "时区", "站会", "周报", "月报", "复盘", "帮助"]
    for name, alias, description, example in help_entries():
        assert description and alias
        assert not isinstance(parse(example), ParseError), example
        assert not isinstance(parse(example.replace(name, alias, 1)), ParseError), alias


def test_help_text() -> None:
    everything = help_text(None)
    for entry in help_entries():
        assert entry.example in everything
    one = help_text("new task")
    assert one.startswith("新建任务 / new task：")
    assert "交付标准" in one and "下班前" in one
    assert "指派 XZB20231001-01 @王五" not in one
    assert help_text("没有的命令").startswith("没有找到这个命令")


@pytest.mark.parametrize(("written", "level"), [
    ("高", RiskLevel.HIGH), ("严重", RiskLevel.HIGH), ("紧急", RiskLevel.HIGH), ("HIGH", RiskLevel.HIGH),
    ("高风险", RiskLevel.HIGH), ("中", RiskLevel.MEDIUM), ("medium", RiskLevel.MEDIUM), ("低", RiskLevel.LOW),
    ("low", RiskLevel.LOW),
])
def test_a_risk_level_is_read_into_its_code(written: str, level: RiskLevel) -> None:
    command = parse(f"风险 {written} XZB20231001 供应商可能延期 影响 海报延期3天 建议 启用备选供应商")
    assert isinstance(command, RaiseRisk) and command.level is level
