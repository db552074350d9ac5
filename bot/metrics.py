"""Prometheus metrics: what an operator needs to see the bot is healthy (per process; scrape each one)."""

from __future__ import annotations

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
OUTBOX_DEPTH = Gauge("ptibot_outbox_depth", "Outbound messages waiting to be sent")
OUTBOX_OLDEST = Gauge("ptibot_outbox_oldest_seconds", "Age of the oldest message waiting to be sent")

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Any:
    from bot.app import services_of
    from bot.turns import utcnow
    from storage.models import Message

    services = services_of(current_app)
    with services.database.session_scope() as session:
        depth, oldest = session.execute(select(func.count(), func.min(Message.created_at)).where(
            Message.direction == "out", Message.status.in_(("queued", "sending")))).one()
    OUTBOX_DEPTH.set(depth)
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    OUTBOX_OLDEST.set((utcnow() - oldest).total_seconds() if oldest else 0)
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
