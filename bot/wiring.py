"""Explicit wiring: build the database, cipher, engine, turn service, senders and worker from `Settings`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from bot.channels import Sender
from bot.channels.webchat import CHANNEL as WEBCHAT
from bot.channels.webchat import InlineSender
from bot.config import Settings
from bot.dialog.engine import Engine
from bot.dialog.hours import BusinessHours
from bot.service.intake import Intake
from bot.service.stripe_checkout import StripeCheckout
from bot.service.turns import TurnService
from bot.worker.document_reading import DocumentReader, InBackground
from bot.worker.inbound import InboundWorker
from bot.worker.loop import Periodic, Worker
from bot.worker.mail import MailJob
from bot.worker.mailer import Mailer
from bot.worker.media_downloads import MediaFetcher, MediaWorker
from bot.worker.memberships import MembershipJob
from bot.worker.outbox import Dispatcher
from bot.worker.payment_reminders import PaymentReminderJob
from bot.worker.reminders import NudgeJob, ReminderJob, Schedule
from bot.worker.retention import RetentionJob
from bot.worker.throttle import Throttle, telegram_throttle, whatsapp_throttle
from flows.registry import FLOWS
from flows.rules.commands import BY_NAME
from storage.crypto import Cipher
from storage.db import Database
from storage.files import DocumentStore, secure_data_dir


@dataclass
class Services:
    settings: Settings
    database: Database
    cipher: Cipher
    engine: Engine
    turns: TurnService
    intake: Intake
    documents: DocumentStore
    senders: dict[str, Sender] = field(default_factory=dict)
    worker: Worker | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, closer: Callable[[], None]) -> None:
        """Something started later (the inbox's database watcher) that must stop when these services do."""
        self.closers.append(closer)

    def close(self) -> None:
        for closer in self.closers:
            closer()
        if self.worker:
            self.worker.stop()
        self.database.dispose()


@dataclass
class Channels:
    """What each configured channel can do for the worker: send, download media, and its rate limits."""

    senders: dict[str, Sender] = field(default_factory=dict)
    fetchers: dict[str, MediaFetcher] = field(default_factory=dict)
    throttles: dict[str, Throttle] = field(default_factory=dict)


def build_channels(settings: Settings, documents: DocumentStore) -> Channels:
    channels = Channels(senders={WEBCHAT: InlineSender(), "cli": InlineSender()})
    if settings.telegram_enabled and settings.telegram_bot_token:
        from bot.channels.telegram import CHANNEL, TelegramSender

        telegram = TelegramSender(settings.telegram_bot_token, settings.telegram_api_base_url, documents.load,
                                  timeout=settings.provider_timeout)
        channels.senders[CHANNEL] = telegram
        channels.fetchers[CHANNEL] = telegram
        channels.throttles[CHANNEL] = telegram_throttle()
    if settings.whatsapp_enabled:
        from bot.channels.whatsapp import CHANNEL as WHATSAPP
        from bot.channels.whatsapp import WhatsAppSender
        from bot.service.links import media_url

        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from
        base = settings.base_url
        whatsapp = WhatsAppSender(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_whatsapp_from,
            settings.twilio_api_base_url,
            status_callback=f"{settings.public_base_url}/webhooks/whatsapp/status" if settings.public_base_url
            else None,
            templates=settings.whatsapp_templates,
            media_url_for=lambda attachment: media_url(settings.secret_key, base, attachment),
            command_words={name: command.words[0] for name, command in BY_NAME.items()},
            https_only=settings.is_production,
            timeout=settings.provider_timeout)
        channels.senders[WHATSAPP] = whatsapp
        channels.fetchers[WHATSAPP] = whatsapp
        channels.throttles[WHATSAPP] = whatsapp_throttle(settings.whatsapp_send_rate)
    return channels


def build_checkout(settings: Settings) -> StripeCheckout | None:
    """Stripe Checkout (card and OXXO) when STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set; else SPEI only."""
    if not settings.stripe_enabled or not settings.stripe_secret_key:
        return None
    return StripeCheckout(settings.stripe_secret_key, settings.stripe_api_base_url, settings.base_url,
                          timeout=settings.provider_timeout)


def build_schedule(settings: Settings) -> Schedule:
    quiet_start, quiet_end = (time.fromisoformat(part.strip()) for part in settings.quiet_hours.split("-"))
    first, second = settings.nudge_after_hours
    return Schedule(ZoneInfo(settings.business_timezone), time.fromisoformat(settings.reminder_hour), quiet_start,
                    quiet_end, (timedelta(hours=first), timedelta(hours=second)))


def build_services(settings: Settings) -> Services:
    secure_data_dir(settings.data_dir)
    database = Database(settings.database_url)
    cipher = Cipher(settings.data_encryption_keys, search_key=settings.secret_key)
    engine = Engine(FLOWS, resume_after=timedelta(minutes=settings.resume_after_minutes),
                    base_url=settings.base_url, review_days=settings.case_review_days,
                    hours=BusinessHours.parse(settings.business_hours, settings.business_timezone))
    documents = DocumentStore(settings.data_dir / "documents", cipher)
    channels = build_channels(settings, documents)
    from bot.service.links import export_url
    from bot.service.payments import SpeiAccount

    turns = TurnService(database, cipher, engine, settings.default_locale, documents=documents,
                        export_link=lambda contact_id: export_url(settings.secret_key, settings.base_url, contact_id),
                        spei=SpeiAccount(settings.spei_clabe, settings.spei_beneficiary, settings.spei_offered),
                        checkout=build_checkout(settings))
    from bot.service.payment_receipts import PaymentReceipts

    turns.payments.receipts = PaymentReceipts(documents, cipher, ZoneInfo(settings.business_timezone),
                                              settings.business_name, settings.mail_from)
    dispatcher = Dispatcher(database, cipher, channels.senders, throttles=channels.throttles,
                            stale_claim=timedelta(seconds=settings.outbox_claim_timeout),
                            concurrency=settings.dispatch_concurrency)
    media = MediaWorker(database, cipher, turns, documents, channels.fetchers)
    reader = DocumentReader(database, cipher, documents, engine)  # reading documents (issue 21), on its own thread
    schedule = build_schedule(settings)
    reminders = ReminderJob(database, cipher, schedule)
    nudges = NudgeJob(database, cipher, schedule)
    unpaid = PaymentReminderJob(database, cipher, schedule)
    memberships = MembershipJob(database, cipher, schedule)
    mailer = Mailer(settings.smtp_url, settings.mail_from or "ptibot@localhost", settings.data_dir / "mail")
    retention = RetentionJob(database, cipher, documents, document_days=settings.retention_document_days,
                             abandoned_days=settings.retention_abandoned_days)
    intake = Intake(database, cipher)
    worker = Worker(dispatcher, turns=InboundWorker(database, cipher, turns),
                    jobs=[media, InBackground(reader), Periodic(MailJob(database, cipher, mailer), 5),
                          Periodic(reminders, 20),
                          Periodic(nudges, 60), Periodic(unpaid, 60), Periodic(memberships, 60),
                          Periodic(retention, 300)])
    intake.on_accepted, turns.on_queued = worker.wake_turns, worker.wake_sends
    reminders.on_queued = nudges.on_queued = unpaid.on_queued = worker.wake
    memberships.on_queued = worker.wake
    reader.on_queued = worker.wake
    return Services(settings, database, cipher, engine, turns, intake, documents, channels.senders, worker)
