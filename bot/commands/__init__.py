"""The command grammar: chat text to typed commands. Pure, synchronous, never raises on input."""

from bot.commands.context import ParseContext
from bot.commands.dates import DateParseError, parse_due
from bot.commands.grammar import parse_command
from bot.commands.help import HELP_ENTRIES, HelpEntry, help_text
from bot.commands.model import (
    CODE_PATTERN,
    AssignTask,
    Command,
    CompleteTask,
    ListChatTasks,
    ListMyTasks,
    NewSubtask,
    NewTask,
    ParseError,
    PersonRef,
    Priority,
    ReportProgress,
    ShowHelp,
    ShowTask,
)

__all__ = [
    "CODE_PATTERN",
    "HELP_ENTRIES",
    "AssignTask",
    "Command",
    "CompleteTask",
    "DateParseError",
    "HelpEntry",
    "ListChatTasks",
    "ListMyTasks",
    "NewSubtask",
    "NewTask",
    "ParseContext",
    "ParseError",
    "PersonRef",
    "Priority",
    "ReportProgress",
    "ShowHelp",
    "ShowTask",
    "help_text",
    "parse_command",
    "parse_due",
]
