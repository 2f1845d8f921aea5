"""Request signatures for Feishu webhooks, after slack_sdk's verifier: injected time, a window,
and a constant-time compare.

Events: hex SHA-256 of (timestamp + nonce + encrypt_key) followed by the raw body.
Old-style card callbacks: hex SHA-1 of timestamp + nonce + verification_token + body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime

TIMESTAMP_HEADER = "X-Lark-Request-Timestamp"
NONCE_HEADER = "X-Lark-Request-Nonce"
SIGNATURE_HEADER = "X-Lark-Signature"


class SignatureError(Exception):
    """The request is not provably from Feishu; `reason` is safe to log (no secrets)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def expected_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def expected_legacy_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    return hashlib.sha1((timestamp + nonce + verification_token).encode("utf-8") + body).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        # Plain dicts in tests and tools are not case-insensitive like aiohttp's headers.
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    if not value:
        raise SignatureError(f"missing header {name}")
    return value


def _verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    now: datetime,
    window_seconds: int,
    sign: Callable[[str, str, str, bytes], str],
) -> None:
    if not secret:
        raise SignatureError("no signing secret configured")
    timestamp = _header(headers, TIMESTAMP_HEADER)
    nonce = _header(headers, NONCE_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("timestamp is not an integer") from None
    skew = now.timestamp() - sent_at
    if skew > window_seconds:
        raise SignatureError("stale timestamp")
    if skew < -window_seconds:
        raise SignatureError("timestamp in the future")
    expected = sign(timestamp, nonce, secret, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("utf-8")):
        raise SignatureError("signature mismatch")


def verify_request(
    headers: Mapping[str, str], body: bytes, encrypt_key: str, now: datetime, window_seconds: int
) -> None:
    """Raise SignatureError unless the event request carries a fresh, valid signature."""
    _verify(headers, body, encrypt_key, now, window_seconds, expected_signature)


def verify_legacy_card_request(
    headers: Mapping[str, str], body: bytes, verification_token: str, now: datetime, window_seconds: int
) -> None:
    """The same check for old-style card callbacks, keyed by the verification token."""
    _verify(headers, body, verification_token, now, window_seconds, expected_legacy_signature)
