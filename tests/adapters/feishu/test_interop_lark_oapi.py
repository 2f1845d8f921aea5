"""Our crypto and signatures against the official SDK (lark-oapi), Feishu's own reference."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from typing import Any

import lark_oapi as lark
import pytest
from Crypto.Cipher import AES
from Crypto.Util.Padding import pad
from lark_oapi.card.action_handler import CardActionHandler
from lark_oapi.core.model import RawRequest
from lark_oapi.core.utils import AESCipher

from adapters.feishu.crypto import decrypt, encrypt

from .signed import ENCRYPT_KEY, VERIFICATION_TOKEN, encrypted_body, golden, legacy_headers, signed_headers


def request(body: bytes, headers: dict[str, str]) -> RawRequest:
    req = RawRequest()
    req.uri = "/webhooks/feishu"
    req.body = body
    req.headers = headers
    return req


def test_sdk_accepts_our_signed_encrypted_message() -> None:
    received: list[Any] = []
    handler = (
        lark.EventDispatcherHandler.builder(ENCRYPT_KEY, VERIFICATION_TOKEN)
        .register_p2_im_message_receive_v1(received.append)
        .build()
    )
    body = encrypted_body(golden("message_group.json"))
    resp = handler.do(request(body, signed_headers(body, ENCRYPT_KEY, int(time.time()))))
    assert resp.status_code == 200, resp.content
    [event] = received
    assert event.header.event_id == "5e3702a84e847582be8db7fb73283c02"
    assert event.event.message.chat_id == "oc_5ce6d572455d361153b7xx51da133945"
    assert [m.key for m in event.event.message.mentions] == ["@_user_1", "@_user_2"]


def test_sdk_rejects_our_request_signed_with_another_key() -> None:
    received: list[Any] = []
    handler = (
        lark.EventDispatcherHandler.builder(ENCRYPT_KEY, VERIFICATION_TOKEN)
        .register_p2_im_message_receive_v1(received.append)
        .build()
    )
    body = encrypted_body(golden("message_group.json"))
    resp = handler.do(request(body, signed_headers(body, "another key", int(time.time()))))
    assert resp.status_code == 500 and received == []


def test_sdk_answers_our_encrypted_url_verification() -> None:
    handler = lark.EventDispatcherHandler.builder(ENCRYPT_KEY, VERIFICATION_TOKEN).build()
    resp = handler.do(request(encrypted_body(golden("url_verification.json")), {}))
    assert resp.status_code == 200
    assert json.loads(resp.content or b"") == {"challenge": "ajls384kdjx98XX"}


def test_sdk_card_handler_accepts_our_legacy_signature() -> None:
    clicks: list[Any] = []
    handler = CardActionHandler.builder("", VERIFICATION_TOKEN).register(lambda card: clicks.append(card)).build()
    body = json.dumps(golden("card_action_legacy.json")).encode()
    resp = handler.do(request(body, legacy_headers(body, VERIFICATION_TOKEN, int(time.time()))))
    assert resp.status_code == 200, resp.content
    assert clicks[0].open_message_id == "om_574d639e4a44e4dd646eaf628e2ab123"


@pytest.mark.parametrize("text", ["hello world", '{"challenge":"x"}', "推进 " * 50])
def test_sdk_decrypts_what_we_encrypt(text: str) -> None:
    assert AESCipher(ENCRYPT_KEY).decrypt_str(encrypt(text, ENCRYPT_KEY)) == text


def _feishu_encrypt(plaintext: str, key: str) -> str:
    """Feishu's side, as the SDK's AESCipher reverses it (the SDK itself only decrypts)."""
    iv = os.urandom(16)
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(pad(plaintext.encode(), AES.block_size))).decode()


@pytest.mark.parametrize("text", ["hello world", json.dumps(golden("card_action_v2.json"), ensure_ascii=False)])
def test_we_decrypt_what_the_sdk_cipher_reads(text: str) -> None:
    token = _feishu_encrypt(text, ENCRYPT_KEY)
    assert AESCipher(ENCRYPT_KEY).decrypt_str(token) == text
    assert decrypt(token, ENCRYPT_KEY) == text


def test_published_vector_agrees_with_the_sdk() -> None:
    vector = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
    assert AESCipher("test key").decrypt_str(vector) == decrypt(vector, "test key") == "hello world"
