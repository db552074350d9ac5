"""Every setting of the bot in one typed place, read once from the environment (and a `.env` file)."""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from cryptography.fernet import Fernet
from dotenv import dotenv_values
from limits import parse_many

from bot.core.errors import ConfigurationError
from locales import SUPPORTED_LOCALES
from storage.files import PRIVATE_FILE, secure_data_dir


def _dev_secret(data_dir: Path, name: str, make: str) -> str:
    """Return a development secret stored in the data dir, creating it with mode 0600 the first time."""
    path = data_dir / name
    secure_data_dir(data_dir)
    if path.exists():
        if path.stat().st_mode & 0o777 != PRIVATE_FILE:
            os.chmod(path, PRIVATE_FILE)  # written by an older version, maybe open to others
        return path.read_text(encoding="utf-8").strip()
    value = Fernet.generate_key().decode() if make == "fernet" else secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


MIN_SECRET_LENGTH = 32
DEVELOPMENT_SPEI_CLABE = "002180700000000001"  # an example account: never shown to applicants in production
MIN_SECRET_BITS = 96  # estimated; a random 32-character hex string scores about 115


def is_business_clabe(clabe: str) -> bool:
    """An account applicants may be told to transfer to: 18 digits, and not the development example."""
    return clabe != DEVELOPMENT_SPEI_CLABE and re.fullmatch(r"\d{18}", clabe) is not None


def estimated_entropy_bits(text: str) -> float:
    """Length times the Shannon entropy of the characters used: low for repeats and small alphabets."""
    if not text:
        return 0.0
    counts = Counter(text)
    per_char = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return per_char * len(text)


