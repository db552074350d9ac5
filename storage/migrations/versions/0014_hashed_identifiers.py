"""personal identifiers at rest: contacts' channel ids keyed-hashed and encrypted, media jobs without a copy

`contacts.external_id` held WhatsApp numbers and Telegram chat ids in clear. It becomes `external_hash` (the
keyed hash every lookup and the unique constraint use; renamed in place, so SQLite keeps the table and the
rows that reference it) beside `external_ref`, the id encrypted for the senders. `media_jobs.contact_ref`, a
second copy, goes: the worker reads the contact through the job's message. Provider ids that began with the
chat id (`<chat>:<n>`) keep their tail after a short keyed hash of the chat.

Hashing and encrypting existing rows needs the keys, which a migration does not have: `storage.migrate.upgrade`
hands the Cipher over in the Alembic config (`ptibot db upgrade`, `serve` and every command that migrates do).
Without it this step refuses to run on a database that holds contacts, rather than leave ids in clear.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

NEEDS_KEYS = ("migration 0014 hashes and encrypts the channel ids of existing contacts and needs the keys: "
              "run it with `ptibot db upgrade` (SECRET_KEY and DATA_ENCRYPTION_KEYS set as the app uses them)")


def _cipher() -> Any:
    return context.config.attributes.get("cipher")


PROVIDER_HASH_DIGITS = 16  # as storage.conversations.sealed_provider_id writes them

# Provider ids `<chat>:<n>` (Telegram's sent messages, the web chat's messages) named the chat in clear: the
# chat becomes the start of its keyed hash, as storage.conversations.sealed_provider_id does from now on.
_SEAL = {
    "messages": "UPDATE messages SET provider_id = :short || substr(provider_id, :colon) WHERE "
                "substr(provider_id, 1, :colon) = :prefix AND conversation_id IN "
                "(SELECT id FROM conversations WHERE contact_id = :contact)",
    "send_attempts": "UPDATE send_attempts SET provider_id = :short || substr(provider_id, :colon) WHERE "
                     "substr(provider_id, 1, :colon) = :prefix AND message_id IN (SELECT m.id FROM messages m "
                     "JOIN conversations c ON c.id = m.conversation_id WHERE c.contact_id = :contact)",
}


def _seal_provider_ids(bind: Any, contact_id: int, external_id: str, short: str) -> None:
    values = {"short": short, "colon": len(external_id) + 1, "prefix": external_id + ":", "contact": contact_id}
    for statement in _SEAL.values():
        bind.execute(sa.text(statement), values)


def upgrade() -> None:
    bind = op.get_bind()
    # Renamed in place, never SQLite's copy-and-swap: dropping `contacts` would cascade to every conversation.
    op.execute("ALTER TABLE contacts RENAME COLUMN external_id TO external_hash")
    op.add_column("contacts", sa.Column("external_ref", sa.LargeBinary(), nullable=True))
    rows = bind.execute(sa.text("SELECT id, external_hash FROM contacts WHERE external_ref IS NULL")).all()
    cipher = _cipher()
    if rows and cipher is None:
        raise RuntimeError(NEEDS_KEYS)
    update = sa.text("UPDATE contacts SET external_hash = :hash, external_ref = :ref WHERE id = :id")
    for contact_id, external_id in rows:
        hashed = cipher.identifier_hash(external_id)
        bind.execute(update, {"id": contact_id, "hash": hashed,
                              "ref": cipher.encrypt(external_id.encode("utf-8", "surrogatepass"))})
        _seal_provider_ids(bind, contact_id, external_id, hashed[:PROVIDER_HASH_DIGITS])
    # media_jobs is referenced by no table, so SQLite's copy-and-swap of it cascades nowhere.
    with op.batch_alter_table("media_jobs") as batch:
        batch.drop_column("contact_ref")


def downgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("media_jobs") as batch:
        batch.add_column(sa.Column("contact_ref", sa.String(length=128), nullable=True))
    rows = bind.execute(sa.text("SELECT id, external_ref FROM contacts WHERE external_ref IS NOT NULL")).all()
    cipher = _cipher()
    if rows and cipher is None:
        raise RuntimeError(NEEDS_KEYS.replace("hashes and encrypts", "decrypts"))
    for contact_id, token in rows:
        external_id = cipher.decrypt(bytes(token)).decode("utf-8", "surrogatepass")
        short = cipher.identifier_hash(external_id)[:PROVIDER_HASH_DIGITS]
        values = {"short": external_id, "colon": PROVIDER_HASH_DIGITS + 1, "prefix": short + ":",
                  "contact": contact_id}
        for statement in _SEAL.values():
            bind.execute(sa.text(statement), values)
        bind.execute(sa.text("UPDATE contacts SET external_hash = :id_ WHERE id = :id"),
                     {"id": contact_id, "id_": external_id})
    bind.execute(sa.text(
        "UPDATE media_jobs SET contact_ref = (SELECT c.external_hash FROM messages m JOIN conversations v ON "
        "v.id = m.conversation_id JOIN contacts c ON c.id = v.contact_id WHERE m.id = media_jobs.message_id)"))
    bind.execute(sa.text("DELETE FROM media_jobs WHERE contact_ref IS NULL"))
    with op.batch_alter_table("media_jobs") as batch:
        batch.alter_column("contact_ref", existing_type=sa.String(length=128), nullable=False)
    # In place, never SQLite's copy-and-swap: dropping `contacts` would cascade to every conversation.
    op.execute("ALTER TABLE contacts DROP COLUMN external_ref")
    op.execute("ALTER TABLE contacts RENAME COLUMN external_hash TO external_id")
