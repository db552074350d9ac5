"""The WSGI entry point the Procfile names (`gunicorn "bot.web.app:create_app()"`); the app itself is `bot.web`."""

from bot.web.app import create_app

__all__ = ["create_app"]
