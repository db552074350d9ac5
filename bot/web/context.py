"""What a view needs from the running app: the services built by `create_app`.

Blueprints import this, never `bot.web.app`, so the app factory can import the blueprints without a cycle.
"""

from __future__ import annotations

from flask import Flask

from bot.wiring import Services

EXTENSION = "ptibot"


def services_of(app: Flask) -> Services:
    services: Services = app.extensions[EXTENSION]
    return services
