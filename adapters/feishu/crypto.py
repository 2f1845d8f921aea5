"""Feishu's event encryption: AES-256-CBC under SHA-256(encrypt_key), IV prefixed, PKCS#7.

Pure functions, no I/O. `encrypt` exists so tests and the benchmark can build requests
exactly as Feishu does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16


class FeishuCryptoError(ValueError):
    """The ciphertext is not something our key produced: bad base64, length or padding."""


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def decrypt(encrypt_b64: str, encrypt_key: str) -> str:
    if not isinstance(encrypt_b64, str) or not encrypt_b64:
        raise FeishuCryptoError("encrypt is not a non-empty string")
    try:
        raw = base64.b64decode(encrypt_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FeishuCryptoError("encrypt is not valid base64") from exc
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise FeishuCryptoError("ciphertext has the wrong length")
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(raw[:BLOCK])).decryptor()
    padded = decryptor.update(raw[BLOCK:]) + decryptor.finalize()
    unpadder = padding.PKCS7(BLOCK * 8).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:
        raise FeishuCryptoError("bad padding (wrong key?)") from exc
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FeishuCryptoError("plaintext is not UTF-8 (wrong key?)") from exc


def encrypt(plaintext: str, encrypt_key: str, iv: bytes | None = None) -> str:
    iv = os.urandom(BLOCK) if iv is None else iv
    if len(iv) != BLOCK:
        raise FeishuCryptoError("iv must be 16 bytes")
    padder = padding.PKCS7(BLOCK * 8).padder()
    padded = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    return base64.b64encode(iv + encryptor.update(padded) + encryptor.finalize()).decode("ascii")
