"""Which adapters run, from configuration. Adding a platform adds a branch here and a package."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.core.platform import DirectoryProfile, EventSink, PlatformAdapter
from storage.cache import Cache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoSeed:
    """Where `tuijin demo` loads the example project: a platform's tenant, its people and chats."""

    platform: str
    tenant_key: str
    people: tuple[DirectoryProfile, ...]
    chat_names: dict[str, str]


def console_demo_seed() -> DemoSeed:
    from adapters.console.directory import CHATS, PEOPLE, TENANT_KEY

    people = tuple(DirectoryProfile(user_id=p.id, name=p.name, department_names=(p.department,),
                                    leader_user_id=p.leader_id) for p in PEOPLE)
    return DemoSeed("console", TENANT_KEY, people, {c.id: c.name for c in CHATS})


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def platforms_configured(settings: Settings) -> list[str]:
    configured = []
    if settings.feishu.enabled or settings.feishu.app_id:
        configured.append("feishu")
    if settings.dingtalk.active:
        configured.append("dingtalk")
    if settings.wecom.active:
        configured.append("wecom")
    return configured


def console_enabled(settings: Settings) -> bool:
    """Explicit TUIJIN_CONSOLE__ENABLED wins; otherwise only a loopback server with no platform serves it."""
    if settings.console.enabled is not None:
        return settings.console.enabled
    return not platforms_configured(settings) and settings.host in LOOPBACK_HOSTS


def build_adapters(settings: Settings, *, sink: EventSink, cache: Cache, clock: Clock) -> dict[str, PlatformAdapter]:
    adapters: dict[str, PlatformAdapter] = {}
    if console_enabled(settings):
        from adapters.console.adapter import ConsoleAdapter

        adapters["console"] = ConsoleAdapter(sink, clock)
    if settings.feishu.enabled or settings.feishu.app_id:
        from adapters.feishu.adapter import FeishuAdapter

        # Several processes send under one quota: each paces to its share.
        adapters["feishu"] = FeishuAdapter(settings.feishu, sink, cache, clock, max_body_bytes=settings.max_body_bytes,
                                           processes=settings.senders)
    if settings.dingtalk.active:
        from adapters.dingtalk.adapter import DingTalkAdapter

        adapters["dingtalk"] = DingTalkAdapter(settings.dingtalk, sink, cache, clock,
                                               max_body_bytes=settings.max_body_bytes)
    if settings.wecom.active:
        from adapters.wecom.adapter import WeComAdapter

        adapters["wecom"] = WeComAdapter(settings.wecom, sink, cache, clock, max_body_bytes=settings.max_body_bytes)
    return adapters


def long_connections(settings: Settings) -> list[str]:
    """Platforms configured to receive events over a connection the bot opens, not on our port."""
    modes = []
    if "feishu" in platforms_configured(settings) and settings.feishu.mode == "longconn":
        modes.append("feishu (TUIJIN_FEISHU__MODE=longconn)")
    if settings.dingtalk.active and settings.dingtalk.mode == "stream":
        modes.append("dingtalk (TUIJIN_DINGTALK__MODE=stream)")
    if settings.wecom.active and settings.wecom.mode == "longconn" and settings.wecom.bot_id:
        modes.append("wecom (TUIJIN_WECOM__MODE=longconn)")
    return modes
