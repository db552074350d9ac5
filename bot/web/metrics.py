"""GET /metrics: the Prometheus scrape endpoint, with the queue depths read at scrape time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.core.clock import utcnow
from bot.core.metrics import INBOUND_DEPTH, INBOUND_OLDEST, OUTBOX_DEPTH, OUTBOX_OLDEST
from bot.web.context import services_of
from storage.inbound_queue import InboundQueueRepository
from storage.messages import MessageRepository

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Any:
    services = services_of(current_app)
    now = utcnow()
    with services.database.session_scope() as session:
        depth, oldest = MessageRepository(session, services.cipher).outbox_backlog()
        waiting, first_waiting = InboundQueueRepository(session, services.cipher).depth()
    OUTBOX_DEPTH.set(depth)
    OUTBOX_OLDEST.set(_age(now, oldest))
    INBOUND_DEPTH.set(waiting)
    INBOUND_OLDEST.set(_age(now, first_waiting))
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
