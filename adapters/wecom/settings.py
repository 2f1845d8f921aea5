"""WeCom settings: TUIJIN_WECOM__*."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr


class WeComSettings(BaseModel):
    # The adapter runs when this is true, or a CorpID or an AI bot id is set.
    enabled: bool = False
    # The organisation (我的企业 → 企业信息 → 企业ID) and the self-built app (自建应用): AgentId and Secret.
    corp_id: str = ""
    agent_id: str = ""
    secret: SecretStr = SecretStr("")
    # The self-built app's callback (接收消息 → API接收): Token and EncodingAESKey, for /webhooks/wecom/app.
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    # The AI bot (智能机器人): its BotID and Secret (long connection), and its callback Token and
    # EncodingAESKey (URL callback mode, /webhooks/wecom).
    bot_id: str = ""
    bot_secret: SecretStr = SecretStr("")
    bot_token: SecretStr = SecretStr("")
    bot_encoding_aes_key: SecretStr = SecretStr("")
    # callback: WeCom POSTs the AI bot's messages to /webhooks/wecom; longconn: the AI bot's messages
    # arrive over the WebSocket long connection (no public URL for the bot). The app is always a callback.
    mode: Literal["callback", "longconn"] = "callback"
    api_base: str = "https://qyapi.weixin.qq.com"
    ws_url: str = "wss://openws.work.weixin.qq.com"
    # Where tapping a card without buttons leads (WeCom's text_notice cards require a link).
    card_url: str = "https://work.weixin.qq.com/"
    # Seconds a signed callback's timestamp may differ from our clock.
    timestamp_window: int = 600

    @property
    def active(self) -> bool:
        return self.enabled or bool(self.corp_id) or bool(self.bot_id)

    @property
    def app_configured(self) -> bool:
        return bool(self.corp_id and self.secret.get_secret_value())

    @property
    def tenant_key(self) -> str:
        """One tenant for the app and the bot: the CorpID (user ids are the organisation's in both)."""
        return self.corp_id or self.bot_id
