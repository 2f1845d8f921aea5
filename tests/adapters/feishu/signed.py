"""Build requests the way Feishu does: golden payloads, encryption, signature headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.feishu.crypto import encrypt
from adapters.feishu.signature import expected_legacy_signature, expected_signature

GOLDEN = Path(__file__).parent / "golden"
ENCRYPT_KEY = "kudryavtsev-test-encrypt-key"
VERIFICATION_TOKEN = "rvaYgkR5C5g0Qhi8rBX1Af2tB5PDbWpJ"
BOT_OPEN_ID = "ou_bot0000000000000000000000000001"


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def encrypted_body(payload: dict[str, Any], key: str = ENCRYPT_KEY) -> bytes:
    return json.dumps({"encrypt": encrypt(json.dumps(payload, ensure_ascii=False), key)}).encode()


def signed_headers(body: bytes, key: str, timestamp: int, nonce: str = "n0nce-1234") -> dict[str, str]:
    return {
        "X-Lark-Request-Timestamp": str(timestamp),
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": expected_signature(str(timestamp), nonce, key, body),
        "Content-Type": "application/json",
    }


def legacy_headers(body: bytes, token: str, timestamp: int, nonce: str = "n0nce-5678") -> dict[str, str]:
    return {
        "X-Lark-Request-Timestamp": str(timestamp),
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": expected_legacy_signature(str(timestamp), nonce, token, body),
        "Content-Type": "application/json",
    }
