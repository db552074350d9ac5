"""Prometheus metrics: what an operator needs to see the bot is healthy (per process; scrape each one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select

INBOUND = Counter("ptibot_inbound_messages_total", "Inbound messages stored, by channel", ["channel"])
DUPLICATES = Counter("ptibot_duplicate_deliveries_total", "Redelivered inbound messages ignored", ["channel"])
TURN_SECONDS = Histogram("ptibot_turn_seconds", "Time to store a message and run its turn",
                         buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
SENT = Counter("ptibot_messages_sent_total", "Outbound messages sent, by channel", ["channel"])
SEND_FAILURES = Counter("ptibot_send_failures_total", "Failed send attempts, by channel and outcome",
                        ["channel", "reason"])
REMINDERS = Counter("ptibot_reminders_total", "Payment reminders by outcome (sent, dropped, skipped)", ["status"])
QUEUE_WAIT_SECONDS = Histogram("ptibot_inbound_wait_seconds",
                               "From the webhook's acknowledgement to the start of the message's turn",
                               buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60))
TURN_FAILURES = Counter("ptibot_turn_failures_total", "Queued turns that raised, by outcome (retry, failed)",
                        ["outcome"])
INBOUND_DEPTH = Gauge("ptibot_inbound_queue_depth", "Acknowledged messages waiting for their turn")
INBOUND_OLDEST = Gauge("ptibot_inbound_queue_oldest_seconds", "Age of the oldest message waiting for its turn")
OUTBOX_DEPTH = Gauge("ptibot_outbox_depth", "Outbound messages waiting to be sent")
OUTBOX_OLDEST = Gauge("ptibot_outbox_oldest_seconds", "Age of the oldest message waiting to be sent")

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Any:
    from bot.app import services_of
    from bot.turns import utcnow
    from storage.intake import InboundQueueRepository
    from storage.models import Message

    services = services_of(current_app)
    now = utcnow()
    with services.database.session_scope() as session:
        depth, oldest = session.execute(select(func.count(), func.min(Message.created_at)).where(
            Message.direction == "out", Message.status.in_(("queued", "sending")))).one()
        waiting, first_waiting = InboundQueueRepository(session, services.cipher).depth()
    OUTBOX_DEPTH.set(depth)
    OUTBOX_OLDEST.set(_age(now, oldest))
    INBOUND_DEPTH.set(waiting)
    INBOUND_OLDEST.set(_age(now, first_waiting))
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _age(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # SQLite hands back naive UTC from an aggregate
        since = since.replace(tzinfo=UTC)
    return max(0.0, (now - since).total_seconds())
