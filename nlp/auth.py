"""Reviewer accounts: argon2 password hashes, per-reviewer API tokens, CSRF tokens for the page,
server-side sessions (revoked on logout) and sign-in limits per account and per address.

Passwords are hashed with argon2id (slow on purpose). API tokens are 256-bit random strings, so a
single SHA-256 is enough to store them safely and keeps every API request fast; the token is shown
once, when the account is made.

>>> from nlp.store import open_store
>>> db = open_store("sqlite://")
>>> reviewer, token = add_reviewer(db, "li", "a long secret", admin=True)
>>> reviewer_for_token(db, token) == reviewer
True
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, select, update

from nlp.errors import ZhibiaoError
from nlp.schema import inserted_id, login_attempts, reviewers, sessions
from nlp.store import Store, utcnow

__all__ = [
    "Reviewer",
    "AuthError",
    "MIN_PASSWORD",
    "add_reviewer",
    "authenticate",
    "reviewer_for_token",
    "reviewer_by_id",
    "new_csrf",
    "csrf_matches",
    "LIMITS",
    "open_session",
    "session_reviewer",
    "revoke_session",
    "unlock",
    "lockout",
]

MIN_PASSWORD = 8
_NAME = re.compile(r"^[\w.@-]{1,64}$")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("zhibiao-dummy-password")


class AuthError(ZhibiaoError):
    """A login, token or account request was refused."""


@dataclass(frozen=True)
class Reviewer:
    id: int
    name: str
    is_admin: bool = False

    @property
    def role(self) -> str:
        return "admin" if self.is_admin else "reviewer"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_reviewer(db: Store, name: str, password: str, *, admin: bool = False) -> tuple[Reviewer, str]:
    """Create a reviewer; returns the account and its API token (shown once, stored hashed).

    Raises :class:`AuthError` E069 when the name is taken, E074 when the password is empty.
    """
    if not _NAME.match(name or ""):
        raise AuthError("E061", field="name", detail="use 1-64 letters, digits, '.', '@', '-' or '_'")
    if not password:
        raise AuthError("E074")
    if len(password) < MIN_PASSWORD:
        raise AuthError("E061", field="password", detail=f"use at least {MIN_PASSWORD} characters")
    token = "zb_" + secrets.token_urlsafe(32)
    with db.write() as conn:
        if conn.execute(select(reviewers.c.id).where(reviewers.c.name == name)).first():
            raise AuthError("E069", name=name)
        new_id = inserted_id(
            conn.execute(
                reviewers.insert().values(
                    name=name,
                    password_hash=_hasher.hash(password),
                    token_hash=_token_hash(token),
                    is_admin=admin,
                    created_at=utcnow(),
                )
            )
        )
    return Reviewer(id=int(new_id), name=name, is_admin=admin), token


#: Sign-in limits: this many failures within ``window`` minutes lock the account (or, ``per_address``
#: of them, the client address) for ``window`` minutes; an administrator lifts a lock at once.
LIMITS: dict[str, int] = {"per_account": 5, "per_address": 20, "window": 15, "session_hours": 12}
# argon2 is memory-hard (~16 MB a hash at the defaults): a crowd of sign-ins must queue, not pile up.
_VERIFY_SLOTS = threading.BoundedSemaphore(2)


def _recent_failures(conn: Any, *, name: str = "", address: str = "", now: datetime) -> list[datetime]:
    """Failures since the last reset (success or unlock for an account; unlock for an address)."""
    since = now - timedelta(minutes=LIMITS["window"])
    if name:
        key = login_attempts.c.name == name
        reset_when = and_(key, login_attempts.c.outcome.in_(("ok", "unlock")))
    else:
        key = login_attempts.c.address == address
        reset_when = and_(key, login_attempts.c.outcome == "unlock", login_attempts.c.name == "")
    reset = conn.execute(select(func.max(login_attempts.c.created_at)).where(reset_when)).scalar_one()
    floor = max(since, reset) if reset else since
    return list(
        conn.execute(
            select(login_attempts.c.created_at)
            .where(key, login_attempts.c.outcome == "fail", login_attempts.c.created_at > floor)
            .order_by(login_attempts.c.created_at)
        ).scalars()
    )


def lockout(db: Store, name: str, address: str = "") -> tuple[str, int] | None:
    """``(who, minutes left)`` when sign-in is locked for ``name`` or for ``address``; else ``None``."""
    now = utcnow()
    with db.read() as conn:
        for who, limit, failures in (
            (name, LIMITS["per_account"], _recent_failures(conn, name=name, now=now) if name else []),
            (
                address,
                LIMITS["per_address"],
                _recent_failures(conn, address=address, now=now) if address else [],
            ),
        ):
            if len(failures) >= limit:
                until = failures[-limit] + timedelta(minutes=LIMITS["window"])
                return who, max(1, -(-int((until - now).total_seconds()) // 60))
    return None


def _record_attempt(db: Store, name: str, address: str, outcome: str) -> None:
    now = utcnow()
    with db.write() as conn:
        conn.execute(
            login_attempts.insert().values(
                name=name[:64], address=address[:64], outcome=outcome, created_at=now
            )
        )
        if outcome == "fail":  # the table only needs the last window; keep it small
            conn.execute(delete(login_attempts).where(login_attempts.c.created_at < now - timedelta(days=1)))


def authenticate(db: Store, name: str, password: str, *, address: str = "") -> Reviewer:
    """The reviewer whose name and password these are; :class:`AuthError` E070 otherwise, E079 while
    the account or the client ``address`` is locked after too many failures (checked before hashing)."""
    locked = lockout(db, name, address)
    if locked:
        raise AuthError("E079", who=locked[0], minutes=locked[1])
    with db.read() as conn:
        row = conn.execute(select(reviewers).where(reviewers.c.name == name)).first()
    try:
        with _VERIFY_SLOTS:
            _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        _record_attempt(db, name, address, "fail")
        raise AuthError("E070") from None
    if row is None:
        _record_attempt(db, name, address, "fail")
        raise AuthError("E070")
    _record_attempt(db, name, address, "ok")
    if _hasher.check_needs_rehash(row.password_hash):
        with db.write() as conn:
            conn.execute(
                update(reviewers).where(reviewers.c.id == row.id).values(password_hash=_hasher.hash(password))
            )
    return Reviewer(id=row.id, name=row.name, is_admin=row.is_admin)


def unlock(db: Store, *, name: str = "", address: str = "") -> int:
    """Lift the sign-in lock of an account (``name``) or of a client ``address``; returns how many
    recent failures it forgave. :class:`AuthError` E095 for an unknown account."""
    now = utcnow()
    with db.write() as conn:
        if name and conn.execute(select(reviewers.c.id).where(reviewers.c.name == name)).first() is None:
            raise AuthError("E095", name=name)
    with db.read() as conn:
        forgiven = len(_recent_failures(conn, name=name, address=address, now=now))
    with db.write() as conn:
        conn.execute(
            login_attempts.insert().values(
                name=name, address="" if name else address, outcome="unlock", created_at=now
            )
        )
    return forgiven


# ---------------------------------------------------------------------------------------- sessions


def open_session(db: Store, reviewer: Reviewer, *, address: str = "") -> str:
    """A new server-side session for ``reviewer``; returns the random id the cookie carries."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as conn:
        conn.execute(delete(sessions).where(sessions.c.expires_at < now - timedelta(days=1)))  # stay small
        conn.execute(
            sessions.insert().values(
                id=_token_hash(sid), reviewer_id=reviewer.id, address=address[:64], created_at=now,
                expires_at=now + timedelta(hours=LIMITS["session_hours"]), revoked_at=None,
            )
        )  # fmt: skip
    return sid


