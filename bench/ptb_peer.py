"""The peer `replies.py` compares with: a plain python-telegram-bot Application, as its examples build one.

A ConversationHandler (menu → benefits → detail, and back) with PicklePersistence, fed by its own webhook
server (a small asyncio HTTP/1.1 server in the Application's event loop, as PTB's `customwebhookbot` example
feeds `application.update_queue`; PTB's `run_webhook` needs tornado, which this project does not ship).
It answers each move of the bench's script with as many messages as PTI Bot does (the last one with
inline buttons), sends them one after another, and handles one update at a time (PTB's default).

Run by replies.py: `python bench/ptb_peer.py --port P --api URL --token T --secret S --data DIR`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)

MENU, BENEFITS, DETAIL = range(3)


def keyboard(*titles: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(title, callback_data=title)] for title in titles])


MAIN = keyboard("Inscribirme", "Servicio", "Beneficios", "Requisitos", "Costos", "Estado", "Recordatorios",
                "Asesor")
BENEFIT_LIST = keyboard("Médico", "Maternidad", "Accidentes", "Invalidez", "Retiro", "Guardería", "Infonavit",
                        "Más", "Menú")
DETAIL_KEYS = keyboard("Más", "Inscribirme", "Menú")
COST_KEYS = keyboard("Inscribirme", "Asesor", "Menú")


async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, "¡Hola! Te ayudo a inscribirte al IMSS.")
    await context.bot.send_message(update.effective_chat.id, "¿Qué quieres hacer?", reply_markup=MAIN)
    return MENU


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, "¿Qué quieres hacer?", reply_markup=MAIN)
    return MENU


async def benefits(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, "Estos son los beneficios:", reply_markup=BENEFIT_LIST)
    return BENEFITS


async def detail(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, "Atención médica para ti.", reply_markup=DETAIL_KEYS)
    return DETAIL


async def costs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    assert update.effective_chat is not None
    chat = update.effective_chat.id
    await context.bot.send_message(chat, "La cuota depende de tu ingreso.")
    await context.bot.send_message(chat, "Por ejemplo, con 9,000 al mes pagarías unos 1,200.")
    await context.bot.send_message(chat, "¿Quieres inscribirte?", reply_markup=COST_KEYS)
    return MENU


def on(pattern: str, callback: Any) -> Any:
    """A text handler (typed loosely: PTB's generics do not unify across a list of handlers)."""
    return MessageHandler(filters.TEXT & filters.Regex(pattern), callback)


def conversation() -> ConversationHandler[Any]:
    back_to_menu = on(r"(?i)^men[uú]$", menu)
    return ConversationHandler(
        entry_points=[on(r"(?i)^hola", greet), back_to_menu],
        states={
            MENU: [on(r"(?i)^hola", greet), back_to_menu, on(r"^3$", benefits), on(r"(?i)cu[aá]nto cuesta", costs)],
            BENEFITS: [on(r"^1$", detail), back_to_menu],
            DETAIL: [on(r"(?i)^atr[aá]s$", benefits), back_to_menu],
        },
        fallbacks=[on(r".", menu)],
        name="pti", persistent=True,
    )


class Webhook:
    """POST /webhook → `application.update_queue`, 200 at once; GET /healthz → 200. Keep-alive HTTP/1.1."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], secret: str) -> None:
        self.application, self.secret = application, secret

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {name.strip().lower(): value.strip()
                           for name, _, value in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                status = 200
                if method == "POST" and path == "/webhook":
                    if headers.get("x-telegram-bot-api-secret-token") != self.secret:
                        status = 403
                    else:
                        await self.application.update_queue.put(
                            Update.de_json(json.loads(body), self.application.bot))
                elif not (method == "GET" and path == "/healthz"):
                    status = 404
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
                             .encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def run(args: argparse.Namespace) -> None:
    persistence = PicklePersistence(filepath=Path(args.data) / "peer.pickle")
    application = (Application.builder().token(args.token).base_url(f"{args.api}/bot")
                   .base_file_url(f"{args.api}/file/bot").persistence(persistence).updater(None).build())
    application.add_handler(conversation())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with application:
        await application.start()
        server = await asyncio.start_server(Webhook(application, args.secret).serve, "127.0.0.1", args.port)
        print("peer ready", flush=True)
        async with server:
            await stop.wait()
        await application.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", required=True, help="Bot API origin (the bench's loopback fake)")
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--data", required=True, help="directory for the pickle file")
    asyncio.run(run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
