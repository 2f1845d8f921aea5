"""Which adapters run, from configuration. Adding a platform adds a branch here and a package."""

from __future__ import annotations

import logging

from bot.clock import Clock
from bot.config import Settings
from bot.core.platform import EventSink, PlatformAdapter
from storage.cache import Cache

log = logging.getLogger(__name__)


def build_adapters(settings: Settings, *, sink: EventSink, cache: Cache, clock: Clock) -> dict[str, PlatformAdapter]:
    adapters: dict[str, PlatformAdapter] = {}
    if settings.console.enabled:
        from adapters.console.adapter import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(sink, clock)
    if settings.feishu.enabled or settings.feishu.app_id:
        from adapters.feishu.adapter import FeishuAdapter

        adapters["feishu"] = FeishuAdapter(settings.feishu, sink, cache, clock)
    return adapters