def session_reviewer(db: Store, sid: str | None) -> Reviewer | None:
    """The reviewer of a live session (not revoked, not expired), or ``None``."""
    if not sid or len(sid) > 200:
        return None
    with db.read() as conn:
        row = conn.execute(
            select(reviewers)
            .join(sessions, sessions.c.reviewer_id == reviewers.c.id)
            .where(
                sessions.c.id == _token_hash(sid),
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > utcnow(),
            )
        ).first()
    return Reviewer(id=row.id, name=row.name, is_admin=row.is_admin) if row else None


def revoke_session(db: Store, sid: str | None) -> bool:
    """End a session server-side (logout): its cookie is refused from now on, wherever it is copied."""
    if not sid:
        return False
    with db.write() as conn:
        result = conn.execute(
            update(sessions)
            .where(sessions.c.id == _token_hash(sid), sessions.c.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    return bool(result.rowcount)


#: Seconds a token lookup is remembered: every API request authenticates, most within seconds of the last.
TOKEN_TTL = 10.0
_token_cache: dict[tuple[str, str], tuple[float, Reviewer]] = {}


def reviewer_for_token(db: Store, token: str) -> Reviewer | None:
    """The reviewer an API token belongs to, or ``None``."""
    if not token or len(token) > 200:
        return None
    key = (db.url, _token_hash(token))
    cached = _token_cache.get(key)
    if cached and time.monotonic() - cached[0] < TOKEN_TTL:
        return cached[1]
    with db.read() as conn:
        row = conn.execute(select(reviewers).where(reviewers.c.token_hash == key[1])).first()
    if row is None:
        return None
    if len(_token_cache) > 10_000:  # bounded: a flood of valid tokens cannot grow it without limit
        _token_cache.clear()
    reviewer = Reviewer(id=row.id, name=row.name, is_admin=row.is_admin)
    _token_cache[key] = (time.monotonic(), reviewer)
    return reviewer


def reviewer_by_id(db: Store, reviewer_id: int) -> Reviewer | None:
    with db.read() as conn:
        row = conn.execute(select(reviewers).where(reviewers.c.id == reviewer_id)).first()
    return Reviewer(id=row.id, name=row.name, is_admin=row.is_admin) if row else None


def new_csrf() -> str:
    """A fresh CSRF token (kept in the signed session, echoed by forms and by page scripts)."""
    return secrets.token_urlsafe(24)


def csrf_matches(expected: str | None, supplied: str | None) -> bool:
    """Constant-time comparison; an absent token never matches."""
    return bool(expected) and bool(supplied) and hmac.compare_digest(str(expected), str(supplied))
