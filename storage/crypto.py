"""Encryption at rest with MultiFernet: the newest key encrypts, every listed key still decrypts."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.core.errors import BotError


class DecryptionError(BotError):
    """Stored data could not be decrypted with any configured key."""


class Cipher:
    def __init__(self, keys: Sequence[str], search_key: str = "") -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        # Keyed hashes let staff find a CURP or phone without decrypting everything; the key comes from
        # SECRET_KEY so it survives data-key rotation.
        self._search_key = hashlib.sha256(b"ptibot-search:" + search_key.encode()).digest()

    def search_hash(self, value: str) -> str:
        """HMAC-SHA256 of a normalised identifier (upper-case, digits and letters only)."""
        normal = "".join(ch for ch in value.upper() if ch.isalnum())
        return hmac.new(self._search_key, normal.encode(), hashlib.sha256).hexdigest()

    def identifier_hash(self, value: str) -> str:
        """HMAC-SHA256 of an identifier exactly as given (a chat id, a phone with its `+`): what a contact is
        looked up and kept unique by, while the identifier itself is stored only encrypted."""
        message = b"identifier\x00" + value.encode("utf-8", "surrogatepass")
        return hmac.new(self._search_key, message, hashlib.sha256).hexdigest()

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
        return self.encrypt(_utf8(json.dumps(value, ensure_ascii=False, separators=(",", ":"))))

    def decrypt_json(self, token: bytes | None, default: Any = None) -> Any:
        if token is None:
            return default
        return json.loads(self.decrypt(token))

    def encrypt_text(self, value: str | None) -> bytes | None:
        return None if value is None else self.encrypt(_utf8(value))

    def decrypt_text(self, token: bytes | None) -> str | None:
        return None if token is None else self.decrypt(token).decode()


def _utf8(text: str) -> bytes:
    """UTF-8, with a lone surrogate (valid in a JSON string, not in UTF-8) stored as "?" instead of failing the
    whole turn: a provider may deliver one, and a turn that cannot be stored would be retried forever."""
    return text.encode("utf-8", "replace")
