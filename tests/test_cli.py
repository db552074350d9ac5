"""The `ptibot` command as an operator types it: every documented command and flag, clear refusals.

Most tests drive the click group in-process with click's `CliRunner`; the commands that run servers and
workers are exercised as real processes in test_processes.py, test_telegram.py and test_inbox.py.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from tests.helpers import TEST_KEY

ROOT = Path(__file__).resolve().parent.parent

COMMANDS = {
    (): ["serve", "worker", "db", "chat", "staff", "telegram", "keys", "flow", "--verbose"],
    ("serve",): ["--host", "--port", "--no-worker"],
    ("db",): ["upgrade"],
    ("chat",): ["--contact NAME"],
    ("staff",): ["add", "list", "disable"],
    ("staff", "add"): ["EMAIL", "--role [admin|agent|manager]", "--password-stdin", "--name"],
    ("staff", "disable"): ["EMAIL"],
    ("telegram",): ["set-webhook", "delete-webhook", "poll"],
    ("telegram", "poll"): ["--once"],
    ("keys",): ["rotate"],
    ("flow",): ["diagram"],
}


@pytest.fixture
def ptibot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner in an empty working directory (no stray `.env`) with only this test's settings, and the
    logging the group callback installs (a handler on the runner's captured stderr) undone afterwards."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):  # DATABASE_URL stays: conftest's `database_url` reads it
        if name.startswith(("PTIBOT_", "TELEGRAM_", "TWILIO_", "SMTP_", "STRIPE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PTIBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", TEST_KEY)
    root = logging.getLogger()
    handlers, levels = root.handlers[:], {name: logging.getLogger(name).level
                                          for name in ["", *logging.root.manager.loggerDict]}
    yield CliRunner()
    root.handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def run(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(cli, list(args), input=stdin, prog_name="ptibot")


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda path: " ".join(path) or "ptibot")
def test_help_lists_every_command_and_flag(ptibot: CliRunner, path: tuple[str, ...]) -> None:
    result = run(ptibot, *path, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: {' '.join(('ptibot', *path))} ")
    for word in COMMANDS[path]:
        assert word in result.stdout


def test_python_m_bot_is_the_same_command() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "-h"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ptibot ") and "serve" in result.stdout


def test_staff_add_from_stdin_then_list_and_disable(ptibot: CliRunner, database_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    added = run(ptibot, "staff", "add", "Luis@Gestoria.mx", "--role", "admin", "--name", "Luis",
                "--password-stdin", stdin="una clave muy larga\n")
    assert added.exit_code == 0, added.output
    assert added.stdout == "added Luis@Gestoria.mx as admin\n"
    assert run(ptibot, "staff", "add", "ana@gestoria.mx", "--password-stdin", stdin="otra clave larga\n"
               ).exit_code == 0
    listed = run(ptibot, "staff", "list")
    assert listed.exit_code == 0
    assert listed.stdout == "ana@gestoria.mx\tagent\tactive\nluis@gestoria.mx\tadmin\tactive\n"
    assert run(ptibot, "staff", "disable", "ana@gestoria.mx").stdout == "disabled ana@gestoria.mx\n"
    assert "ana@gestoria.mx\tagent\tdisabled" in run(ptibot, "staff", "list").stdout


def test_the_password_is_asked_for_without_echo(ptibot: CliRunner, database_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = run(ptibot, "staff", "add", "eva@gestoria.mx", stdin="una clave muy larga\n")
    assert result.exit_code == 0, result.output
    assert "Password: " in result.stdout and "una clave" not in result.stdout


def test_staff_refusals_exit_with_a_clear_message(ptibot: CliRunner, database_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert run(ptibot, "staff", "add", "luis@gestoria.mx", "--password-stdin", stdin="una clave muy larga\n"
               ).exit_code == 0
    duplicate = run(ptibot, "staff", "add", "luis@gestoria.mx", "--password-stdin", stdin="otra clave larga\n")
    assert duplicate.exit_code == 1
    assert duplicate.stderr == "ptibot: luis@gestoria.mx already has an account\n"
    short = run(ptibot, "staff", "add", "corta@gestoria.mx", "--password-stdin", stdin="corta\n")
    assert short.exit_code == 2 and short.stderr.startswith("ptibot: the password needs at least")
    unknown = run(ptibot, "staff", "disable", "nadie@gestoria.mx")
    assert unknown.exit_code == 1 and unknown.stderr == "ptibot: no staff with email nadie@gestoria.mx\n"
    assert run(ptibot, "staff", "list").stdout == "luis@gestoria.mx\tagent\tactive\n"


def test_db_upgrade_on_a_fresh_data_dir(ptibot: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the default: SQLite in the data dir
    assert not (tmp_path / "data").exists()
    for _ in range(2):  # and again: already at head is fine
        result = run(ptibot, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert result.stdout == "database is up to date\n"
    with sqlite3.connect(tmp_path / "data" / "ptibot.sqlite3") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alembic_version", "staff"} <= tables


@pytest.mark.parametrize(("args", "error"), [
    (("serve", "--bogus"), "No such option '--bogus'"),
    (("--bogus",), "No such option '--bogus'"),
    (("serve", "--port", "eighty"), "'eighty' is not a valid integer range"),
    (("staff", "add"), "Missing argument 'EMAIL'"),
    (("staff", "add", "eva@gestoria.mx", "--role", "boss"), "'boss' is not one of 'admin', 'agent', 'manager'"),
    (("db", "downgrade"), "No such command 'downgrade'"),
    ((), ""),
])
def test_a_wrong_command_line_fails_with_usage(ptibot: CliRunner, args: tuple[str, ...], error: str) -> None:
    result = run(ptibot, *args)
    assert result.exit_code == 2
    assert result.output.startswith("Usage: ptibot") and error in result.output
    assert not (Path.cwd() / "data").exists()  # refused before touching anything


def test_a_configuration_error_is_one_line_and_exit_2(ptibot: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTIBOT_ENV", "production")
    result = run(ptibot, "db", "upgrade")
    assert result.exit_code == 2
    assert result.stderr.startswith("ptibot: PTIBOT_ENV=production: missing required settings:")
    assert result.stderr.count("\n") == 1


def test_telegram_commands_need_a_token(ptibot: CliRunner) -> None:
    for command in ("set-webhook", "delete-webhook", "poll"):
        result = run(ptibot, "telegram", command)
        assert result.exit_code == 2
        assert result.stderr == "ptibot: set TELEGRAM_BOT_TOKEN (and TELEGRAM_WEBHOOK_SECRET) first\n"
