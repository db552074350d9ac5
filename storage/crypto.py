"""Encryption at rest with MultiFernet: the newest key encrypts, every listed key still decrypts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import BotError


class DecryptionError(BotError):
    """Stored data could not be decrypted with any configured key."""


class Cipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plain: bytes) -> bytes:
        return self._fernet.encrypt(plain)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as error:
            raise DecryptionError("stored data cannot be decrypted with the configured keys") from error

    def rotate(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)

    def encrypt_json(self, value: Any) -> bytes:
        return self.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())

    def decrypt_json(self, token: bytes | None, default: Any = None) -> Any:
        if token is None:
            return default
        return json.loads(self.decrypt(token))

    def encrypt_text(self, value: str | None) -> bytes | None:
        return None if value is None else self.encrypt(value.encode())

    def decrypt_text(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token).decode()
