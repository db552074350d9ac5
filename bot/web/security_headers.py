"""Security headers on every response, and the client's real address behind the load balancer.

The pages run no inline script (each page's script is a file under static/), so the policy can forbid it;
inline styles stay allowed, they cannot run code. Nothing may frame a page: the web chat asks for
documents and the inbox acts on clicks.
"""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.config import Settings

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
))
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask, settings: Settings) -> None:
    """Trust `X-Forwarded-*` from exactly `TRUSTED_PROXIES` hops, and add the headers to every response."""
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    https_origin = settings.is_production and (settings.public_base_url or "").startswith("https://")

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure or https_origin:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
