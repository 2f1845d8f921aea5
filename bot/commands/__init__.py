"""The command grammar: chat text to typed commands. Pure, synchronous, never raises on input."""

from bot.commands.context import ParseContext
from bot.commands.dates import DateParseError, parse_due
from bot.commands.grammar import parse_command
from bot.commands.help import HELP_ENTRIES, HelpEntry, help_text
from bot.commands.model import (
    CODE_PATTERN,
    AddAdmin,
    AssignTask,
    Command,
    CompleteTask,
    JoinDepartment,
    ListChatTasks,
    ListMyTasks,
    NewSubtask,
    NewTask,
    ParseError,
    PersonRef,
    Priority,
    ReportProgress,
    SetDepartmentHead,
    SetSuperior,
    ShowHelp,
    ShowOrganisation,
    ShowTask,
)

__all__ = [
    "CODE_PATTERN",
    "HELP_ENTRIES",
    "AddAdmin",
    "AssignTask",
    "Command",
    "CompleteTask",
    "DateParseError",
    "HelpEntry",
    "JoinDepartment",
    "ListChatTasks",
    "ListMyTasks",
    "NewSubtask",
    "NewTask",
    "ParseContext",
    "ParseError",
    "PersonRef",
    "Priority",
    "ReportProgress",
    "SetDepartmentHead",
    "SetSuperior",
    "ShowHelp",
    "ShowOrganisation",
    "ShowTask",
    "help_text",
    "parse_command",
    "parse_due",
]
