"""Signatures on DingTalk's HTTP robot callbacks: headers `timestamp` (ms) and `sign`.

sign = base64(HMAC-SHA256(key=app_secret, msg=f"{timestamp}\\n{app_secret}")); a timestamp more
than an hour from our clock is refused; the compare is constant-time; no secret refuses all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

TIMESTAMP_HEADER = "timestamp"
SIGN_HEADER = "sign"
DEFAULT_WINDOW_SECONDS = 3600


class SignatureError(Exception):
    """The request is not provably from DingTalk; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def expected_sign(timestamp: str, secret: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if not value:
        raise SignatureError(f"missing header {name}")
    return value


def verify_request(
    headers: Mapping[str, str], secret: str, now: datetime, window_seconds: int = DEFAULT_WINDOW_SECONDS
) -> None:
    """Raise SignatureError unless the headers carry a fresh, valid signature."""
    if not secret:
        raise SignatureError("no signing secret configured")
    timestamp = _header(headers, TIMESTAMP_HEADER)
    sign = _header(headers, SIGN_HEADER)
    if not timestamp.isdigit() or len(timestamp) > 16:
        raise SignatureError("timestamp is not an integer")
    skew = now.timestamp() - int(timestamp) / 1000
    if skew > window_seconds:
        raise SignatureError("stale timestamp")
    if skew < -window_seconds:
        raise SignatureError("timestamp in the future")
    expected = expected_sign(timestamp, secret)
    if not hmac.compare_digest(expected.encode("ascii"), sign.strip().encode("utf-8")):
        raise SignatureError("signature mismatch")
