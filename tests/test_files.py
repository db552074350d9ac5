"""The encrypted document store: round trips, random names, no path traversal, deletion and key rotation."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage.crypto import Cipher, DecryptionError
from storage.files import DocumentStore
from tests import samples

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "documents", Cipher([OLD_KEY]))


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_a_document_comes_back_exactly_as_uploaded(store: DocumentStore) -> None:
    photo = samples.document_photo()
    name = store.save(photo)
    assert store.load(name) == photo
    assert store.load(store.save(b"")) == b""


def test_stored_bytes_are_encrypted_and_never_contain_the_original(store: DocumentStore) -> None:
    photo = samples.document_photo()
    name = store.save(photo)
    [path] = stored_files(store.root)
    on_disk = path.read_bytes()
    assert on_disk != photo
    # The token is base64 text, so a short ASCII word such as "JFIF" may turn up in it by chance (about 1 run in
    # 100 for a photo this size); what must never appear is the photo's own bytes, raw or under the base64.
    assert photo[:64] not in on_disk and b"\xff\xd8\xff" not in on_disk
    assert photo[:64] not in base64.urlsafe_b64decode(on_disk)
    assert path == store.root / name[:2] / name


def test_files_and_folders_are_private_to_the_service(store: DocumentStore) -> None:
    old_umask = os.umask(0o022)
    try:
        name = store.save(b"INE de Ana")
    finally:
        os.umask(old_umask)
    path = store.root / name[:2] / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]  # no temporary left behind


def test_names_are_random_and_unrelated_to_the_content(store: DocumentStore) -> None:
    names = [store.save(b"same bytes, uploaded as ine.jpg") for _ in range(50)]
    assert len(set(names)) == 50
    for name in names:
        assert len(name) == 32 and all(c in "0123456789abcdef" for c in name)
        assert "ine" not in name
    assert len({path.parent.name for path in stored_files(store.root)}) > 1  # spread over fan-out folders


@pytest.mark.parametrize("name", [
    "../../etc/passwd", "ab/../../x", "/etc/passwd", "..", "", "ab", "ab/" + "a" * 32,
    "A" * 32, "g" * 32, "a" * 31, "a" * 33, "a" * 32 + "\n", "a" * 30 + "/.", "a" * 31 + "\x00",
])
def test_crafted_names_are_rejected_before_touching_the_disk(store: DocumentStore, name: str) -> None:
    with pytest.raises(ValueError):
        store.load(name)
    with pytest.raises(ValueError):
        store.delete(name)
    with pytest.raises(ValueError):
        store.rotate(name)


def test_a_name_cannot_reach_a_file_outside_the_root(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not yours")
    store = DocumentStore(tmp_path / "documents", Cipher([OLD_KEY]))
    for name in ("../secret.txt", "../../secret.txt", str(secret)):
        with pytest.raises(ValueError):
            store.delete(name)
    assert secret.exists()


def test_delete_removes_the_document_once(store: DocumentStore) -> None:
    name = store.save(b"comprobante de domicilio")
    assert store.delete(name) is True
    assert store.delete(name) is False
    with pytest.raises(FileNotFoundError):
        store.load(name)
    assert stored_files(store.root) == []


def test_rotation_lets_the_old_key_be_retired(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    name = DocumentStore(root, Cipher([OLD_KEY])).save(b"constancia fiscal")
    with pytest.raises(DecryptionError):
        DocumentStore(root, Cipher([NEW_KEY])).load(name)

    both = DocumentStore(root, Cipher([NEW_KEY, OLD_KEY]))  # newest first, as DATA_ENCRYPTION_KEYS lists them
    assert both.load(name) == b"constancia fiscal"
    both.rotate(name)

    assert DocumentStore(root, Cipher([NEW_KEY])).load(name) == b"constancia fiscal"
    with pytest.raises(DecryptionError):
        DocumentStore(root, Cipher([OLD_KEY])).load(name)


def test_rotating_without_a_key_that_opens_the_document_fails_and_keeps_it(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    name = DocumentStore(root, Cipher([OLD_KEY])).save(b"INE")
    with pytest.raises(DecryptionError):
        DocumentStore(root, Cipher([NEW_KEY])).rotate(name)
    assert DocumentStore(root, Cipher([OLD_KEY])).load(name) == b"INE"


def test_missing_documents_are_reported(store: DocumentStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.load("0" * 32)
    with pytest.raises(FileNotFoundError):
        store.rotate("0" * 32)
