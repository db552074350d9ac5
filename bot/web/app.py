"""The Flask application factory: wiring, blueprints and error handlers."""

from __future__ import annotations

import gc
import logging
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from bot.config import Settings
from bot.web.context import EXTENSION
from bot.web.sessions import ActionSafeSessionInterface
from bot.wiring import Services, build_services
from storage.db import OUTAGE_ERRORS

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the web app. Gunicorn calls it with no arguments: settings then come from the environment."""
    if settings is None:  # gunicorn: configure logging like the CLI does
        from bot.core.logs import configure

        configure()
        settings = Settings.from_env()
    services = services or build_services(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        MAX_CONTENT_LENGTH=11 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Spanish and emoji as they are
    app.session_interface = ActionSafeSessionInterface()
    app.extensions[EXTENSION] = services

    from bot.web import (
        data_export,
        legal_pages,
        limits,
        media_links,
        metrics,
        security_headers,
        stripe_webhook,
        webchat,
        webhooks,
    )
    from bot.web.inbox import bp as inbox
    from bot.web.inbox import readings

    security_headers.init_app(app, settings)
    limits.init_app(app)  # before the blueprints: it bounds the numbers their URLs take
    app.register_blueprint(webchat.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(stripe_webhook.bp)
    app.register_blueprint(legal_pages.bp)
    app.register_blueprint(media_links.bp)
    app.register_blueprint(data_export.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(inbox)
    readings.init_app(app)  # what was read on each document, for the inbox (issue 21)

    @app.errorhandler(413)
    def too_large(error: Exception) -> Any:
        return jsonify(error="That file is too large: the limit is 10 MB. / El archivo es muy grande: "
                             "el límite es 10 MB."), 413

    @app.get("/healthz")
    def healthz() -> Any:
        try:
            services.database.ping()
        except Exception:  # any database failure means "not healthy", whatever its type
            log.exception("health check failed")
            return jsonify(status="unavailable"), 503
        return jsonify(status="ok")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error
        if isinstance(error, OUTAGE_ERRORS):
            # The database is down or restarting: nothing was stored, and the platforms deliver again
            # after a 5xx. One line per request, not a traceback each.
            log.warning("database unavailable for %s %s: %s", request.method, request.path, type(error.orig).__name__)
            response = jsonify(error="We are briefly unavailable. Please try again in a moment.")
            response.headers["Retry-After"] = "5"
            return response, 503
        log.exception("unhandled error")
        return jsonify(error="Something went wrong on our side. Please try again."), 500

    # Everything built so far lives as long as the process: keep it out of the garbage collector's full
    # scans, which otherwise add tens of milliseconds to an unlucky turn now and then.
    gc.collect()
    gc.freeze()
    return app
