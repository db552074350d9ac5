"""The `ptibot` command (also `python -m bot`): serve, worker, db, chat, staff, telegram, keys, flow.

Built with click, as Flask's own `flask` command is. The groups are plain click groups, not `FlaskGroup`:
no command needs `current_app` (`serve` builds its app explicitly), `ptibot` must run without FLASK_APP,
and FlaskGroup would load `.env` into `os.environ`, which only `bot.config` reads. Imports of the layers
below happen inside each command, so `ptibot --help` stays fast and builds nothing.
"""

from __future__ import annotations

import getpass
import logging
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn

import click

from bot.config import Settings
from bot.core.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.wiring import Services
    from storage.staff import StaffRepository

log = logging.getLogger("ptibot")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def _fail(message: str, exit_code: int = 1) -> NoReturn:
    """Refuse with `ptibot: <message>` on stderr and `exit_code` (2: fix the setup first), no traceback."""
    click.echo(f"ptibot: {message}", err=True)
    raise click.exceptions.Exit(exit_code)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as error:
        _fail(str(error), exit_code=2)


def _migrate(settings: Settings) -> None:
    """Migrate to the newest schema, with the keys: a migration that hashes and encrypts personal values
    already stored (0014, contacts' channel ids) needs them."""
    from storage.crypto import Cipher
    from storage.migrate import upgrade

    upgrade(settings.database_url, cipher=Cipher(settings.data_encryption_keys, search_key=settings.secret_key))


@click.group("ptibot", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
def cli(verbose: bool) -> None:
    """PTI Bot: IMSS enrollment assistant."""
    from bot.core.logs import configure

    configure(logging.DEBUG if verbose else logging.INFO)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run `ptibot` with `argv` (default: the command line) and exit with the command's status."""
    cli.main(args=argv, prog_name="ptibot")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="the address to listen on")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="the port to listen on  [default: the PORT setting, else 8000]")