def weak_secret_problem(name: str, value: str) -> str | None:
    """Why a production secret is too weak to sign sessions with, or None when it is fine."""
    if len(value) < MIN_SECRET_LENGTH:
        return f"{name} is too short (at least {MIN_SECRET_LENGTH} random characters)"
    repeats = any(value == value[:period] * (len(value) // period) + value[:len(value) % period]
                  for period in range(1, 9))
    if repeats or len(set(value)) < 12 or estimated_entropy_bits(value) < MIN_SECRET_BITS:
        return f"{name} is too predictable (use a random value, e.g. python -c 'import secrets; " \
               "print(secrets.token_urlsafe(48))')"
    return None


def _production_problems(get: Callable[[str], str | None]) -> list[str]:
    """Every weak production setting, named at once: secret strength, Fernet keys, an https origin."""
    problems = []
    secret = get("SECRET_KEY")
    if secret and (problem := weak_secret_problem("SECRET_KEY", secret)):
        problems.append(problem)
    keys = [key.strip() for key in (get("DATA_ENCRYPTION_KEYS") or "").split(",") if key.strip()]
    bad = [str(number) for number, key in enumerate(keys, 1) if not _is_fernet_key(key)]
    if bad:
        problems.append(f"DATA_ENCRYPTION_KEYS: key {', '.join(bad)} is not a Fernet key")
    base_url = get("PUBLIC_BASE_URL")
    if base_url and not re.fullmatch(r"https://[^/\s:@]+(:\d+)?/?", base_url):
        problems.append("PUBLIC_BASE_URL must be an https:// origin, like https://bot.example.mx")
    # Without Stripe, SPEI is the only way to pay: applicants must never be shown the example account.
    clabe = get("SPEI_CLABE") or DEVELOPMENT_SPEI_CLABE
    if not get("STRIPE_SECRET_KEY") and not is_business_clabe(clabe):
        problems.append("SPEI_CLABE must be the business's 18-digit CLABE (the development placeholder is set and "
                        "Stripe is not configured: applicants could only transfer to an example account); set "
                        "SPEI_CLABE and SPEI_BENEFICIARY, or STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
    return problems


def _is_fernet_key(key: str) -> bool:
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


def normalise_database_url(url: str) -> str:
    """Accept Heroku-style `postgres://` URLs and pick the psycopg 3 driver for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@dataclass(frozen=True, slots=True)
class Settings:
    """The configuration of one process. Built by `from_env`; tests build it directly."""

    env: str = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    port: int = 8000
    host: str = "127.0.0.1"  # where `ptibot serve` listens; links point here when PUBLIC_BASE_URL is unset
    secret_key: str = ""
    data_encryption_keys: tuple[str, ...] = ()
    public_base_url: str | None = None
    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    smtp_url: str | None = None
    mail_from: str | None = None
    business_name: str = "Gestoría PTI"  # BUSINESS_NAME: how messages and emails name the business
    business_timezone: str = "America/Mexico_City"
    default_locale: str = "es_MX"
    resume_after_minutes: int = 30
    business_hours: str = "mon-fri 09:00-18:00; sat 10:00-14:00"
    reminder_hour: str = "10:00"
    outbox_claim_timeout: int = 120
    provider_timeout: float = 10.0
    retention_document_days: int = 90
    retention_abandoned_days: int = 30
    quiet_hours: str = "21:00-08:00"
    nudge_after_hours: tuple[int, int] = (24, 72)
    whatsapp_templates: Mapping[str, str] = field(default_factory=dict)
    whatsapp_send_rate: float = 10.0
    dispatch_concurrency: int = 32  # DISPATCH_CONCURRENCY: sends in flight at most per worker
    case_review_days: int = 3
    # Web chat limits (Flask-Limiter rate strings): per session, per client address, new sessions per
    # address, uploads per session, polling per address; and the bytes one anonymous session may store.
    webchat_message_limit: str = "120 per minute; 600 per hour"
    webchat_address_limit: str = "300 per minute; 3000 per hour"
    webchat_session_limit: str = "30 per minute; 300 per hour"
    webchat_upload_limit: str = "10 per minute; 60 per hour"
    webchat_poll_limit: str = "300 per minute"
    webchat_upload_quota_mb: int = 30
    rate_limit_storage_uri: str = "memory://"
    staff_session_idle_minutes: int = 30
    staff_session_max_hours: int = 12
    trusted_proxies: int = 0
    metrics_token: str | None = None
    # SPEI transfers confirmed by staff: the business's account, shown to the applicant with a unique reference.
    spei_clabe: str = DEVELOPMENT_SPEI_CLABE  # set SPEI_CLABE in production (refused there unless Stripe is on)
    spei_beneficiary: str = "Gestoría PTI (desarrollo)"
    # Card and OXXO payments through Stripe Checkout when the key is set (the webhook secret is then mandatory).
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base_url: str = "https://api.stripe.com"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def spei_offered(self) -> bool:
        """Whether applicants are offered SPEI: in production only with the business's real CLABE (production
        refuses to start with neither that nor Stripe, so then only Stripe is offered)."""
        return not self.is_production or is_business_clabe(self.spei_clabe)

    @property
    def base_url(self) -> str:
        """Where links in messages point: the public origin, or this machine in development."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return self.public_base_url or f"http://{host}:{self.port}"

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_secret_key and self.stripe_webhook_secret)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
        """Read the environment once; in production, report every missing secret in one error.

        Args:
            environ: the variables to read (defaults to `os.environ`); a `.env` file in `cwd` fills gaps.
            cwd: where to look for `.env` (defaults to the working directory).
        """
        # No `${VAR}` interpolation: python-dotenv would fill it from os.environ, behind `environ`'s back.
        dotenv = dotenv_values((cwd or Path.cwd()) / ".env", interpolate=False, encoding="utf-8")
        env = {key: value for key, value in dotenv.items() if value is not None}  # a bare `KEY` line has None
        env.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        mode = get("PTIBOT_ENV") or "development"
        production = mode == "production"
        missing: list[str] = []
        if production:
            for name in ("SECRET_KEY", "DATA_ENCRYPTION_KEYS", "DATABASE_URL", "PUBLIC_BASE_URL"):
                if not get(name):
                    missing.append(name)
        if get("TELEGRAM_BOT_TOKEN") and not get("TELEGRAM_WEBHOOK_SECRET"):
            missing.append("TELEGRAM_WEBHOOK_SECRET")
        twilio = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM")
        if any(get(name) for name in twilio):
            missing.extend(name for name in twilio if not get(name))
        if get("SMTP_URL") and not get("MAIL_FROM"):
            missing.append("MAIL_FROM")
        if get("STRIPE_SECRET_KEY") and not get("STRIPE_WEBHOOK_SECRET"):
            missing.append("STRIPE_WEBHOOK_SECRET")
        problems = _production_problems(get) if production else []
        if missing or problems:
            named = [f"missing required settings: {', '.join(missing)}"] if missing else []
            raise ConfigurationError(f"PTIBOT_ENV={mode}: {'; '.join(named + problems)}")

        data_dir = Path(get("PTIBOT_DATA_DIR") or "var").resolve()
        secret_key = get("SECRET_KEY") or _dev_secret(data_dir, "secret_key", "token")
        keys_text = get("DATA_ENCRYPTION_KEYS") or _dev_secret(data_dir, "data_encryption_key", "fernet")
        keys = tuple(key.strip() for key in keys_text.split(",") if key.strip())
        for key in keys:
            try:
                Fernet(key)
            except ValueError as error:
                raise ConfigurationError("DATA_ENCRYPTION_KEYS: every key must be a Fernet key") from error
        database_url = normalise_database_url(
            get("DATABASE_URL") or f"sqlite:///{data_dir / 'ptibot.sqlite3'}"
        )
        locale = get("DEFAULT_LOCALE") or "es_MX"
        if locale not in SUPPORTED_LOCALES:
            raise ConfigurationError(f"DEFAULT_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")
        try:
            port = int(get("PORT") or 8000)
        except ValueError as error:
            raise ConfigurationError("PORT must be a number") from error
        defaults = {item.name: item.default for item in fields(cls)}
        rates = {name: get(name.upper()) or str(defaults[name]) for name in (
            "webchat_message_limit", "webchat_address_limit", "webchat_session_limit", "webchat_upload_limit",
            "webchat_poll_limit")}
        for name, rate in rates.items():
            try:
                parse_many(rate)
            except ValueError as error:
                raise ConfigurationError(f"{name.upper()} must be rates like '30 per minute; 300 per hour'") from error
        try:
            upload_quota = int(get("WEBCHAT_UPLOAD_QUOTA_MB") or 30)
            if upload_quota <= 0:
                raise ValueError(upload_quota)
        except ValueError as error:
            raise ConfigurationError("WEBCHAT_UPLOAD_QUOTA_MB must be a whole number of megabytes above 0") from error
        try:
            review_days = int(get("CASE_REVIEW_DAYS") or 3)
        except ValueError as error:
            raise ConfigurationError("CASE_REVIEW_DAYS must be a number of business days") from error
        try:
            session_idle = int(get("STAFF_SESSION_IDLE_MINUTES") or 30)
            session_max = int(get("STAFF_SESSION_MAX_HOURS") or 12)
            if session_idle <= 0 or session_max <= 0:
                raise ValueError(session_idle, session_max)
        except ValueError as error:
            raise ConfigurationError("STAFF_SESSION_IDLE_MINUTES and STAFF_SESSION_MAX_HOURS must be whole "
                                     "numbers above 0") from error
        try:
            templates = json.loads(get("WHATSAPP_TEMPLATES") or "{}")
            send_rate = float(get("WHATSAPP_SEND_RATE") or 10)
        except ValueError as error:
            raise ConfigurationError("WHATSAPP_TEMPLATES must be a JSON object of message kind to "
                                     "content SID, and WHATSAPP_SEND_RATE a number") from error
        try:
            provider_timeout = float(get("PROVIDER_TIMEOUT") or 10)
            if not 0 < provider_timeout <= 120:
                raise ValueError(provider_timeout)
        except ValueError as error:
            raise ConfigurationError("PROVIDER_TIMEOUT must be a number of seconds between 0 and 120") from error
        try:
            dispatch_concurrency = int(get("DISPATCH_CONCURRENCY") or 32)
            if not 1 <= dispatch_concurrency <= 256:
                raise ValueError(dispatch_concurrency)
        except ValueError as error:
            raise ConfigurationError("DISPATCH_CONCURRENCY must be a whole number from 1 to 256") from error
        try:
            claim_timeout = int(get("OUTBOX_CLAIM_TIMEOUT") or 120)
            if claim_timeout <= 0:
                raise ValueError(claim_timeout)
        except ValueError as error:
            raise ConfigurationError("OUTBOX_CLAIM_TIMEOUT must be a whole number of seconds above 0") from error
        try:
            first_nudge, second_nudge = (int(h) for h in (get("NUDGE_AFTER_HOURS") or "24,72").split(","))
            nudges = (first_nudge, second_nudge)
        except ValueError as error:
            raise ConfigurationError("NUDGE_AFTER_HOURS must be two numbers of hours, like 24,72") from error
        try:
            retention = (int(get("RETENTION_DOCUMENT_DAYS") or 90), int(get("RETENTION_ABANDONED_DAYS") or 30))
        except ValueError as error:
            raise ConfigurationError("RETENTION_DOCUMENT_DAYS and RETENTION_ABANDONED_DAYS must be numbers") from error
        try:
            trusted_proxies = int(get("TRUSTED_PROXIES") or 0)
            if not 0 <= trusted_proxies <= 10:
                raise ValueError(trusted_proxies)
        except ValueError as error:
            raise ConfigurationError("TRUSTED_PROXIES must be the number of proxies in front, 0 to 10") from error
        if not isinstance(templates, dict) or send_rate <= 0:
            raise ConfigurationError("WHATSAPP_TEMPLATES must be a JSON object; WHATSAPP_SEND_RATE above 0")
        return cls(
            env=mode,
            data_dir=data_dir,
            database_url=database_url,
            port=port,
            secret_key=secret_key,
            data_encryption_keys=keys,
            public_base_url=(get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            business_name=get("BUSINESS_NAME") or "Gestoría PTI",
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN"),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            telegram_api_base_url=(get("TELEGRAM_API_BASE_URL") or "https://api.telegram.org").rstrip("/"),
            twilio_account_sid=get("TWILIO_ACCOUNT_SID"),
            twilio_auth_token=get("TWILIO_AUTH_TOKEN"),
            twilio_whatsapp_from=get("TWILIO_WHATSAPP_FROM"),
            twilio_api_base_url=(get("TWILIO_API_BASE_URL") or "https://api.twilio.com").rstrip("/"),
            smtp_url=get("SMTP_URL"),
            mail_from=get("MAIL_FROM"),
            business_timezone=get("BUSINESS_TIMEZONE") or "America/Mexico_City",
            default_locale=locale,
            case_review_days=review_days,
            spei_clabe=get("SPEI_CLABE") or DEVELOPMENT_SPEI_CLABE,
            spei_beneficiary=get("SPEI_BENEFICIARY") or "Gestoría PTI (desarrollo)",
            stripe_secret_key=get("STRIPE_SECRET_KEY"),
            stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base_url=(get("STRIPE_API_BASE_URL") or "https://api.stripe.com").rstrip("/"),
            staff_session_idle_minutes=session_idle,
            staff_session_max_hours=session_max,
            whatsapp_templates={str(k): str(v) for k, v in templates.items()},
            whatsapp_send_rate=send_rate,
            business_hours=get("BUSINESS_HOURS") or "mon-fri 09:00-18:00; sat 10:00-14:00",
            reminder_hour=get("REMINDER_HOUR") or "10:00",
            outbox_claim_timeout=claim_timeout,
            dispatch_concurrency=dispatch_concurrency,
            provider_timeout=provider_timeout,
            retention_document_days=retention[0],
            retention_abandoned_days=retention[1],
            quiet_hours=get("QUIET_HOURS") or "21:00-08:00",
            nudge_after_hours=nudges,
            webchat_upload_quota_mb=upload_quota,
            rate_limit_storage_uri=get("RATE_LIMIT_STORAGE_URI") or "memory://",
            webchat_message_limit=rates["webchat_message_limit"],
            webchat_address_limit=rates["webchat_address_limit"],
            webchat_session_limit=rates["webchat_session_limit"],
            webchat_upload_limit=rates["webchat_upload_limit"],
            webchat_poll_limit=rates["webchat_poll_limit"],
            trusted_proxies=trusted_proxies,
            metrics_token=get("METRICS_TOKEN"),
        )
