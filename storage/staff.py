"""Queries for staff: accounts, failed logins, canned responses and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from storage.models import AuditEntry, CannedResponse, LoginAttempt, Staff

ROLES = ("admin", "agent")


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
        row = self.session.execute(select(Staff).where(Staff.email == email.strip().lower())).scalar_one_or_none()
        if row is None or not row.active or not check_password_hash(row.password_hash, password):
            return None
        row.last_login_at = now
        return _record(row)

    def get(self, staff_id: int) -> StaffRecord | None:
        row = self.session.get(Staff, staff_id)
        return _record(row) if row else None

    def all(self) -> list[StaffRecord]:
        return [_record(row) for row in self.session.execute(select(Staff).order_by(Staff.email)).scalars()]

    def set_active(self, email: str, active: bool) -> bool:
        result = self.session.execute(update(Staff).where(Staff.email == email.strip().lower())
                                      .values(active=active))
        return bool(getattr(result, "rowcount", 0))

    def set_password(self, staff_id: int, password: str) -> None:
        self.session.execute(update(Staff).where(Staff.id == staff_id).values(
            password_hash=generate_password_hash(password), must_change_password=False))


class LoginThrottle:
    """Failed logins per key (an email, an address); too many in the window and logins are refused."""

    def __init__(self, session: Session, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        self.session, self.limit, self.window = session, limit, window

    def blocked(self, keys: list[str], now: datetime) -> bool:
        counts = self.session.execute(select(LoginAttempt.key, func.count()).where(
            LoginAttempt.key.in_(keys), LoginAttempt.at > now - self.window).group_by(LoginAttempt.key)).all()
        return any(int(count) >= self.limit for _, count in counts)

    def fail(self, keys: list[str], now: datetime) -> None:
        self.session.add_all(LoginAttempt(key=key, at=now) for key in keys)
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - self.window))

    def clear(self, keys: list[str]) -> None:
        self.session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(keys)))


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, staff: StaffRecord | None, action: str, target: str, now: datetime,
            detail: str | None = None) -> None:
        self.session.add(AuditEntry(staff_id=staff.id if staff else None, actor=staff.email if staff else "system",
                                    action=action, target=target, detail=detail, at=now))

    def recent(self, limit: int = 200) -> list[AuditRecord]:
        rows = self.session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).scalars()
        return [AuditRecord(r.actor, r.action, r.target, r.detail, r.at) for r in rows]


class CannedRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> list[CannedRecord]:
        rows = self.session.execute(select(CannedResponse).order_by(CannedResponse.title)).scalars()
        return [CannedRecord(r.id, r.title, r.body) for r in rows]

    def add(self, title: str, body: str, now: datetime) -> None:
        self.session.add(CannedResponse(title=title, body=body, created_at=now))

    def delete(self, canned_id: int) -> None:
        self.session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))