@click.option("--no-worker", is_flag=True, help="do not start the in-process worker")
def serve_command(host: str, port: int | None, no_worker: bool) -> None:
    """Migrate, then run the web app and the worker."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from bot.web.app import create_app
    from bot.web.inbox.auth import ensure_first_admin
    from bot.wiring import build_services

    # Links in messages point where this server listens (when PUBLIC_BASE_URL is unset), not at port 8000.
    settings = replace(_settings(), host=host)
    settings = replace(settings, port=port or settings.port)
    port = settings.port
    _migrate(settings)
    services = build_services(settings)
    app = create_app(settings, services)
    password = ensure_first_admin(services)
    if password:
        click.echo(f"Created the first inbox admin: admin@localhost with one-time password {password} "
                   "(you will be asked to change it at the first login)")
    class QuietHandler(WSGIRequestHandler):
        """No `Server: Werkzeug/x Python/y` banner: versions only help someone looking for a known hole."""

        def version_string(self) -> str:
            return "PTI Bot"

    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    if services.worker and not no_worker:
        # Webhooks and staff replies wake it in-process; what a `ptibot` command queues waits for its poll.
        services.worker.start_thread(watch_database=False)
    click.echo(f"PTI Bot is running: open http://{host}:{port}/ to chat with it (Ctrl+C to stop)")
    # shutdown() waits for serve_forever() to return, so it must not run on the serving thread itself.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


@cli.command("worker")
def worker_command() -> None:
    """Run the background worker alone."""
    from bot.wiring import build_services

    services = build_services(_settings())
    assert services.worker is not None
    signal.signal(signal.SIGTERM, lambda *_: services.worker.stop() if services.worker else None)
    try:
        services.worker.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


@cli.group("db")
def db_group() -> None:
    """Database commands."""


@db_group.command("upgrade")
def db_upgrade_command() -> None:
    """Migrate to the newest schema."""
    _migrate(_settings())
    click.echo("database is up to date")


@cli.command("chat")
@click.option("--contact", metavar="NAME", default=lambda: f"terminal-{getpass.getuser()}",
              show_default="terminal-<your user name>",
              help="who you are to the bot (keeps your conversation between runs)")
def chat_command(contact: str) -> None:
    """Talk to the bot in the terminal."""
    from bot.core.messages import Inbound
    from bot.wiring import build_services
    from bot.worker.outbox import Dispatcher

    settings = _settings()
    _migrate(settings)
    services = build_services(settings)
    dispatcher = Dispatcher(services.database, services.cipher, services.senders)
    buttons: list[str] = []

    def turn(text: str) -> None:
        nonlocal buttons
        payload = None
        if text.strip().isdigit() and 0 < int(text) <= len(buttons):
            payload = buttons[int(text) - 1]
        inbound = Inbound("cli", contact, secrets.token_hex(12), text=text if payload is None else "",
                          payload=payload)
        outcome = services.turns.handle(inbound)
        for reply in outcome.replies:
            click.echo(f"\nbot> {reply.outbound.text}")
            if reply.outbound.buttons:
                buttons = [b.payload for b in reply.outbound.buttons]
                for number, button in enumerate(reply.outbound.buttons, 1):
                    click.echo(f"   [{number}] {button.title}")
        dispatcher.run_once()

    click.echo("Chat with PTI Bot (Ctrl+D to leave).")
    turn("hola")
    try:
        for line in sys.stdin:
            if line.strip():
                turn(line.strip())
            click.echo("you> ", nl=False)
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


@cli.group("staff")
def staff_group() -> None:
    """Inbox accounts."""


@contextmanager
def _staff_accounts(settings: Settings) -> Iterator[StaffRepository]:
    """The staff repository in one transaction, on a database migrated to the newest schema."""
    from storage.db import Database
    from storage.staff import StaffRepository

    _migrate(settings)
    database = Database(settings.database_url)
    try:
        with database.session_scope() as session:
            yield StaffRepository(session)
    finally:
        database.dispose()


@staff_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "agent", "manager"]), default="agent", show_default=True,
              help="manager: reads the dashboard and the conversations, acts on nothing")
@click.option("--name", default="", help="the person's name, shown in the inbox")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def staff_add_command(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a staff account (the password is asked for, or read from standard input)."""
    from bot.core.clock import utcnow
    from bot.web.inbox.auth import MIN_PASSWORD
    from storage.staff import AccountExists

    settings = _settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True)
    if len(password) < MIN_PASSWORD:
        _fail(f"the password needs at least {MIN_PASSWORD} characters", exit_code=2)
    try:
        with _staff_accounts(settings) as staff:
            staff.create(email, password, role, utcnow(), name=name)
    except AccountExists:
        _fail(f"{email} already has an account")
    click.echo(f"added {email} as {role}")


@staff_group.command("list")
def staff_list_command() -> None:
    """List staff accounts."""
    with _staff_accounts(_settings()) as staff:
        for person in staff.all():
            click.echo(f"{person.email}\t{person.role}\t{'active' if person.active else 'disabled'}")


@staff_group.command("disable")
@click.argument("email")
def staff_disable_command(email: str) -> None:
    """Disable a staff account."""
    with _staff_accounts(_settings()) as staff:
        if not staff.set_active(email, False):
            _fail(f"no staff with email {email}")
    click.echo(f"disabled {email}")


@cli.group("keys")
def keys_group() -> None:
    """Encryption keys."""


@keys_group.command("rotate")
def keys_rotate_command() -> None:
    """Re-encrypt all data and documents under the newest key.

    The newest key is the first of DATA_ENCRYPTION_KEYS. Resumable: if interrupted, run it again.
    """
    from bot.wiring import build_services
    from storage.rotation import rotate_keys

    services = build_services(_settings())
    try:
        counts = rotate_keys(services.database, services.cipher, services.documents,
                             progress=lambda table, count: click.echo(f"{table}: {count} re-encrypted"))
    finally:
        services.close()
    click.echo(f"done: {sum(counts.values())} items under the newest key; older keys can now be removed")


@cli.group("telegram")
def telegram_group() -> None:
    """Telegram webhook and long polling."""


def _telegram(settings: Settings) -> Any:
    from bot.channels.telegram import TelegramSender

    if not settings.telegram_bot_token:
        _fail("set TELEGRAM_BOT_TOKEN (and TELEGRAM_WEBHOOK_SECRET) first", exit_code=2)
    return TelegramSender(settings.telegram_bot_token, settings.telegram_api_base_url)


