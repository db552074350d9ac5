"""Encrypted document store: applicants' uploads on disk, encrypted, under random names only we can make."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from pathlib import Path

from cryptography.fernet import InvalidToken

from storage.crypto import Cipher, DecryptionError

# A storage name is exactly what `save` makes: 32 lowercase hex digits. Nothing else can name a file, so no
# name (`../x`, `ab/../../x`, an absolute path, a trailing newline) can ever reach outside the root.
_NAME = re.compile(r"[0-9a-f]{32}")
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def make_private_dir(folder: Path) -> None:
    """Create `folder` and any missing parents readable by this user only (0700 whatever the umask);
    folders that already exist are left as they are."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made by another process meanwhile
        os.chmod(path, PRIVATE_DIR)


def secure_data_dir(folder: Path) -> None:
    """The data directory (database, documents, mail, development secrets): created, or tightened if an
    older version left it open, to 0700."""
    make_private_dir(folder)
    if folder.stat().st_mode & 0o777 != PRIVATE_DIR:
        os.chmod(folder, PRIVATE_DIR)


class DocumentStore:
    """Keeps document bytes encrypted at rest under `root`, in 256 fan-out folders (`ab/ab12…`).

    Names are random, never derived from what the user called the file, so a listing of the folder tells
    nothing about anyone. Writes are atomic: a crash leaves either the old file or the new one, never half.
    """

    def __init__(self, root: Path, cipher: Cipher) -> None:
        self.root = root
        self._cipher = cipher

    def save(self, content: bytes) -> str:
        """Encrypt and store `content`.

        Returns:
            The storage name to keep in the database and pass to `load`, `delete` and `rotate`.
        """
        token = self._cipher.encrypt(content)
        while True:
            name = secrets.token_hex(16)
            path = self._path(name)
            if not path.exists():  # a collision is astronomically unlikely, but never overwrite a document
                break
        self._write(path, token)
        return name

    def load(self, name: str) -> bytes:
        """The decrypted bytes of a stored document.

        Raises:
            ValueError: `name` is not a storage name.
            FileNotFoundError: no such document (deleted, or never stored).
            DecryptionError: none of the configured keys opens it.
        """
        return self._cipher.decrypt(self._path(name).read_bytes())

    def delete(self, name: str) -> bool:
        """Remove a document for good (data deletion requests, retention).

        Returns:
            True if it existed, False if it was already gone.
        """
        try:
            self._path(name).unlink()
        except FileNotFoundError:
            return False
        return True

    def rotate(self, name: str) -> None:
        """Re-encrypt a document with the newest key, so older keys can later be retired.

        Raises:
            ValueError, FileNotFoundError, DecryptionError: as for `load`.
        """
        path = self._path(name)
        try:
            token = self._cipher.rotate(path.read_bytes())
        except InvalidToken as error:
            raise DecryptionError("stored document cannot be decrypted with the configured keys") from error
        self._write(path, token)

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError("not a document storage name")
        return self.root / name[:2] / name

    def _write(self, path: Path, data: bytes) -> None:
        """Write to a private temporary file next to `path`, flush it to disk, then rename it into place."""
        self._make_private_dir(self.root)
        self._make_private_dir(path.parent)
        # mkstemp creates the file with mode 0600 and O_EXCL, in the same folder so the rename is atomic.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, PRIVATE_FILE)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    @staticmethod
    def _make_private_dir(folder: Path) -> None:
        # The data directory above too, when this creates it: nobody else lists what is in there.
        make_private_dir(folder)


def _fsync_dir(folder: Path) -> None:
    """Persist the rename itself; without it a power cut can forget a file we already acknowledged."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
