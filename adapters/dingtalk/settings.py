"""DingTalk settings: TUIJIN_DINGTALK__*."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class DingTalkSettings(BaseModel):
    enabled: bool = False
    app_key: str = ""
    app_secret: SecretStr = SecretStr("")
    robot_code: str = ""
    token: SecretStr = SecretStr("")
    aes_key: SecretStr = SecretStr("")
    api_base: str = "https://api.dingtalk.com"
