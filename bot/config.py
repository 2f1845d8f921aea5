"""Configuration: environment variables prefixed TUIJIN_, nested keys with __, and a .env file."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class FeishuSettings(BaseModel):
    enabled: bool = False
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    encrypt_key: SecretStr = SecretStr("")
    verification_token: SecretStr = SecretStr("")
    api_base: str = "https://open.feishu.cn"
    mode: Literal["webhook", "longconn"] = "webhook"
    # Seconds a signed request's timestamp may differ from our clock.
    timestamp_window: int = 300


class DingTalkSettings(BaseModel):
    enabled: bool = False
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    robot_code: str = ""
    token: SecretStr = SecretStr("")
    aes_key: SecretStr = SecretStr("")
    api_base: str = "https://api.dingtalk.com"


class WeComSettings(BaseModel):
    enabled: bool = False
    corp_id: str = ""
    corp_secret: SecretStr = SecretStr("")
    agent_id: str = ""
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    api_base: str = "https://qyapi.weixin.qq.com"


class ConsoleSettings(BaseModel):
    enabled: bool = True


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TUIJIN_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = Field(default="")
    redis_url: str = ""
    timezone: str = "Asia/Shanghai"
    workday_start: time = time(9, 0)
    workday_end: time = time(18, 0)
    task_code_prefix: str = "XZB"
    log_level: str = "INFO"
    # Largest inbound request body we read, in bytes.
    max_body_bytes: int = 1_048_576
    # Seconds a card click may take before we answer with a holding toast and update later.
    card_inline_budget: float = 2.5

    feishu: FeishuSettings = FeishuSettings()
    dingtalk: DingTalkSettings = DingTalkSettings()
    wecom: WeComSettings = WeComSettings()
    console: ConsoleSettings = ConsoleSettings()

    def resolved_database_url(self) -> str:
        """The embedded default is a SQLite file under ./data."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{DEFAULT_DATA_DIR / 'tuijin.sqlite3'}"
