"""WeCom callback signing and encryption (pure functions).

msg_signature = hex SHA-1 of the sorted concatenation of token, timestamp, nonce and the
ciphertext. The AES key is base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[:16];
PKCS#7 padding to a multiple of 32; the plaintext is 16 random bytes, the message length as 4
bytes big-endian, the message, and the receiver id (the CorpID for a self-built app, "" for an
AI bot).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from datetime import datetime

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class CryptoError(ValueError):
    """A callback that does not verify or decrypt; the reason names the check, never a value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise CryptoError("EncodingAESKey must be 43 characters")
    return key


def encrypt(message: str, encoding_aes_key: str, receive_id: str, *, random_bytes: bytes | None = None) -> str:
    key = aes_key(encoding_aes_key)
    body = message.encode("utf-8")
    plain = (random_bytes or os.urandom(16)) + struct.pack(">I", len(body)) + body + receive_id.encode("utf-8")
    pad = BLOCK - len(plain) % BLOCK
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")


def decrypt(encrypted: str, encoding_aes_key: str, receive_id: str | None) -> str:
    """The message inside; `receive_id` None accepts any (the AI bot's is empty, but checked when given)."""
    key = aes_key(encoding_aes_key)
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("ciphertext is not base64") from None
    if not raw or len(raw) % 16:
        raise CryptoError("ciphertext length is not a multiple of the block")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(raw) + decryptor.finalize()
    pad = plain[-1]
    if pad < 1 or pad > BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad padding")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoError("plaintext too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise CryptoError("length out of range")
    try:
        message = plain[20:20 + length].decode("utf-8")
        receiver = plain[20 + length:].decode("utf-8")
    except UnicodeDecodeError:
        raise CryptoError("plaintext is not UTF-8") from None
    if receive_id is not None and not hmac.compare_digest(receiver, receive_id):
        raise CryptoError("receiver id does not match")
    return message


def verify(token: str, timestamp: str | None, nonce: str | None, encrypted: str, msg_signature: str | None,
           *, now: datetime, window: int) -> None:
    if not token:
        raise CryptoError("no token configured")
    if not timestamp or not nonce or not msg_signature:
        raise CryptoError("missing signature parameters")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise CryptoError("timestamp is not epoch seconds")
    if abs(now.timestamp() - int(timestamp)) > window:
        raise CryptoError("timestamp outside the window")
    expected = signature(token, timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected, msg_signature.lower()):
        raise CryptoError("signature mismatch")
