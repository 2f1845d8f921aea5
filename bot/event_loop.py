"""The event loop the server runs on: uvloop where it is installed, asyncio's own otherwise.

uvloop runs aiohttp's server and client and asyncpg's protocol with noticeably less CPU per
request than the default selector loop (bench/README.md has the numbers); nothing in Tuijin
depends on which loop it is, so `TUIJIN_EVENT_LOOP=asyncio` is always a safe fallback.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Literal

log = logging.getLogger(__name__)

LoopChoice = Literal["auto", "uvloop", "asyncio"]


def new_event_loop(choice: LoopChoice = "auto") -> asyncio.AbstractEventLoop:
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise RuntimeError("TUIJIN_EVENT_LOOP=uvloop but uvloop is not installed") from None
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
