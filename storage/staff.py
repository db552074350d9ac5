"""Queries for staff: accounts, their server-side sessions, failed logins, canned responses and the audit log.

Every change that should end a person's sessions (disable, role change, new password) ends them here, in the
repository, so the inbox and the CLI cannot forget to.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from storage.crypto import Cipher
from storage.models import AuditEntry, CannedResponse, Conversation, LoginAttempt, Staff, StaffSession

# admin: everything; agent: the casework; manager: reads the dashboard and the conversations, and acts on nothing.
ROLES = ("admin", "agent", "manager")
# Writing `last_seen_at` on every page view would turn each read into a write; a minute of slack in the idle
# timeout is harmless.
SEEN_RESOLUTION = timedelta(minutes=1)


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose, from SECRET_KEY: rotating SECRET_KEY ends every session, as it should."""
    return hashlib.sha256(f"ptibot-{purpose}:".encode() + secret.encode()).digest()


def _keyed_hash(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


@functools.cache
def _dummy_hash() -> str:
    """A password hash no one knows, checked when the email has no account, so that answering "no such
    account" takes as long as a wrong password (the scrypt work is the same)."""
    return generate_password_hash(secrets.token_urlsafe(16))


class AccountExists(ValueError):
    """An inbox account with that email already exists."""


@dataclass(frozen=True, slots=True)
class StaffRecord:
    id: int
    email: str
    name: str
    role: str
    active: bool
    must_change_password: bool
    last_login_at: datetime | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def read_only(self) -> bool:
        """A manager sees the dashboard and reads conversations but may not act (every POST is refused)."""
        return self.role == "manager"

    @property
    def sees_dashboard(self) -> bool:
        return self.role in ("admin", "manager")


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A staff session that is still valid: who, and which row (to tell it apart in the admin list)."""

    id: int
    staff: StaffRecord


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    staff_id: int
    email: str
    created_at: datetime
    last_seen_at: datetime
    address: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    actor: str
    action: str
    target: str
    detail: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class CannedRecord:
    id: int
    title: str
    body: str


def _record(row: Staff) -> StaffRecord:
    return StaffRecord(row.id, row.email, row.name, row.role, row.active, row.must_change_password,
                       row.last_login_at)


class StaffRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, email: str, password: str, role: str, now: datetime, *, name: str = "",
               must_change_password: bool = False) -> StaffRecord:
        """Create an account; the password is hashed with scrypt (Werkzeug's default, a memory-hard KDF)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        row = Staff(email=email.strip().lower(), name=name or email.split("@")[0], role=role, active=True,
                    password_hash=generate_password_hash(password), must_change_password=must_change_password,
                    created_at=now)
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError as error:
            raise AccountExists(row.email) from error
        return _record(row)

    def authenticate(self, email: str, password: str, now: datetime) -> StaffRecord | None:
        """The account if the password is right and the account active.

        A password hash is checked on every path, so the time taken does not tell whether the email exists.
        """
        row = self.session.execute(select(Staff).where(Staff.email == email.strip().lower())).scalar_one_or_none()
        right = check_password_hash(row.password_hash if row is not None else _dummy_hash(), password)
        if row is None or not row.active or not right:
            return None
        row.last_login_at = now
        return _record(row)

    def check_password(self, staff_id: int, password: str) -> bool:
        row = self.session.get(Staff, staff_id)
        right = check_password_hash(row.password_hash if row is not None else _dummy_hash(), password)
        return row is not None and right

    def get(self, staff_id: int) -> StaffRecord | None:
        row = self.session.get(Staff, staff_id)
        return _record(row) if row else None

    def all(self) -> list[StaffRecord]:
        return [_record(row) for row in self.session.execute(select(Staff).order_by(Staff.email)).scalars()]

    def set_active(self, email: str, active: bool) -> bool:
        """Enable or disable an account; disabling ends all its sessions."""
        row = self._by_email(email)
        if row is None:
            return False
        row.active = active
        if not active:
            self._end_sessions(row.id)
        return True

    def set_role(self, email: str, role: str) -> bool:
        """Change an account's role; a change ends all its sessions (what a page allowed may have changed)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        row = self._by_email(email)
        if row is None:
            return False
        if row.role != role:
            row.role = role
            self._end_sessions(row.id)
        return True

    def set_password(self, staff_id: int, password: str, *, keep_session: int | None = None) -> None:
        """A new password ends every session of the account but `keep_session` (the one that changed it)."""
        self.session.execute(update(Staff).where(Staff.id == staff_id).values(
            password_hash=generate_password_hash(password), must_change_password=False))
        self._end_sessions(staff_id, keep=keep_session)

    def _by_email(self, email: str) -> Staff | None:
        return self.session.execute(select(Staff).where(Staff.email == email.strip().lower())).scalar_one_or_none()

    def _end_sessions(self, staff_id: int, keep: int | None = None) -> None:
        statement = delete(StaffSession).where(StaffSession.staff_id == staff_id)
        if keep is not None:
            statement = statement.where(StaffSession.id != keep)
        self.session.execute(statement)


class StaffSessions:
    """Server-side inbox sessions. The browser holds a random token; the table holds its keyed hash.

    A session ends on logout, when an admin ends it, when it has been idle for `idle`, and `lifetime` after the
    login whatever the activity.
    """

    def __init__(self, session: Session, secret: str, *, idle: timedelta, lifetime: timedelta) -> None:
        self.session, self.idle, self.lifetime = session, idle, lifetime
        self._key = derive_key(secret, "staff-session")

    def start(self, staff_id: int, now: datetime, address: str | None = None,
              user_agent: str | None = None) -> str:
        """Open a session and return its token, for the cookie only: it is stored nowhere else."""
        token = secrets.token_urlsafe(32)
        self.session.execute(delete(StaffSession).where(self._expired(now)))
        self.session.add(StaffSession(token_hash=_keyed_hash(self._key, token), staff_id=staff_id, created_at=now,
                                      last_seen_at=now, address=(address or "")[:64] or None,
                                      user_agent=(user_agent or "")[:200] or None))
        return token

    def resume(self, token: str, now: datetime, *, activity: bool = True) -> LiveSession | None:
        """The session of this token if it is still valid (and the account active).

        Args:
            activity: whether a person did something (it then counts against the idle timeout); a page
                refreshing itself in the background is not a person at the desk.
        """
        row = self.session.execute(select(StaffSession).where(
            StaffSession.token_hash == _keyed_hash(self._key, token))).scalar_one_or_none()
        if row is None:
            return None
        staff = self.session.get(Staff, row.staff_id)
        if staff is None or not staff.active or self._ended(row, now):
            self.session.delete(row)
            return None
        if activity and now - row.last_seen_at >= SEEN_RESOLUTION:
            row.last_seen_at = now
        return LiveSession(row.id, _record(staff))

    def end(self, token: str) -> None:
        self.session.execute(delete(StaffSession).where(StaffSession.token_hash == _keyed_hash(self._key, token)))

    def end_by_id(self, session_id: int) -> SessionRecord | None:
        """End one session (an admin's action); returns what it was, or None if it had already ended."""
        if not 0 < session_id < 2**63:  # beyond any id, and beyond what SQLite can even compare
            return None
        found = self._records(StaffSession.id == session_id)
        self.session.execute(delete(StaffSession).where(StaffSession.id == session_id))
        return found[0] if found else None

    def live(self, now: datetime) -> list[SessionRecord]:
        """Every valid session, the most recently active first."""
        return self._records(~self._expired(now))

    def _records(self, condition: ColumnElement[bool]) -> list[SessionRecord]:
        rows = self.session.execute(select(StaffSession, Staff.email).join(Staff, Staff.id == StaffSession.staff_id)
                                    .where(condition).order_by(StaffSession.last_seen_at.desc())).all()
        return [SessionRecord(row.id, row.staff_id, email, row.created_at, row.last_seen_at, row.address,
                              row.user_agent) for row, email in rows]

    def _ended(self, row: StaffSession, now: datetime) -> bool:
        return now - row.last_seen_at > self.idle or now - row.created_at > self.lifetime

    def _expired(self, now: datetime) -> ColumnElement[bool]:
        return or_(StaffSession.last_seen_at < now - self.idle, StaffSession.created_at < now - self.lifetime)


class LoginThrottle:
    """Failed logins, counted per account and per client address apart, in the database (so every process
    sees them). Too many for the account, or too many from the address, in the window and logins are refused.

    The account limit stops guessing one password from many addresses; the higher address limit stops trying
    many accounts from one address while an office behind one address still works when someone mistypes.
    A successful login clears both counters. Emails and addresses are stored as keyed hashes.
    """

    def __init__(self, session: Session, secret: str, *, account_limit: int = 5, address_limit: int = 20,
                 window: timedelta = timedelta(minutes=15)) -> None:
        self.session, self.window = session, window
        self.account_limit, self.address_limit = account_limit, address_limit
        self._key = derive_key(secret, "login-throttle")

    def _keys(self, email: str, address: str | None) -> tuple[str, str]:
        return (f"account:{_keyed_hash(self._key, email.strip().lower())}",
                f"address:{_keyed_hash(self._key, address or '')}")

    def blocked(self, email: str, address: str | None, now: datetime) -> bool:
        account, place = self._keys(email, address)
        counts = dict(self.session.execute(select(LoginAttempt.key, func.count()).where(
            LoginAttempt.key.in_((account, place)), LoginAttempt.at > now - self.window)
            .group_by(LoginAttempt.key)).tuples().all())
        return counts.get(account, 0) >= self.account_limit or counts.get(place, 0) >= self.address_limit

    def fail(self, email: str, address: str | None, now: datetime) -> None:
        self.session.add_all(LoginAttempt(key=key, at=now) for key in self._keys(email, address))
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - self.window))

    def succeed(self, email: str, address: str | None) -> None:
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(self._keys(email, address))))


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, staff: StaffRecord | None, action: str, target: str, now: datetime,
            detail: str | None = None) -> None:
        self.session.add(AuditEntry(staff_id=staff.id if staff else None, actor=staff.email if staff else "system",
                                    action=action, target=target[:80], detail=detail, at=now))

    def recent(self, limit: int = 200) -> list[AuditRecord]:
        rows = self.session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).scalars()
        return [AuditRecord(r.actor, r.action, r.target, r.detail, r.at) for r in rows]


class CannedRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[CannedRecord]:
        rows = self.session.execute(select(CannedResponse).order_by(CannedResponse.title)).scalars()
        return [CannedRecord(r.id, r.title, r.body) for r in rows]

    def get(self, canned_id: int) -> CannedRecord | None:
        row = self.session.get(CannedResponse, canned_id)
        return CannedRecord(row.id, row.title, row.body) if row else None

    def add(self, title: str, body: str, now: datetime) -> None:
        self.session.add(CannedResponse(title=title, body=body, created_at=now))

    def applicant_data(self, conversation_id: int, cipher: Cipher) -> dict[str, object] | None:
        """What the applicant of a conversation told us, to fill the responses' placeholders (None: no such
        conversation). Read without a lock: filling a preview changes nothing."""
        found = self.session.execute(select(Conversation.data).where(Conversation.id == conversation_id)).first()
        if found is None:
            return None
        data = cipher.decrypt_json(found[0], {})
        return data if isinstance(data, dict) else {}

    def update(self, canned_id: int, title: str, body: str) -> bool:
        """Change a response's title and text; False when it no longer exists."""
        result = self.session.execute(update(CannedResponse).where(CannedResponse.id == canned_id)
                                      .values(title=title, body=body))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def delete(self, canned_id: int) -> None:
        self.session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))
