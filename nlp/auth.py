"""Reviewer accounts: argon2 password hashes, per-reviewer API tokens, CSRF tokens for the page.

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
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from nlp.errors import ZhibiaoError
from nlp.schema import inserted_id, reviewers
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


def authenticate(db: Store, name: str, password: str) -> Reviewer:
    """The reviewer whose name and password these are; :class:`AuthError` E070 otherwise."""
    with db.read() as conn:
        row = conn.execute(select(reviewers).where(reviewers.c.name == name)).first()
    try:
        _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise AuthError("E070") from None
    if row is None:
        raise AuthError("E070")
    if _hasher.check_needs_rehash(row.password_hash):
        with db.write() as conn:
            conn.execute(
                update(reviewers).where(reviewers.c.id == row.id).values(password_hash=_hasher.hash(password))
            )
    return Reviewer(id=row.id, name=row.name, is_admin=row.is_admin)


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
