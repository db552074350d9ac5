"""A plain (non-editable) install is the product: the wheel carries every sub-package and data file, and
the app and the CLI start from it with the source tree nowhere on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True)
    return next(out.glob("ptibot-*.whl"))


def test_the_wheel_carries_every_package_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {str(path.parent.relative_to(ROOT)) for top in ("bot", "flows", "storage", "locales")
                for path in (ROOT / top).rglob("__init__.py")}
    for package in packages:
        assert f"{package}/__init__.py" in names, f"{package} is missing from the wheel"
    assert "locales/es_MX/LC_MESSAGES/messages.mo" in names
    assert "storage/migrations/versions/0001_initial_schema.py" in names
    assert "bot/web/templates/webchat.html" in names
    assert "bot/web/templates/inbox/list.html" in names
    assert "flows/data/imss_2026.toml" in names
    assert not any(name.startswith(("tests/", "bench/", "tools/")) for name in names)


def test_an_installed_wheel_serves_the_web_chat_and_the_inbox(wheel: Path, tmp_path: Path) -> None:
    """Install the wheel (without -e) into a fresh virtual environment and run it from outside the repo.

    The fresh environment sees this one's dependencies through a path file, but not the editable install
    of the project (path files of an added directory are not processed), so `bot` can only come from the wheel.
    """
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "DATABASE_URL")}
    env["PTIBOT_DATA_DIR"] = str(tmp_path / "data")
    script = textwrap.dedent("""
        import bot, sys
        assert "site-packages" in bot.__file__, bot.__file__
        from bot.app import create_app
        from storage.migrate import upgrade
        from bot.config import Settings
        upgrade(Settings.from_env().database_url)
        client = create_app().test_client()
        page = client.get("/")
        assert page.status_code == 200 and b"<html" in page.data, page.status_code
        reply = client.post("/webchat/api/messages", json={"text": "hola"})
        assert reply.status_code == 200 and reply.get_json()["messages"], reply.data
        login = client.get("/inbox/login")
        assert login.status_code == 200 and b"<form" in login.data, login.status_code
        print("ok")
    """)
    run = subprocess.run([str(python), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-3000:]
    cli = subprocess.run([str(target / "bin" / "ptibot"), "--help"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    assert "serve" in cli.stdout and "worker" in cli.stdout
