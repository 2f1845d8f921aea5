"""Configuration: environment variables prefixed TUIJIN_, nested keys with __, and a .env file."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Each platform's settings section lives with its adapter; composing them here is part of the
# app's wiring (with bot/platforms.py), the only place the core names a platform package.
from adapters.console.settings import ConsoleSettings
from adapters.dingtalk.settings import DingTalkSettings
from adapters.feishu.settings import FeishuSettings
from adapters.wecom.settings import WeComSettings

DEFAULT_DATA_DIR = Path("data")


class DeliverySettings(BaseModel):
    """How outgoing messages are sent and retried: TUIJIN_DELIVERY__*."""

    # A message still failing after this many hours is given up (kept as dead, logged, counted).
    max_age_hours: float = 24.0
    # One send may take this long before it counts as failed (and is retried).
    send_timeout_seconds: float = 30.0
    # Sends in flight at once, across all conversations.
    concurrency: int = 16
    # Claimed rows held at most, across all conversations.
    batch: int = 100
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 300.0


class InboxSettings(BaseModel):
    """How acknowledged events are finished after a crash: TUIJIN_INBOX__*."""

    # Seconds one process owns an event it is working on; after that the recovery loop replays it.
    lease_seconds: float = 60.0
    # How often the recovery loop looks for acknowledged events nobody finished.
    recovery_every_seconds: float = 15.0
    # Attempts before an event is given up as failed (the user then gets a short apology).
    max_attempts: int = 4
    # First retry after about this many seconds, doubling each time.
    retry_base_seconds: float = 5.0
    # Events processed at once; the rest wait their turn (durably, in the inbox) so acknowledging
    # new events never waits behind processing for a database connection. Unset: 4 on PostgreSQL,
    # where a command waits on several round trips that others can use the CPU for, and acks have
    # their own connections; 2 on SQLite, whose acks share the one connection with processing.
    concurrency: int | None = Field(default=None, ge=1)
    # Before each event, processing waits up to this long while acknowledgements are in flight,
    # so a burst is acknowledged first (0 turns it off).
    ack_first_seconds: float = 0.02
    # Card clicks processed at once, apart from messages, so an inline answer never waits behind them.
    click_concurrency: int = 4
    # Events acknowledged but not yet processed, at most; past it new events are answered 503
    # before they are stored, so the platform re-sends them later instead of waiting here.
    max_backlog: int = 2000


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TUIJIN_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = 8080
    # Serving processes sharing the port (webhook mode on PostgreSQL and Redis; see bot/workers.py).
    workers: int = Field(default=1, ge=1, le=64)
    # Processes that process messages and send replies while the serving workers only acknowledge
    # and answer card clicks (PostgreSQL and Redis; see bot/processor.py). 0: each worker does all.
    processors: int = Field(default=0, ge=0, le=64)
    # How much lower the processors' CPU priority is (nice), so acknowledgements get the CPU first.
    processor_nice: int = Field(default=10, ge=0, le=19)
    # "auto" takes uvloop where it is installed (Linux, macOS), else asyncio's own loop.
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    database_url: str = Field(default="")
    redis_url: str = ""
    # Namespace of every Redis key, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = "tuijin:"
    timezone: str = "Asia/Shanghai"
    workday_start: time = time(9, 0)
    workday_end: time = time(18, 0)
    task_code_prefix: str = "XZB"
    log_level: str = "INFO"
    # Largest inbound request body we read, in bytes.
    max_body_bytes: int = 1_048_576
    # Seconds a card click may take before we answer with a holding toast and update later.
    card_inline_budget: float = 2.5
    # At a graceful stop, work under way (events, replays, then the sends the worker holds) gets
    # this long to finish; what is left is cancelled or not started, and its leases given back.
    drain_seconds: float = Field(default=10.0, ge=0)
    # Finished inbox rows, sent or dead outbox rows and dispatch claims older than this are pruned.
    retention_days: float = 30.0
    # A task still overdue after this many working days is escalated to its approver and the owner's superior.
    overdue_escalate_working_days: int = Field(default=2, ge=1, le=60)
    # When set, /metrics answers only requests carrying `Authorization: Bearer <token>`.
    metrics_token: SecretStr = SecretStr("")

    feishu: FeishuSettings = FeishuSettings()
    dingtalk: DingTalkSettings = DingTalkSettings()
    wecom: WeComSettings = WeComSettings()
    console: ConsoleSettings = ConsoleSettings()
    inbox: InboxSettings = InboxSettings()
    delivery: DeliverySettings = DeliverySettings()

    @property
    def senders(self) -> int:
        """Processes that send to the platforms: the processors when there are any, else every worker."""
        return self.processors or self.workers

    def resolved_database_url(self) -> str:
        """The embedded default is a SQLite file under ./data."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'tuijin.sqlite3'}"
