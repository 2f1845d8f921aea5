"""A router middleware: one structured log line per command or click, never its text."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.engine.errors import DomainError
from bot.router import Reply

log = logging.getLogger("tuijin.commands")


async def log_command(call: Callable[[], Awaitable[Reply]], name: str, scope: Any) -> Reply:
    started = time.perf_counter()
    outcome = "ok"
    try:
        return await call()
    except DomainError:
        outcome = "refused"
        raise
    except Exception:
        outcome = "error"
        raise
    finally:
        log.info("command handled", extra={
            "command": name, "outcome": outcome, "tenant_id": getattr(scope.tenant, "id", None),
            "platform": scope.conversation.platform, "ms": round((time.perf_counter() - started) * 1000, 1),
        })
