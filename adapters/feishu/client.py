"""The Feishu/Lark open API client: token cache, rate limits, retries, and the calls we use.

Logs carry method, path, status, code and attempt only: never tokens, secrets or contents.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from adapters.feishu.ratelimit import Limit, WindowLimiter
from adapters.feishu.settings import FeishuSettings
from bot.clock import Clock
from bot.core.platform import DeliveryError, DirectoryProfile
from bot.delivery.backoff import jittered_backoff
from bot.delivery.http import ApiResponse, ApiSession, TransportError
from storage.cache import Cache
from storage.json import dumps
from storage.tokens import SharedToken

log = logging.getLogger(__name__)

# A call retries in-process only briefly; anything longer is the outbox's job, whose schedule
# (capped backoff, the platform's reset hint as a floor) survives restarts and frees the lane.
MAX_ATTEMPTS = 3
IN_PROCESS_WAIT_CAP = 5.0
# Feishu hands out a fresh token only when the current one has less than this left.
TOKEN_REFRESH_MARGIN = 30 * 60
PROFILE_TTL = 60 * 60
RATE_LIMITED = 99991400
INVALID_TOKEN_CODES = frozenset({99991661, 99991663})
CONTACT_DENIED_CODES = frozenset({99991672, 99991679, 41050, 40004, 40013, 40014})
CONTACT_SCOPES = (
    "contact:user.base:readonly",
    "contact:user.department:readonly",
    "contact:user.employee_id:readonly",
)

CHAT_QPS = 5
MESSAGE_PATCH_QPS = 5


class FeishuApiError(DeliveryError):
    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None,
                 status: int | None = None, code: int | None = None) -> None:
        super().__init__(reason, retryable=retryable, retry_after=retry_after)
        self.status = status
        self.code = code


class FeishuClient:
    def __init__(
        self,
        settings: FeishuSettings,
        cache: Cache,
        clock: Clock,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        processes: int = 1,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = ApiSession(settings.api_base, timeout=10.0)
        self._limiter = WindowLimiter(cache, clock, sleep=sleep, prefix="feishu:rl:", processes=processes)
        self._warned: set[str] = set()
        self._bot_open_id: str | None = None
        app = settings.app_id
        self._token = SharedToken(cache, f"feishu:token:{app}", clock, refresh_margin=TOKEN_REFRESH_MARGIN)
        self._app_limits = (Limit(f"{app}:send:s", settings.send_per_second, 1.0, paced=True),
                            Limit(f"{app}:send:m", settings.send_per_minute, 60.0))

    async def close(self) -> None:
        await self._http.close()

    # -- token ---------------------------------------------------------------------------------

    async def tenant_access_token(self) -> str:
        return await self._token.get(self._fetch_token)

    async def _fetch_token(self) -> tuple[str, int]:
        body = await self._call(
            "POST", "/open-apis/auth/v3/tenant_access_token/internal", auth=False,
            json={"app_id": self._settings.app_id, "app_secret": self._settings.app_secret.get_secret_value()},
        )
        token = str(body.get("tenant_access_token") or "")
        expire = int(body.get("expire") or 0)
        if not token or expire <= 0:
            raise FeishuApiError("feishu token answer lacks tenant_access_token", retryable=True)
        return token, expire

    # -- messages ------------------------------------------------------------------------------

    async def send_message(self, chat_id: str, msg_type: str, content: dict[str, Any], uuid: str, *,
                           receive_id_type: str = "chat_id") -> str:
        """Send to a chat, or with receive_id_type="open_id" to one person directly."""
        limits = (*self._app_limits, Limit(f"chat:{chat_id}", CHAT_QPS, 1.0, paced=True))
        body = await self._call(
            "POST", "/open-apis/im/v1/messages", params={"receive_id_type": receive_id_type}, limits=limits,
            json={"receive_id": chat_id, "msg_type": msg_type, "content": _dumps(content), "uuid": uuid},
        )
        return _message_id(body)

    async def reply_message(self, message_id: str, msg_type: str, content: dict[str, Any], uuid: str,
                            in_thread: bool = False, *, chat_id: str | None = None) -> str:
        """A reply lands in the chat of the message it answers: pass `chat_id` to count it against that chat."""
        limits: tuple[Limit, ...] = self._app_limits
        if chat_id is not None:
            limits = (*limits, Limit(f"chat:{chat_id}", CHAT_QPS, 1.0, paced=True))
        body = await self._call(
            "POST", f"/open-apis/im/v1/messages/{message_id}/reply", limits=limits,
            json={"msg_type": msg_type, "content": _dumps(content), "uuid": uuid, "reply_in_thread": in_thread},
        )
        return _message_id(body)

    async def update_card(self, message_id: str, card: dict[str, Any]) -> None:
        await self._call("PATCH", f"/open-apis/im/v1/messages/{message_id}", json={"content": _dumps(card)},
                         limits=(Limit(f"msg:{message_id}", MESSAGE_PATCH_QPS, 1.0, paced=True),))

    async def upload_image(self, data: bytes, filename: str) -> str:
        body = await self._call("POST", "/open-apis/im/v1/images", fields={"image_type": "message"},
                                files={"image": (filename, data)})
        key = (body.get("data") or {}).get("image_key")
        if not key:
            raise FeishuApiError("feishu image upload answer lacks image_key", retryable=False)
        return str(key)

    # -- directory -----------------------------------------------------------------------------

    async def get_user(self, user_id: str) -> DirectoryProfile | None:
        key = f"feishu:profile:{self._settings.app_id}:{user_id}"
        cached = await self._cache.get(key)
        if cached is not None:
            return _profile_from_json(cached)
        try:
            body = await self._call(
                "GET", f"/open-apis/contact/v3/users/{user_id}",
                params={"user_id_type": "open_id", "department_id_type": "open_department_id"},
            )
        except DeliveryError as exc:
            self._contact_failed("users", exc)
            return None
        user = (body.get("data") or {}).get("user") or {}
        self._warn_missing_fields(user)
        department_ids = tuple(str(d) for d in user.get("department_ids") or ())
        names: list[str] = []
        for department_id in department_ids:
            name = await self._department_name(department_id)
            if name:
                names.append(name)
        profile = DirectoryProfile(
            user_id=user_id, name=user.get("name") or None, department_ids=department_ids,
            department_names=tuple(names), leader_user_id=user.get("leader_user_id") or None,
            is_platform_admin=user.get("is_tenant_manager") is True,
        )
        await self._cache.set(key, _profile_to_json(profile), ttl=PROFILE_TTL)
        return profile

    async def _department_name(self, department_id: str) -> str | None:
        try:
            body = await self._call(
                "GET", f"/open-apis/contact/v3/departments/{department_id}",
                params={"department_id_type": "open_department_id", "user_id_type": "open_id"},
            )
        except DeliveryError as exc:
            self._contact_failed("departments", exc)
            return None
        name = ((body.get("data") or {}).get("department") or {}).get("name")
        return str(name) if name else None

    def _warn_missing_fields(self, user: dict[str, Any]) -> None:
        # Feishu leaves out the fields of scopes the app lacks instead of failing the call.
        missing = [scope for name, scope in (("name", CONTACT_SCOPES[0]), ("department_ids", CONTACT_SCOPES[1]))
                   if name not in user]
        if missing and "fields" not in self._warned:
            self._warned.add("fields")
            log.warning("feishu contact API left out user fields: grant the app the scope(s) %s", ", ".join(missing))

    def _contact_failed(self, what: str, exc: DeliveryError) -> None:
        status = getattr(exc, "status", None)
        code = getattr(exc, "code", None)
        if status == 403 or code in CONTACT_DENIED_CODES:
            if what in self._warned:
                return
            self._warned.add(what)
            named = sorted(set(re.findall(r"contact:[\w.:]+", exc.reason)))
            scopes = ", ".join(named or CONTACT_SCOPES)
            log.warning(
                "feishu contact API denied (%s, status=%s code=%s): grant the app the scope(s) %s "
                "and include these people in its contact range (通讯录权限范围); directory facts stay empty",
                what, status, code, scopes,
            )
        else:
            log.warning("feishu contact lookup failed (%s, status=%s code=%s)", what, status, code)

    async def bot_open_id(self) -> str | None:
        if self._bot_open_id is not None:
            return self._bot_open_id
        key = f"feishu:bot:{self._settings.app_id}"
        cached = await self._cache.get(key)
        if cached:
            self._bot_open_id = cached
            return cached
        try:
            body = await self._call("GET", "/open-apis/bot/v3/info")
        except DeliveryError as exc:
            log.warning("feishu bot info unavailable (code=%s)", getattr(exc, "code", None))
            return None
        bot = body.get("bot") or (body.get("data") or {}).get("bot") or {}
        open_id = bot.get("open_id")
        if not open_id:
            return None
        self._bot_open_id = str(open_id)
        await self._cache.set(key, self._bot_open_id, ttl=24 * 3600)
        return self._bot_open_id

    # -- transport -----------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, auth: bool = True, limits: Sequence[Limit] = (),
                    **request: Any) -> dict[str, Any]:
        """One API call with limits, token handling and retries; returns the JSON body."""
        refreshed = False
        retry_after: float | None = None
        attempt = 0
        while attempt < MAX_ATTEMPTS:
            attempt += 1
            headers: dict[str, str] = {}
            token = ""
            if auth:
                token = await self.tenant_access_token()
                headers["Authorization"] = f"Bearer {token}"
            try:
                # The slot is held until the answer is back: the pacing counts from there (ratelimit.py).
                async with self._limiter.slot(limits):
                    response = await self._http.request(method, path, headers=headers, **request)
            except TransportError as exc:
                log.warning("feishu %s %s network error %s (attempt %d)", method, path, exc.kind, attempt)
                retry_after = _backoff(attempt, self._rng)
            else:
                status = response.status
                body = response.json()
                code = _int(body.get("code")) if body is not None else None
                if status == 429 or code == RATE_LIMITED:
                    retry_after = _reset_header(response) or _backoff(attempt, self._rng)
                    log.warning("feishu %s %s rate limited status=%d code=%s (attempt %d)",
                                method, path, status, code, attempt)
                elif status >= 500:
                    retry_after = _backoff(attempt, self._rng)
                    log.warning("feishu %s %s status=%d code=%s (attempt %d)", method, path, status, code, attempt)
                elif auth and code in INVALID_TOKEN_CODES and not refreshed:
                    log.info("feishu %s %s token rejected code=%s; fetching a new one", method, path, code)
                    refreshed = True
                    await self._token.drop(token)
                    attempt -= 1
                    continue
                elif status >= 400 or body is None or code not in (0, None):
                    msg = str((body or {}).get("msg") or "")[:200]
                    log.warning("feishu %s %s failed status=%d code=%s (attempt %d)",
                                method, path, status, code, attempt)
                    raise FeishuApiError(f"feishu {method} {path}: status {status} code {code} {msg}".strip(),
                                         retryable=False, status=status, code=code)
                else:
                    return body
            if attempt < MAX_ATTEMPTS and retry_after is not None and retry_after <= IN_PROCESS_WAIT_CAP:
                await self._sleep(retry_after)
                continue
            break
        raise FeishuApiError(f"feishu {method} {path}: not answered after {attempt} attempts",
                             retryable=True, retry_after=retry_after)


def _dumps(value: dict[str, Any]) -> str:
    return dumps(value)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _reset_header(response: ApiResponse) -> float | None:
    raw = response.headers.get("x-ogw-ratelimit-reset")
    try:
        seconds = float(raw) if raw is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def _message_id(body: dict[str, Any]) -> str:
    message_id = (body.get("data") or {}).get("message_id")
    if not message_id:
        raise FeishuApiError("feishu answer lacks message_id", retryable=False)
    return str(message_id)


def _profile_to_json(profile: DirectoryProfile) -> str:
    return json.dumps({
        "user_id": profile.user_id, "name": profile.name, "department_ids": list(profile.department_ids),
        "department_names": list(profile.department_names), "leader_user_id": profile.leader_user_id,
        "is_platform_admin": profile.is_platform_admin,
    }, ensure_ascii=False)


def _profile_from_json(raw: str) -> DirectoryProfile:
    data = json.loads(raw)
    return DirectoryProfile(
        user_id=data["user_id"], name=data.get("name"), department_ids=tuple(data.get("department_ids") or ()),
        department_names=tuple(data.get("department_names") or ()), leader_user_id=data.get("leader_user_id"),
        is_platform_admin=data.get("is_platform_admin") is True,
    )


def _backoff(attempt: int, rng: random.Random) -> float:
    return jittered_backoff(attempt, base=0.5, cap=IN_PROCESS_WAIT_CAP, rng=rng)
