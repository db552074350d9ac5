"""The baseline of `webhooks.py`: a bare Flask app whose one POST route inserts one row and answers 200.

What it measures (when `webhooks.py` drives it): the floor under any webhook on this machine and these
settings: gunicorn, Flask routing, reading the body and one committed INSERT on the *same* database the
bot uses, through the project's own engine setup (`storage.db.Database`: SQLite in WAL mode with
`BEGIN IMMEDIATE` and the in-process writer lock, or the PostgreSQL pool). Why: the bot's webhook does
that plus verification, parsing, the dialog turn and its queries; product throughput divided by this
one says how much of the budget the bot's own work takes, on the same hardware, in the same run.

Serve it like the product: `gunicorn --pythonpath bench "bare_app:create_app()"` with DATABASE_URL (or
PTIBOT_DATA_DIR for the default SQLite file) set. `POST /bare` stores the request body; `GET /healthz`
is there only so the benchmark knows when the server is up. Create the table first with
`python bench/bare_app.py --create-table` (or `create_table(url)`): two workers creating it at import
would race on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, Response, request
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, Table, insert

from bot.config import normalise_database_url
from storage.db import Database

METADATA = MetaData()
HITS = Table(
    "bench_bare_hits", METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def database_url_from_env() -> str:
    """DATABASE_URL, else the bot's default SQLite file in PTIBOT_DATA_DIR (as `bot.config` resolves it)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return normalise_database_url(url)
    data_dir = Path(os.environ.get("PTIBOT_DATA_DIR") or "var").resolve()
    return f"sqlite:///{data_dir / 'ptibot.sqlite3'}"


def create_table(url: str) -> None:
    database = Database(normalise_database_url(url))
    try:
        METADATA.create_all(database.engine)
    finally:
        database.dispose()


def create_app() -> Flask:
    database = Database(database_url_from_env())
    app = Flask(__name__)

    @app.post("/bare")
    def bare() -> Response:
        with database.session_scope() as session:
            session.execute(insert(HITS).values(body=request.get_data(), created_at=datetime.now(UTC)))
        return Response("ok", mimetype="text/plain")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Baseline app for bench/webhooks.py: POST /bare inserts one row into bench_bare_hits "
                    "on the bot's database. Serve it with gunicorn \"bare_app:create_app()\"; this command "
                    "only creates its table.")
    parser.add_argument("--create-table", action="store_true",
                        help="create bench_bare_hits on DATABASE_URL (or the default SQLite file) and exit")
    args = parser.parse_args(argv)
    if not args.create_table:
        parser.print_help()
        return 2
    create_table(database_url_from_env())
    print("bench_bare_hits is ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
