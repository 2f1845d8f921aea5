"""The server under test logs as `tuijin serve` does, into a file of its own.

A deployment runs at `TUIJIN_LOG_LEVEL` (INFO unless set): a JSON line for every command and card
click handled, written to stderr, which the service manager keeps (a line per platform delivery
too at DEBUG). Measuring the server at
WARNING would leave that work out, so each server process points its stderr at a file (as
`tuijin serve 2>>file` would) and configures logging with the project's own `configure_logging`.
The load process then counts the lines and shows what was logged at warning or above.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

SERIOUS = ("warning", "error", "critical")


def log_to_file(path: str, level: str) -> None:
    """In a server process, before anything logs: stderr becomes `path`, logging as deployed."""
    from bot.logs import configure_logging

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    configure_logging(level)


def summarise(paths: list[Path], shown: int = 3) -> dict[str, Any]:
    """Lines written, those at warning or above, and the first few of them (logger and message)."""
    lines = serious = 0
    first: list[str] = []
    for path in paths:
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                lines += 1
                try:
                    entry = json.loads(raw)
                except ValueError:  # a traceback printed outside logging, say: worth seeing
                    entry = {"level": "error", "logger": "stderr", "msg": raw.strip()}
                if not isinstance(entry, dict) or entry.get("level") not in SERIOUS:
                    continue
                serious += 1
                if len(first) < shown:
                    first.append(f"{entry.get('level')} {entry.get('logger')}: {entry.get('msg')}")
    return {"log_lines": lines, "log_serious": serious, "log_first": first}
