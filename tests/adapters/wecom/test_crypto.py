"""WeCom callback crypto: the published vectors, and wechatpy as a peer both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.wecom import crypto

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"
# URL verification, from WeCom's 加解密方案说明 (document 90968).
ECHO = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
        "nonce": "263014780",
        "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="}
# A message callback from the same document.
MESSAGE = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
           "nonce": "1372623149",
           "encrypt": "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUp"
                      "j911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xg"
                      "pue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+"
                      "KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4"
                      "XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyP"
                      "IGHBZZIs2pDBS8R07+qN+E7Q=="}


def at(timestamp: str) -> datetime:
    return datetime.fromtimestamp(int(timestamp), UTC)


def test_url_verification_vector() -> None:
    assert crypto.signature(TOKEN, ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"]) == ECHO["msg_signature"]
    crypto.verify(TOKEN, ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"], ECHO["msg_signature"],
                  now=at(ECHO["timestamp"]), window=600)
    assert crypto.decrypt(ECHO["echostr"], AES_KEY, CORP_ID) == "1616140317555161061"


def test_message_vector() -> None:
    crypto.verify(TOKEN, MESSAGE["timestamp"], MESSAGE["nonce"], MESSAGE["encrypt"], MESSAGE["msg_signature"],
                  now=at(MESSAGE["timestamp"]), window=600)
    plain = crypto.decrypt(MESSAGE["encrypt"], AES_KEY, CORP_ID)
    assert "<Content><![CDATA[hello]]></Content>" in plain and "<MsgId>4561255354251345929</MsgId>" in plain


@pytest.mark.parametrize(("change", "reason"), [
    ({"msg_signature": "0" * 40}, "signature mismatch"),
    ({"msg_signature": None}, "missing signature parameters"),
    ({"timestamp": None}, "missing signature parameters"),
    ({"nonce": "263014781"}, "signature mismatch"),
    ({"echostr": ECHO["echostr"][:-4] + "AAA="}, "signature mismatch"),
])
def test_tampered_or_missing_signatures_are_refused(change: dict[str, str | None], reason: str) -> None:
    values = {**ECHO, **change}
    with pytest.raises(crypto.CryptoError) as refused:
        crypto.verify(TOKEN, values["timestamp"], values["nonce"], values["echostr"] or "", values["msg_signature"],
                      now=at(ECHO["timestamp"]), window=600)
    assert refused.value.reason == reason


def test_a_stale_timestamp_is_refused_even_when_signed() -> None:
    with pytest.raises(crypto.CryptoError, match="window"):
        crypto.verify(TOKEN, ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"], ECHO["msg_signature"],
                      now=at(str(int(ECHO["timestamp"]) + 601)), window=600)


def test_no_token_configured_refuses() -> None:
    with pytest.raises(crypto.CryptoError, match="no token"):
        crypto.verify("", ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"], ECHO["msg_signature"],
                      now=at(ECHO["timestamp"]), window=600)


def test_another_receiver_is_refused() -> None:
    with pytest.raises(crypto.CryptoError, match="receiver"):
        crypto.decrypt(ECHO["echostr"], AES_KEY, "ww-someone-else")


def test_round_trip_with_the_ai_bots_empty_receiver_and_chinese() -> None:
    encrypted = crypto.encrypt('{"text": "新建任务 海报设计"}', AES_KEY, "")
    assert crypto.decrypt(encrypted, AES_KEY, "") == '{"text": "新建任务 海报设计"}'
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(encrypted, AES_KEY, CORP_ID)


@pytest.mark.parametrize("junk", ["", "not base64!", "QUJD", "A" * 44])
def test_junk_ciphertext_is_a_crypto_error(junk: str) -> None:
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(junk, AES_KEY, CORP_ID)


def test_wechatpy_encrypted_envelopes_are_accepted_and_ours_decrypt_there() -> None:
    enterprise = pytest.importorskip("wechatpy.enterprise.crypto")
    from adapters.wecom.payloads import xml_fields

    peer = enterprise.WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    assert peer.check_signature(ECHO["msg_signature"], ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"]) \
        == b"1616140317555161061" or peer.check_signature(
            ECHO["msg_signature"], ECHO["timestamp"], ECHO["nonce"], ECHO["echostr"]) == "1616140317555161061"
    message = "<xml><Content><![CDATA[新建任务 海报设计]]></Content></xml>"
    envelope = xml_fields(peer.encrypt_message(message, "nonce123", "1700000000"))
    crypto.verify(TOKEN, envelope["TimeStamp"], envelope["Nonce"], envelope["Encrypt"], envelope["MsgSignature"],
                  now=at("1700000000"), window=600)
    assert crypto.decrypt(envelope["Encrypt"], AES_KEY, CORP_ID) == message

    ours = crypto.encrypt(message, AES_KEY, CORP_ID)
    signature = crypto.signature(TOKEN, "1700000000", "nonce456", ours)
    decrypted = peer.decrypt_message({"Encrypt": ours}, signature, "1700000000", "nonce456")
    assert (decrypted.decode() if isinstance(decrypted, bytes) else decrypted) == message
