"""Feishu/Lark settings: TUIJIN_FEISHU__*."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr


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
    # The app's message-send quota (Feishu: 50 a second and 1000 a minute per app). Only a
    # benchmark against a fake Open API, or an app granted a higher quota, should raise these.
    send_per_second: int = 50
    send_per_minute: int = 1000
