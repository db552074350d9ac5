"""Run the Alembic migrations shipped inside the package (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.crypto import Cipher
from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str, cipher: Cipher | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    # Migrations that convert personal values (0014 hashes and encrypts contacts' channel ids) find the keys
    # here; nothing else of the running app reaches them.
    config.attributes["cipher"] = cipher
    return config


def upgrade(database_url: str, revision: str = "head", *, cipher: Cipher | None = None) -> None:
    """Migrate to `revision`. Pass the app's Cipher: a migration that must encrypt existing rows refuses
    to run without it on a database that has such rows (a fresh database needs none)."""
    command.upgrade(alembic_config(database_url, cipher), revision)
    database = Database(database_url)
    try:
        database.checkpoint()  # SQLite: the values a migration replaced leave the write-ahead log at once
    finally:
        database.dispose()


def downgrade(database_url: str, revision: str, *, cipher: Cipher | None = None) -> None:
    command.downgrade(alembic_config(database_url, cipher), revision)
