"""DingTalk's robot callback signature: the published vector, and every way a request can fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.dingtalk.signature import SignatureError, expected_sign, verify_request

# DingTalk's published example.
TIMESTAMP = "1577262236757"
SECRET = "this is secret"
SIGN = "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM="
AT = datetime.fromtimestamp(int(TIMESTAMP) / 1000, UTC)


def test_the_published_vector() -> None:
    assert expected_sign(TIMESTAMP, SECRET) == SIGN


def test_a_fresh_valid_signature_passes() -> None:
    verify_request({"timestamp": TIMESTAMP, "sign": SIGN}, SECRET, AT + timedelta(minutes=59))
    # Header names are case-insensitive on the wire; plain dicts are accepted either way.
    verify_request({"Timestamp": TIMESTAMP, "Sign": SIGN}, SECRET, AT)


@pytest.mark.parametrize(("headers", "secret", "now", "reason"), [
    ({"timestamp": TIMESTAMP, "sign": SIGN[:-2] + "A="}, SECRET, AT, "signature mismatch"),
    ({"timestamp": str(int(TIMESTAMP) + 1), "sign": SIGN}, SECRET, AT, "signature mismatch"),
    ({"timestamp": TIMESTAMP, "sign": SIGN}, "another secret", AT, "signature mismatch"),
    ({"timestamp": TIMESTAMP, "sign": SIGN}, SECRET, AT + timedelta(hours=1, seconds=1), "stale timestamp"),
    ({"timestamp": TIMESTAMP, "sign": SIGN}, SECRET, AT - timedelta(hours=1, seconds=1), "timestamp in the future"),
    ({"sign": SIGN}, SECRET, AT, "missing header timestamp"),
    ({"timestamp": TIMESTAMP}, SECRET, AT, "missing header sign"),
    ({"timestamp": TIMESTAMP, "sign": ""}, SECRET, AT, "missing header sign"),
    ({"timestamp": "12ab", "sign": SIGN}, SECRET, AT, "timestamp is not an integer"),
    ({"timestamp": TIMESTAMP, "sign": SIGN}, "", AT, "no signing secret configured"),
    ({"timestamp": TIMESTAMP, "sign": "签名"}, SECRET, AT, "signature mismatch"),
])
def test_refusals(headers: dict[str, str], secret: str, now: datetime, reason: str) -> None:
    with pytest.raises(SignatureError) as refused:
        verify_request(headers, secret, now)
    assert refused.value.reason == reason
