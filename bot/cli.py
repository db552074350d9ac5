"""The `ptibot` command: serve, worker, db upgrade, chat, flow diagram."""

from __future__ import annotations

import argparse
import getpass
import logging
import secrets
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from bot.config import Settings
from bot.core.errors import ConfigurationError

log = logging.getLogger("ptibot")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as error:
        print(f"ptibot: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def _configure_logging(verbose: bool = False) -> None:
    from bot.core.logs import configure

    configure(logging.DEBUG if verbose else logging.INFO)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from bot.web.app import create_app
    from bot.wiring import build_services
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    services = build_services(settings)
    app = create_app(settings, services)
    from bot.web.inbox.auth import ensure_first_admin

    password = ensure_first_admin(services)
    if password:
        print(f"Created the first inbox admin: admin@localhost with one-time password {password} "
              "(you will be asked to change it at the first login)", flush=True)
    port = args.port or settings.port
    server = make_server(args.host, port, app, threaded=True)
    if services.worker and not args.no_worker:
        services.worker.start_thread()
    print(f"PTI Bot is running: open http://{args.host}:{port}/ to chat with it (Ctrl+C to stop)",
          flush=True)
    # shutdown() waits for serve_forever() to return, so it must not run on the serving thread itself.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
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
    return 0


def cmd_chat(args: argparse.Namespace, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Talk to the bot in the terminal through the same turn service as every channel."""
    from bot.core.messages import Inbound
    from bot.wiring import build_services
    from bot.worker.outbox import Dispatcher
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    services = build_services(settings)
    dispatcher = Dispatcher(services.database, services.cipher, services.senders)
    buttons: list[str] = []

    def turn(text: str) -> None:
        nonlocal buttons
        payload = None
        if text.strip().isdigit() and 0 < int(text) <= len(buttons):
            payload = buttons[int(text) - 1]
        inbound = Inbound("cli", args.contact, secrets.token_hex(12), text=text if payload is None else "",
                          payload=payload)
        outcome = services.turns.handle(inbound)
        for reply in outcome.replies:
            print(f"\nbot> {reply.outbound.text}", file=stdout)
            if reply.outbound.buttons:
                buttons = [b.payload for b in reply.outbound.buttons]
                for number, button in enumerate(reply.outbound.buttons, 1):
                    print(f"   [{number}] {button.title}", file=stdout)
        dispatcher.run_once()
        stdout.flush()

    print("Chat with PTI Bot (Ctrl+D to leave).", file=stdout)
    turn("hola")
    try:
        for line in stdin:
            if line.strip():
                turn(line.strip())
            print("you> ", end="", file=stdout, flush=True)
    except KeyboardInterrupt:
        pass
    services.close()
    return 0


def cmd_staff(args: argparse.Namespace, stdin: TextIO = sys.stdin) -> int:
    """Manage inbox accounts: add (password from a prompt or stdin), list, disable."""
    from bot.core.clock import utcnow
    from bot.web.inbox.auth import MIN_PASSWORD
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.staff import AccountExists, StaffRepository

    settings = _settings()
    upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session_scope() as session:
            staff = StaffRepository(session)
            if args.staff_command == "list":
                for person in staff.all():
                    state = "active" if person.active else "disabled"
                    print(f"{person.email}\t{person.role}\t{state}")
                return 0
            if args.staff_command == "disable":
                if not staff.set_active(args.email, False):
                    print(f"ptibot: no staff with email {args.email}", file=sys.stderr)
                    return 1
                print(f"disabled {args.email}")
                return 0
            password = stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
            if len(password) < MIN_PASSWORD:
                print(f"ptibot: the password needs at least {MIN_PASSWORD} characters", file=sys.stderr)
                return 2
            staff.create(args.email, password, args.role, utcnow(), name=args.name or "")
        print(f"added {args.email} as {args.role}")
        return 0
    except AccountExists:
        print(f"ptibot: {args.email} already has an account", file=sys.stderr)
        return 1
    finally:
        database.dispose()


def cmd_keys(args: argparse.Namespace) -> int:
    """Re-encrypt everything under the first key of DATA_ENCRYPTION_KEYS (resumable: run it again)."""
    from bot.wiring import build_services
    from storage.rotation import rotate_keys

    services = build_services(_settings())
    try:
        counts = rotate_keys(services.database, services.cipher, services.documents,
                             progress=lambda table, count: print(f"{table}: {count} re-encrypted", flush=True))
    finally:
        services.close()
    print(f"done: {sum(counts.values())} items under the newest key; older keys can now be removed")
    return 0


ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def _telegram(settings: Settings) -> Any:
    from bot.channels.telegram import TelegramSender

    if not settings.telegram_bot_token:
        print("ptibot: set TELEGRAM_BOT_TOKEN (and TELEGRAM_WEBHOOK_SECRET) first", file=sys.stderr)
        raise SystemExit(2)
    return TelegramSender(settings.telegram_bot_token, settings.telegram_api_base_url)


def cmd_telegram(args: argparse.Namespace) -> int:
    """Register or remove the webhook, or long-poll into the same turns for local development."""
    settings = _settings()
    telegram = _telegram(settings)
    if args.telegram_command == "set-webhook":
        if not settings.public_base_url:
            print("ptibot: set PUBLIC_BASE_URL to the public https origin first", file=sys.stderr)
            return 2
        url = f"{settings.public_base_url}/webhooks/telegram"
        telegram.bot_call(lambda bot: bot.set_webhook(
            url=url, secret_token=settings.telegram_webhook_secret, allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False))
        print(f"webhook set to {url}")
        return 0
    if args.telegram_command == "delete-webhook":
        telegram.bot_call(lambda bot: bot.delete_webhook())
        print("webhook deleted")
        return 0
    return _poll(settings, telegram, args.once)


def _poll(settings: Settings, telegram: Any, once: bool) -> int:
    from bot.channels.telegram import parse_update
    from bot.core.errors import BadRequest, SendError
    from bot.wiring import build_services
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    services = build_services(settings)
    assert services.worker is not None
    services.worker.start_thread()
    telegram.bot_call(lambda bot: bot.delete_webhook())  # getUpdates is refused while a webhook is set
    offset = 0
    print("polling Telegram (Ctrl+C to stop)", flush=True)
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
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        services.close()


def _outbox_depth(services: Any) -> int:
    from storage.conversations import MessageRepository

    with services.database.session_scope() as session:
        depth: int = MessageRepository(session, services.cipher).outbox_depth()
        return depth


def cmd_flow_diagram(args: argparse.Namespace) -> int:
    from flows.diagram import mermaid
    from flows.registry import FLOWS

    sys.stdout.write(mermaid(FLOWS))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ptibot", description="PTI Bot: IMSS enrollment assistant.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then run the web app and the worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-worker", action="store_true", help="do not start the in-process worker")
    serve.set_defaults(func=cmd_serve)

    commands.add_parser("worker", help="run the background worker alone").set_defaults(func=cmd_worker)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate to the newest schema").set_defaults(func=cmd_db_upgrade)

    chat = commands.add_parser("chat", help="talk to the bot in the terminal")
    chat.add_argument("--contact", default=f"terminal-{getpass.getuser()}",
                      help="who you are to the bot (keeps your conversation between runs)")
    chat.set_defaults(func=cmd_chat)

    staff = commands.add_parser("staff", help="inbox accounts")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_commands.add_parser("add", help="create a staff account")
    add.add_argument("email")
    add.add_argument("--role", choices=("admin", "agent"), default="agent")
    add.add_argument("--name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    staff_commands.add_parser("list", help="list staff accounts")
    disable = staff_commands.add_parser("disable", help="disable a staff account")
    disable.add_argument("email")
    staff.set_defaults(func=cmd_staff)

    keys = commands.add_parser("keys", help="encryption keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser("rotate", help="re-encrypt all data and documents under the newest key")
    keys.set_defaults(func=cmd_keys)

    telegram = commands.add_parser("telegram", help="Telegram webhook and long polling")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    telegram_commands.add_parser("set-webhook", help="register PUBLIC_BASE_URL/webhooks/telegram with the secret")
    telegram_commands.add_parser("delete-webhook", help="remove the webhook")
    poll = telegram_commands.add_parser("poll", help="long polling into the same engine (development)")
    poll.add_argument("--once", action="store_true", help="handle what is pending, send the replies, exit")
    telegram.set_defaults(func=cmd_telegram)

    flow = commands.add_parser("flow", help="dialog flows")
    flow_commands = flow.add_subparsers(dest="flow_command", required=True)
    flow_commands.add_parser("diagram", help="print the Mermaid state diagram").set_defaults(
        func=cmd_flow_diagram)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    result: int = args.func(args)
    return result
