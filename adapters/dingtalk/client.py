"""The DingTalk OpenAPI client: access token (shared cache), robot messages and interactive cards.

Each call is one attempt (after at most one token refresh): the outbox owns the retry schedule,
so failures come back as DeliveryError with `retryable` and the platform's wait in `retry_after`.
Logs carry method, path, status and code only: never tokens, secrets or contents.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from adapters.dingtalk.settings import DingTalkSettings
from bot.clock import Clock
from bot.core.platform import DeliveryError
from bot.delivery.http import ApiResponse, ApiSession, TransportError
from storage.cache import Cache
from storage.tokens import SharedToken

log = logging.getLogger(__name__)

TOKEN_PATH = "/v1.0/oauth2/accessToken"
GROUP_SEND_PATH = "/v1.0/robot/groupMessages/send"
SINGLE_SEND_PATH = "/v1.0/robot/oToMessages/batchSend"
CARD_SEND_PATH = "/v1.0/im/interactiveCards/send"
CARD_UPDATE_PATH = "/v1.0/im/interactiveCards"
TOKEN_HEADER = "x-acs-dingtalk-access-token"
# A token is replaced when less than this is left (DingTalk's last 5 minutes may already be refused).
TOKEN_REFRESH_MARGIN = 10 * 60
# errcode 130101: the robot sent more than 20 messages a minute and is throttled for 10 minutes.
THROTTLED_ERRCODE = 130101
THROTTLED_WAIT = 600.0
# An HTTP 429 without Retry-After, and a per-API QPS limit, pass within a second or so.
RATE_LIMITED_WAIT = 2.0
INVALID_TOKEN_CODES = frozenset({"InvalidAuthentication", "invalidAuthentication", "Unauthorized"})


class DingTalkApiError(DeliveryError):
    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None, code: str | None = None) -> None:
        super().__init__(reason, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.code = code


class DingTalkClient:
    def __init__(
        self,
        settings: DingTalkSettings,
        cache: Cache,
        clock: Clock,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._clock = clock
        self._http = ApiSession(settings.api_base, timeout=timeout)
        self._token = SharedToken(cache, f"dingtalk:token:{settings.client_id}", clock,
                                  refresh_margin=TOKEN_REFRESH_MARGIN)

    async def close(self) -> None:
        await self._http.close()

    # -- token ---------------------------------------------------------------------------------

    async def access_token(self) -> str:
        return await self._token.get(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        body = await self._request("POST", TOKEN_PATH, auth=False, json={
            "appKey": self._settings.client_id, "appSecret": self._settings.client_secret.get_secret_value(),
        })
        token = str(body.get("accessToken") or "")
        expire = _int(body.get("expireIn")) or 0
        if not token or expire <= 0:
            raise DingTalkApiError("dingtalk token answer lacks accessToken", retryable=True)
        return token, expire

    # -- messages ------------------------------------------------------------------------------

    async def send_group_message(self, open_conversation_id: str, msg_key: str, msg_param: dict[str, Any]) -> str:
        body = await self._call("POST", GROUP_SEND_PATH, json={
            "robotCode": self._settings.robot, "openConversationId": open_conversation_id,
            "msgKey": msg_key, "msgParam": _dumps(msg_param),
        })
        return str(body.get("processQueryKey") or "")

    async def send_single_message(self, user_id: str, msg_key: str, msg_param: dict[str, Any]) -> str:
        body = await self._call("POST", SINGLE_SEND_PATH, json={
            "robotCode": self._settings.robot, "userIds": [user_id], "msgKey": msg_key, "msgParam": _dumps(msg_param),
        })
        if user_id in (body.get("flowControlledStaffIdList") or []):
            raise DingTalkApiError("dingtalk batchSend: recipient flow-controlled", retryable=True,
                                   retry_after=THROTTLED_WAIT)
        if user_id in (body.get("invalidStaffIdList") or []):
            raise DingTalkApiError("dingtalk batchSend: recipient is not a valid staff id", retryable=False)
        return str(body.get("processQueryKey") or "")

    async def send_card(self, out_track_id: str, card_param_map: dict[str, str], *, group: bool, chat_id: str) -> None:
        request: dict[str, Any] = {
            "cardTemplateId": self._settings.card_template_id,
            "outTrackId": out_track_id,
            "robotCode": self._settings.robot,
            "conversationType": 1 if group else 0,
            "cardData": {"cardParamMap": card_param_map},
            "cardOptions": {"supportForward": True},
        }
        if group:
            request["openConversationId"] = chat_id
        else:
            request["receiverUserIdList"] = [chat_id]
        if self._settings.card_callback_route_key:
            request["callbackRouteKey"] = self._settings.card_callback_route_key
        await self._call("POST", CARD_SEND_PATH, json=request)

    async def update_card(self, out_track_id: str, card_param_map: dict[str, str]) -> None:
        await self._call("PUT", CARD_UPDATE_PATH, json={
            "outTrackId": out_track_id, "cardData": {"cardParamMap": card_param_map},
            "cardOptions": {"updateCardDataByKey": False},
        })

    # -- transport -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        """One authenticated call; a rejected token is replaced and the call made once more."""
        token = await self.access_token()
        try:
            return await self._request(method, path, token=token, **request)
        except DingTalkApiError as exc:
            if exc.status != 401 and exc.code not in INVALID_TOKEN_CODES:
                raise
            log.info("dingtalk %s %s token rejected (code=%s); fetching a new one", method, path, exc.code)
            await self._token.drop(token)
            return await self._request(method, path, token=await self.access_token(), **request)

    async def _request(self, method: str, path: str, *, auth: bool = True, token: str = "",
                       **request: Any) -> dict[str, Any]:
        headers = {TOKEN_HEADER: token} if auth else {}
        try:
            response = await self._http.request(method, path, headers=headers, **request)
        except TransportError as exc:
            log.warning("dingtalk %s %s network error %s", method, path, exc.kind)
            raise DingTalkApiError(f"dingtalk {method} {path}: {exc.kind}", retryable=True) from None
        status = response.status
        body = response.json()
        code = _code(body)
        errcode = _int((body or {}).get("errcode"))
        if status == 429 or errcode == THROTTLED_ERRCODE or code == str(THROTTLED_ERRCODE) or _qps_limited(code):
            wait = THROTTLED_WAIT if THROTTLED_ERRCODE in (errcode, _int(code)) else RATE_LIMITED_WAIT
            retry_after = _retry_after_header(response) or wait
            log.warning("dingtalk %s %s rate limited status=%d code=%s errcode=%s", method, path, status, code, errcode)
            raise DingTalkApiError(f"dingtalk {method} {path}: rate limited", retryable=True, retry_after=retry_after,
                                   status=status, code=code or (str(errcode) if errcode else None))
        if status >= 500:
            log.warning("dingtalk %s %s status=%d code=%s", method, path, status, code)
            raise DingTalkApiError(f"dingtalk {method} {path}: status {status}", retryable=True, status=status,
                                   code=code)
        if status >= 400 or body is None or errcode not in (0, None):
            message = str((body or {}).get("message") or (body or {}).get("errmsg") or "")[:200]
            log.warning("dingtalk %s %s failed status=%d code=%s errcode=%s", method, path, status, code, errcode)
            reason = f"dingtalk {method} {path}: status {status} code {code or errcode} {message}".strip()
            raise DingTalkApiError(reason, retryable=False, status=status,
                                   code=code or (str(errcode) if errcode else None))
        if body.get("success") is False:
            raise DingTalkApiError(f"dingtalk {method} {path}: success=false", retryable=False, status=status)
        return body


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _code(body: dict[str, Any] | None) -> str | None:
    code = (body or {}).get("code")
    return str(code) if code not in (None, "", 0, "0") else None


def _qps_limited(code: str | None) -> bool:
    return code is not None and ("QpsLimit" in code or "Throttling" in code)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after_header(response: ApiResponse) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
