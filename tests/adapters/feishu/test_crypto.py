from __future__ import annotations

import base64

import pytest

from adapters.feishu.crypto import FeishuCryptoError, decrypt, encrypt


def test_published_vector() -> None:
    assert decrypt("P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=", "test key") == "hello world"


@pytest.mark.parametrize("text", ["", "hello", "推进 XZB20231001 🚀", "x" * 1000])
def test_round_trip(text: str) -> None:
    assert decrypt(encrypt(text, "some key"), "some key") == text


def test_fixed_iv_is_deterministic_and_prefixes_the_ciphertext() -> None:
    iv = bytes(range(16))
    token = encrypt("hello world", "test key", iv=iv)
    assert token == encrypt("hello world", "test key", iv=iv)
    assert base64.b64decode(token)[:16] == iv


@pytest.mark.parametrize(
    "ciphertext",
    [
        "",
        "not base64 !!!",
        base64.b64encode(b"short").decode(),
        base64.b64encode(bytes(16)).decode(),  # IV only
        base64.b64encode(bytes(33)).decode(),  # not a block multiple
    ],
)
def test_bad_input(ciphertext: str) -> None:
    with pytest.raises(FeishuCryptoError):
        decrypt(ciphertext, "test key")


def test_wrong_key_is_a_crypto_error() -> None:
    token = encrypt('{"type":"url_verification"}', "right key")
    with pytest.raises(FeishuCryptoError):
        decrypt(token, "wrong key")


def test_error_is_a_value_error() -> None:
    assert issubclass(FeishuCryptoError, ValueError)


def test_bad_iv_length() -> None:
    with pytest.raises(FeishuCryptoError):
        encrypt("x", "k", iv=b"123")
