"""Signed, expiring links the bot hands out: an applicant's data export, and stored media for providers.

Signing lives here, apart from the pages that serve the links (`bot.web`), because the turn service and
the WhatsApp sender make links without the web app. Each kind has its own salt, so one cannot be used as
the other; both expire after an hour.
"""

from __future__ import annotations

from itsdangerous import URLSafeTimedSerializer

from bot.core.messages import Attachment

MAX_AGE = 3600
EXPORT_SALT = "data-export"
MEDIA_SALT = "provider-media"


def export_url(secret_key: str, base_url: str, contact_id: int) -> str:
    return f"{base_url}/data-export/{export_signer(secret_key).dumps(contact_id)}"


def export_signer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=EXPORT_SALT)


def media_url(secret_key: str, base_url: str, attachment: Attachment) -> str:
    token = media_signer(secret_key).dumps(
        [attachment.ref, attachment.content_type or "application/pdf", attachment.filename or "documento.pdf"])
    return f"{base_url}/media/{token}"


def media_signer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=MEDIA_SALT)
