"""Explicit wiring: build the database, cipher, engine, turn service, senders and worker from `Settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.channels import Sender
from bot.channels.webchat import CHANNEL as WEBCHAT
from bot.channels.webchat import InlineSender
from bot.config import Settings
from bot.engine import Engine
from bot.turns import TurnService
from bot.worker import Dispatcher, Worker
from flows.registry import FLOWS
from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore


@dataclass
class Services:
    settings: Settings
    database: Database
    cipher: Cipher
    engine: Engine
    turns: TurnService
    documents: DocumentStore
    senders: dict[str, Sender] = field(default_factory=dict)
    worker: Worker | None = None

    def close(self) -> None:
        if self.worker:
            self.worker.stop()
        self.database.dispose()


def build_senders(settings: Settings) -> dict[str, Sender]:
    senders: dict[str, Sender] = {WEBCHAT: InlineSender(), "cli": InlineSender()}
    if settings.telegram_enabled and settings.telegram_bot_token:
        from bot.channels.telegram import CHANNEL, TelegramSender

        senders[CHANNEL] = TelegramSender(settings.telegram_bot_token, settings.telegram_api_base_url)
    return senders


def build_services(settings: Settings) -> Services:
    database = Database(settings.database_url)
    cipher = Cipher(settings.data_encryption_keys)
    engine = Engine(FLOWS, resume_after=timedelta(minutes=settings.resume_after_minutes),
                    base_url=settings.base_url, review_days=settings.case_review_days)
    senders = build_senders(settings)
    turns = TurnService(database, cipher, engine, settings.default_locale)
    worker = Worker(Dispatcher(database, cipher, senders))
    turns.on_queued = worker.wake
    documents = DocumentStore(settings.data_dir / "documents", cipher)
    return Services(settings, database, cipher, engine, turns, documents, senders, worker)
