"""The `ptibot` command: serve, worker, db upgrade, chat, flow diagram."""

from __future__ import annotations

import argparse
import getpass
import logging
import secrets
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TextIO

from bot.config import Settings
from bot.errors import ConfigurationError

log = logging.getLogger("ptibot")


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as error:
        print(f"ptibot: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def _configure_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "httpcore", "telegram", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from bot.app import create_app
    from bot.services import build_services
    from storage.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    services = build_services(settings)
    app = create_app(settings, services)
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
    from bot.services import build_services

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
    from bot.messages import Inbound
    from bot.services import build_services
    from bot.worker import Dispatcher
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
