from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from adapters.feishu.signature import (
    SignatureError,
    expected_legacy_signature,
    expected_signature,
    verify_legacy_card_request,
    verify_request,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
BODY = b'{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}'
KEY = "test key"


def headers(ts: int = TS, body: bytes = BODY, key: str = KEY) -> dict[str, str]:
    return {
        "X-Lark-Request-Timestamp": str(ts),
        "X-Lark-Request-Nonce": "13341234",
        "X-Lark-Signature": expected_signature(str(ts), "13341234", key, body),
    }


def test_expected_signature_is_sha256_of_prefix_and_body() -> None:
    want = hashlib.sha256(b"1600000000" + b"nonce" + b"key" + b"{}").hexdigest()
    assert expected_signature("1600000000", "nonce", "key", b"{}") == want


def test_valid() -> None:
    verify_request(headers(), BODY, KEY, NOW, 300)


def test_header_names_are_case_insensitive_for_plain_dicts() -> None:
    lowered = {k.lower(): v for k, v in headers().items()}
    verify_request(lowered, BODY, KEY, NOW, 300)


def test_tampered_body() -> None:
    with pytest.raises(SignatureError, match="mismatch"):
        verify_request(headers(), BODY + b" ", KEY, NOW, 300)


def test_wrong_key() -> None:
    with pytest.raises(SignatureError, match="mismatch"):
        verify_request(headers(key="other"), BODY, KEY, NOW, 300)


def test_stale_timestamp() -> None:
    with pytest.raises(SignatureError, match="stale"):
        verify_request(headers(ts=TS - 301), BODY, KEY, NOW, 300)


def test_future_timestamp() -> None:
    with pytest.raises(SignatureError, match="future"):
        verify_request(headers(ts=TS + 301), BODY, KEY, NOW, 300)


def test_edge_of_window_is_accepted() -> None:
    verify_request(headers(ts=TS - 300), BODY, KEY, NOW, 300)


@pytest.mark.parametrize("missing", ["X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature"])
def test_missing_headers(missing: str) -> None:
    h = headers()
    del h[missing]
    with pytest.raises(SignatureError, match="missing"):
        verify_request(h, BODY, KEY, NOW, 300)


def test_non_integer_timestamp() -> None:
    h = headers()
    h["X-Lark-Request-Timestamp"] = "yesterday"
    with pytest.raises(SignatureError):
        verify_request(h, BODY, KEY, NOW, 300)


def test_empty_secret_fails_closed() -> None:
    with pytest.raises(SignatureError):
        verify_request(headers(key=""), BODY, "", NOW, 300)


def test_legacy_sha1_variant() -> None:
    token = "rvaYgkR5C5g0Qhi8rBX1Af2tB5PDbWpJ"
    want = hashlib.sha1(f"{TS}nonce{token}".encode() + BODY).hexdigest()
    assert expected_legacy_signature(str(TS), "nonce", token, BODY) == want
    h = {"X-Lark-Request-Timestamp": str(TS), "X-Lark-Request-Nonce": "nonce", "X-Lark-Signature": want}
    verify_legacy_card_request(h, BODY, token, NOW, 300)
    with pytest.raises(SignatureError, match="mismatch"):
        verify_legacy_card_request(h, BODY + b"x", token, NOW, 300)
    with pytest.raises(SignatureError, match="mismatch"):
        verify_request(h, BODY, token, NOW, 300)  # a SHA-1 signature is not an event signature
