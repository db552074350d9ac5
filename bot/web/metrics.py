"""GET /metrics: the Prometheus scrape endpoint, with the queue depths read at scrape time.

With `METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>`; without it, metrics answer
only in development and do not exist in production.
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, request
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
    token = services.settings.metrics_token
    if token is None:
        if services.settings.is_production:
            abort(404)
    elif not _bearer_matches(request.headers.get("Authorization", ""), token):
        return Response("unauthorized\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    now = utcnow()
    with services.database.session_scope() as session:
        depth, oldest = MessageRepository(session, services.cipher).outbox_backlog()
        waiting, first_waiting = InboundQueueRepository(session, services.cipher).depth()
    OUTBOX_DEPTH.set(depth)
    OUTBOX_OLDEST.set(_age(now, oldest))
    INBOUND_DEPTH.set(waiting)
    INBOUND_OLDEST.set(_age(now, first_waiting))
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
