"""The WeCom server API client: access_token (shared cache), app messages, card updates, the
group robot webhook and the AI bot's response_url.

Each call is one attempt (after at most one token refresh): the outbox owns the retry schedule.
errcode 45009/45033 and HTTP 429 are rate limits (retryable, with a wait); 40014/42001/40001 are a
rejected token (dropped from the cache, fetched again once, then retryable); -1 (busy) and 5xx are
retryable; any other errcode is permanent, with WeCom's reason. Logs carry the path and codes
only: never tokens, secrets, webhook keys or contents.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.wecom.settings import WeComSettings
from bot.clock import Clock
from bot.core.platform import DeliveryError, DirectoryProfile
from bot.delivery.http import ApiResponse, ApiSession, TransportError
from storage.cache import Cache
from storage.tokens import SharedToken

log = logging.getLogger(__name__)

TOKEN_PATH = "/cgi-bin/gettoken"
SEND_PATH = "/cgi-bin/message/send"
APPCHAT_SEND_PATH = "/cgi-bin/appchat/send"
UPDATE_CARD_PATH = "/cgi-bin/message/update_template_card"
USER_GET_PATH = "/cgi-bin/user/get"
WEBHOOK_PATH = "/cgi-bin/webhook/send"
TOKEN_REFRESH_MARGIN = 5 * 60
RATE_LIMIT_CODES = frozenset({45009, 45033})
TOKEN_CODES = frozenset({40014, 42001, 40001})
BUSY_CODE = -1
# 45009 is a per-minute (robot) or per-day (API) quota: a minute is the shortest it can be.
RATE_LIMITED_WAIT = 60.0


class WeComApiError(DeliveryError):
    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None, errcode: int | None = None) -> None:
        super().__init__(reason, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.errcode = errcode


class WeComClient:
    def __init__(self, settings: WeComSettings, cache: Cache, clock: Clock, *,
                 timeout: float = 10.0) -> None:
        self._settings = settings
        self._cache = cache
        self._clock = clock
        self._http = ApiSession(settings.api_base, timeout=timeout)
        self._token = SharedToken(cache, f"wecom:token:{settings.corp_id}:{settings.agent_id}", clock,
                                  refresh_margin=TOKEN_REFRESH_MARGIN)

    async def close(self) -> None:
        await self._http.close()

    # -- token ---------------------------------------------------------------------------------

    async def access_token(self) -> str:
        return await self._token.get(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        if not self._settings.app_configured:
            raise WeComApiError("wecom: TUIJIN_WECOM__CORP_ID and __SECRET are not set", retryable=False)
        body = await self._request("GET", TOKEN_PATH, params={
            "corpid": self._settings.corp_id, "corpsecret": self._settings.secret.get_secret_value()})
        token = str(body.get("access_token") or "")
        expires = _int(body.get("expires_in")) or 0
        if not token or expires <= 0:
            raise WeComApiError("wecom gettoken answer lacks access_token", retryable=True)
        return token, expires

    # -- calls ---------------------------------------------------------------------------------

    async def send_app_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """message/send to a person; the answer has `msgid` and, for interactive cards, `response_code`."""
        return await self._call("POST", SEND_PATH, json={"agentid": _agent(self._settings.agent_id), **body})

    async def send_appchat(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", APPCHAT_SEND_PATH, json=body)

    async def update_template_card(self, response_code: str, template_card: dict[str, Any],
                                   userids: list[str] | None = None) -> None:
        body: dict[str, Any] = {"agentid": _agent(self._settings.agent_id), "response_code": response_code,
                                "template_card": template_card}
        if userids:
            body["userids"] = userids
        else:
            body["atall"] = 1
        await self._call("POST", UPDATE_CARD_PATH, json=body)

    async def get_user(self, user_id: str) -> DirectoryProfile | None:
        body = await self._call("GET", USER_GET_PATH, params={"userid": user_id})
        name = body.get("name")
        departments = tuple(str(d) for d in body.get("department") or [] if isinstance(d, int | str))
        leaders = [str(x) for x in body.get("direct_leader") or [] if isinstance(x, str) and x]
        return DirectoryProfile(user_id=user_id, name=name if isinstance(name, str) and name else None,
                                department_ids=departments, leader_user_id=leaders[0] if leaders else None)

    async def send_webhook(self, key: str, body: dict[str, Any]) -> None:
        """The group robot webhook (no token; the key is the credential)."""
        await self._request("POST", WEBHOOK_PATH, params={"key": key}, json=body)

    async def post_response_url(self, url: str, body: dict[str, Any]) -> None:
        """The AI bot's one reply to a message (the URL came in the verified callback)."""
        await self._request("POST", url, json=body, label="response_url")

    async def _call(self, method: str, path: str, **request: Any) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await self._request(method, path, token=token, **request)
        except WeComApiError as exc:
            if exc.errcode not in TOKEN_CODES:
                raise
            log.info("wecom %s token rejected (errcode %s); fetching a new one", path, exc.errcode)
            await self._token.drop(token)
        try:
            return await self._request(method, path, token=await self.access_token(), **request)
        except WeComApiError as exc:
            if exc.errcode in TOKEN_CODES:
                raise WeComApiError(exc.reason, retryable=True, errcode=exc.errcode, status=exc.status) from None
            raise

    async def _request(self, method: str, path: str, *, token: str | None = None, label: str | None = None,
                       params: dict[str, Any] | None = None, **request: Any) -> dict[str, Any]:
        where = label or path
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        try:
            response = await self._http.request(method, path, params=query or None, **request)
        except TransportError as exc:
            log.warning("wecom %s %s network error %s", method, where, exc.kind)
            raise WeComApiError(f"wecom {method} {where}: {exc.kind}", retryable=True) from None
        status = response.status
        body = response.json()
        errcode = _int((body or {}).get("errcode"))
        errmsg = str((body or {}).get("errmsg") or "")[:160]
        if status == 429 or errcode in RATE_LIMIT_CODES:
            wait = _retry_after(response) or RATE_LIMITED_WAIT
            log.warning("wecom %s %s rate limited status=%d errcode=%s", method, where, status, errcode)
            raise WeComApiError(f"wecom {where}: rate limited (errcode {errcode})", retryable=True,
                                retry_after=wait, status=status, errcode=errcode)
        if status >= 500 or errcode == BUSY_CODE:
            log.warning("wecom %s %s status=%d errcode=%s", method, where, status, errcode)
            raise WeComApiError(f"wecom {where}: status {status} errcode {errcode}", retryable=True,
                                status=status, errcode=errcode)
        if status >= 400 or body is None or errcode not in (0, None):
            log.warning("wecom %s %s failed status=%d errcode=%s", method, where, status, errcode)
            raise WeComApiError(f"wecom {where}: status {status} errcode {errcode} {errmsg}".strip(),
                                retryable=False, status=status, errcode=errcode)
        return body


def _agent(agent_id: str) -> int | str:
    return int(agent_id) if agent_id.isdigit() else agent_id


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _retry_after(response: ApiResponse) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
