"""WeCom settings: TUIJIN_WECOM__*."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr


class WeComSettings(BaseModel):
    enabled: bool = False
    corp_id: str = ""
    corp_secret: SecretStr = SecretStr("")
    agent_id: str = ""
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    api_base: str = "https://qyapi.weixin.qq.com"
