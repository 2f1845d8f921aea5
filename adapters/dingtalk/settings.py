"""DingTalk settings: TUIJIN_DINGTALK__*."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, SecretStr


class DingTalkSettings(BaseModel):
    # The adapter runs when this is true or a client id is set.
    enabled: bool = False
    # The app's Client ID (formerly AppKey) and Client Secret (formerly AppSecret).
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    # The robot's code (机器人编码); empty means the client id, which is what an internal app's robot has.
    robot_code: str = ""
    # stream: messages and card clicks over DingTalk's Stream WebSocket (no public URL);
    # http: DingTalk POSTs them to /webhooks/dingtalk and /webhooks/dingtalk/card.
    mode: Literal["stream", "http"] = "stream"
    api_base: str = "https://api.dingtalk.com"
    # The interactive card template; StandardCard takes the whole card as JSON and needs no template.
    card_template_id: str = "StandardCard"
    # The callbackRouteKey registered for HTTP card callbacks (http mode); stream mode leaves it empty.
    card_callback_route_key: str = ""
    # Seconds a signed request's timestamp may differ from our clock (DingTalk documents one hour).
    timestamp_window: int = 3600

    @property
    def active(self) -> bool:
        return self.enabled or bool(self.client_id)

    @property
    def robot(self) -> str:
        return self.robot_code or self.client_id