@telegram_group.command("set-webhook")
def telegram_set_webhook_command() -> None:
    """Register PUBLIC_BASE_URL/webhooks/telegram with the secret."""
    settings = _settings()
    telegram = _telegram(settings)
    if not settings.public_base_url:
        _fail("set PUBLIC_BASE_URL to the public https origin first", exit_code=2)
    url = f"{settings.public_base_url}/webhooks/telegram"
    telegram.bot_call(lambda bot: bot.set_webhook(
        url=url, secret_token=settings.telegram_webhook_secret, allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False))
    click.echo(f"webhook set to {url}")


@telegram_group.command("delete-webhook")
def telegram_delete_webhook_command() -> None:
    """Remove the webhook."""
    _telegram(_settings()).bot_call(lambda bot: bot.delete_webhook())
    click.echo("webhook deleted")


@telegram_group.command("poll")
@click.option("--once", is_flag=True, help="handle what is pending, send the replies, exit")
def telegram_poll_command(once: bool) -> None:
    """Long polling into the same engine (development)."""
    from bot.channels.telegram import parse_update
    from bot.core.errors import BadRequest, SendError
    from bot.wiring import build_services

    settings = _settings()
    telegram = _telegram(settings)
    _migrate(settings)
    services = build_services(settings)
    assert services.worker is not None
    services.worker.start_thread()
    telegram.bot_call(lambda bot: bot.delete_webhook())  # getUpdates is refused while a webhook is set
    offset = 0
    click.echo("polling Telegram (Ctrl+C to stop)")
    try:
        while True:
            try:
                updates = telegram.bot_call(lambda bot, start=offset: bot.get_updates(
                    offset=start, timeout=1 if once else 25, allowed_updates=ALLOWED_UPDATES))
            except SendError as error:
                log.warning("getUpdates failed: %s", error)
                time.sleep(2)
                continue
            for update in updates:
                offset = update.update_id + 1
                try:
                    inbound = parse_update(update.to_dict())
                except BadRequest:
                    continue
                if inbound is not None:
                    services.turns.handle(inbound)
            if once:
                deadline = time.monotonic() + 10
                while services.worker and time.monotonic() < deadline and _outbox_depth(services):
                    time.sleep(0.1)
                return
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


def _outbox_depth(services: Services) -> int:
    from storage.messages import MessageRepository

    with services.database.session_scope() as session:
        depth: int = MessageRepository(session, services.cipher).outbox_depth()
        return depth


@cli.group("constants")
def constants_group() -> None:
    """Dated IMSS values (flows/data/imss_*.toml)."""


@constants_group.command("check")
@click.option("--days", default=60, show_default=True, help="report what expires within this many days")
@click.option("--today", "today_text", metavar="YYYY-MM-DD", default=None,
              help="check as of this date (default: today in BUSINESS_TIMEZONE)")
def constants_check_command(days: int, today_text: str | None) -> None:
    """List the dated values that expire within DAYS with no next entry; exit 1 if there is any."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from bot.core.clock import utcnow
    from flows.rules.imss import expiring, today_in

    if today_text:
        try:
            today = date.fromisoformat(today_text)
        except ValueError:
            _fail(f"--today must be YYYY-MM-DD, not {today_text!r}", exit_code=2)
    else:
        today = today_in(utcnow(), ZoneInfo(_settings().business_timezone))
    found = expiring(today, days)
    for entry in found:
        left = (entry.valid_until - today).days
        when = f"expired {-left} days ago" if left < 0 else f"expires in {left} days"
        click.echo(f"{entry.name}: valid until {entry.valid_until.isoformat()} ({when}); "
                   f"last source: {entry.source}")
    if not found:
        click.echo(f"no dated value expires within {days} days of {today.isoformat()}")
        return
    click.echo("add next year's values to flows/data (README: \"Next year's IMSS values\")")
    raise click.exceptions.Exit(1)


@cli.group("flow")
def flow_group() -> None:
    """Dialog flows."""


@flow_group.command("diagram")
def flow_diagram_command() -> None:
    """Print the Mermaid state diagram."""
    from flows.diagram import mermaid
    from flows.registry import FLOWS

    click.echo(mermaid(FLOWS), nl=False)
