"""Settings: development needs nothing; production refuses to start and names every missing or weak secret."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.config import Settings
from bot.core.errors import ConfigurationError


def test_development_needs_nothing(tmp_path: Path) -> None:
    settings = Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'ptibot.sqlite3'}"
    for name in ("secret_key", "data_encryption_key"):
        path = tmp_path / "data" / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path / "data")}, cwd=tmp_path)
    assert again.secret_key == settings.secret_key
    assert again.data_encryption_keys == settings.data_encryption_keys
    assert not settings.telegram_enabled and not settings.whatsapp_enabled


def test_production_names_every_missing_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env({"PTIBOT_ENV": "production", "TELEGRAM_BOT_TOKEN": "1:x",
                           "TWILIO_ACCOUNT_SID": "AC1"}, cwd=tmp_path)
    message = str(error.value)
    for name in ("SECRET_KEY", "DATA_ENCRYPTION_KEYS", "DATABASE_URL", "PUBLIC_BASE_URL",
                 "TELEGRAM_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"):
        assert name in message
    assert not (tmp_path / "var").exists()


def test_production_with_everything_starts(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    keys = f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}"
    settings = Settings.from_env({
        "PTIBOT_ENV": "production", "SECRET_KEY": STRONG_SECRET, "DATA_ENCRYPTION_KEYS": keys,
        "DATABASE_URL": "postgres://u:p@db/ptibot", "PUBLIC_BASE_URL": "https://bot.example.mx/",
        "SPEI_CLABE": "014180655000000017",
    }, cwd=tmp_path)
    assert settings.database_url == "postgresql+psycopg://u:p@db/ptibot"
    assert settings.public_base_url == "https://bot.example.mx"
    assert len(settings.data_encryption_keys) == 2
    assert settings.is_production


STRONG_SECRET = "Zr8q-5kT_wP2vLx9mN4cB7hJ3fD6gS1a"  # 32 random characters


@pytest.mark.parametrize("secret", ["a", "changeme", "x" * 64, "changeme" * 4, "abc123" * 8, "s" * 40,
                                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"])
def test_production_refuses_a_weak_secret_key(tmp_path: Path, secret: str) -> None:
    from cryptography.fernet import Fernet

    with pytest.raises(ConfigurationError, match="SECRET_KEY is too"):
        Settings.from_env({"PTIBOT_ENV": "production", "SECRET_KEY": secret,
                           "DATA_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                           "DATABASE_URL": "postgres://u:p@db/ptibot", "PUBLIC_BASE_URL": "https://bot.example.mx"},
                          cwd=tmp_path)


def test_production_names_every_weak_setting_at_once(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    with pytest.raises(ConfigurationError) as error:
        Settings.from_env({"PTIBOT_ENV": "production", "SECRET_KEY": "a", "TWILIO_ACCOUNT_SID": "AC1",
                           "DATA_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},not-a-key",
                           "DATABASE_URL": "postgres://u:p@db/ptibot", "PUBLIC_BASE_URL": "http://bot.example.mx"},
                          cwd=tmp_path)
    message = str(error.value)
    assert "TWILIO_AUTH_TOKEN" in message and "SECRET_KEY is too short" in message
    assert "DATA_ENCRYPTION_KEYS: key 2 is not a Fernet key" in message
    assert "PUBLIC_BASE_URL must be an https:// origin" in message
    assert not (tmp_path / "var").exists()


def test_development_keeps_generated_and_simple_settings(tmp_path: Path) -> None:
    settings = Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path), "SECRET_KEY": "dev",
                                  "PUBLIC_BASE_URL": "http://127.0.0.1:8000", "TRUSTED_PROXIES": "1",
                                  "METRICS_TOKEN": "scrape-me"}, cwd=tmp_path)
    assert (settings.secret_key, settings.public_base_url) == ("dev", "http://127.0.0.1:8000")
    assert (settings.trusted_proxies, settings.metrics_token) == (1, "scrape-me")
    assert Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path)}, cwd=tmp_path).trusted_proxies == 0


def test_dotenv_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# local\nPORT=9001\nDEFAULT_LOCALE='en'\nexport BUSINESS_TIMEZONE=America/Tijuana\n")
    settings = Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path), "PORT": "9002"}, cwd=tmp_path)
    assert settings.port == 9002
    assert settings.default_locale == "en"
    assert settings.business_timezone == "America/Tijuana"


def test_dotenv_is_parsed_by_python_dotenv(tmp_path: Path) -> None:
    """What python-dotenv understands beyond KEY=VALUE: inline comments, escapes in double quotes, values
    spanning lines; a bare KEY is no value, and `${VAR}` is kept as written (no interpolation)."""
    (tmp_path / ".env").write_text(
        'PORT=9001  # the local port\n'
        'MAIL_FROM="\\"Gestoría PTI\\" <hola@gestoria.mx>"\n'
        'BUSINESS_HOURS="mon-fri 09:00-18:00;\n sat 10:00-14:00"\n'
        'TELEGRAM_BOT_TOKEN\n'
        'PUBLIC_BASE_URL=https://${HOST}/\n', encoding="utf-8")
    settings = Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path), "HOST": "bot.example.mx"}, cwd=tmp_path)
    assert settings.port == 9001
    assert settings.mail_from == '"Gestoría PTI" <hola@gestoria.mx>'
    assert settings.business_hours == "mon-fri 09:00-18:00;\n sat 10:00-14:00"
    assert settings.telegram_bot_token is None and not settings.telegram_enabled
    assert settings.public_base_url == "https://${HOST}"


def test_the_process_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PORT=9001\nREMINDER_HOUR=09:30\nPTIBOT_DATA_DIR=elsewhere\n")
    monkeypatch.setenv("PTIBOT_ENV", "development")
    monkeypatch.setenv("PTIBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PORT", "9003")
    monkeypatch.delenv("REMINDER_HOUR", raising=False)
    settings = Settings.from_env(cwd=tmp_path)  # os.environ, as `ptibot` reads it
    assert settings.port == 9003
    assert settings.reminder_hour == "09:30"
    assert settings.data_dir == tmp_path / "data"


def test_dotenv_is_read_from_the_working_directory_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PORT=9001\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # python-dotenv's own search would walk up and find the parent's
    assert Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path)}).port == 8000
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path)}).port == 9001


@pytest.mark.parametrize(("name", "value"), [("DATA_ENCRYPTION_KEYS", "not-a-key"), ("PORT", "eighty"),
                                             ("DEFAULT_LOCALE", "fr"), ("PROVIDER_TIMEOUT", "0"),
                                             ("OUTBOX_CLAIM_TIMEOUT", "two minutes"),
                                             ("RETENTION_DOCUMENT_DAYS", "ninety"),
                                             ("TRUSTED_PROXIES", "all"), ("TRUSTED_PROXIES", "-1")])
def test_bad_values_are_reported_clearly(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({"PTIBOT_DATA_DIR": str(tmp_path), name: value}, cwd=tmp_path)


def test_cli_reports_configuration_errors_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path,
                            env={"PTIBOT_ENV": "production", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SECRET_KEY" in result.stderr and "Traceback" not in result.stderr


def production_env(**extra: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {"PTIBOT_ENV": "production", "SECRET_KEY": STRONG_SECRET, "DATA_ENCRYPTION_KEYS": Fernet.generate_key()
            .decode(), "DATABASE_URL": "postgres://u:p@db/ptibot", "PUBLIC_BASE_URL": "https://bot.example.mx",
            **extra}


@pytest.mark.parametrize("clabe", [None, "002180700000000001", "0141806550000000"])
def test_production_refuses_the_example_clabe_without_stripe(tmp_path: Path, clabe: str | None) -> None:
    env = production_env(**({"SPEI_CLABE": clabe} if clabe else {}))
    with pytest.raises(ConfigurationError) as error:
        Settings.from_env(env, cwd=tmp_path)
    assert "SPEI_CLABE must be the business's 18-digit CLABE" in str(error.value)
    assert "STRIPE_SECRET_KEY" in str(error.value)


def test_production_with_stripe_or_a_real_clabe_starts(tmp_path: Path) -> None:
    with_stripe = Settings.from_env(production_env(STRIPE_SECRET_KEY="sk_live_x", STRIPE_WEBHOOK_SECRET="whsec_x"),
                                    cwd=tmp_path)
    assert with_stripe.stripe_enabled
    assert Settings.from_env(production_env(SPEI_CLABE="014180655000000017"), cwd=tmp_path).spei_clabe \
        == "014180655000000017"
    # Development keeps the example account, so a fresh clone runs as it is.
    assert Settings.from_env({}, cwd=tmp_path).spei_clabe == "002180700000000001"
