"""Login sessions on the server: opened by a right password, checked on every page run, ended
by logout, by deactivating the user, or after a day's idleness (README, "Login").

The browser keeps only the session's random id, in a cookie signed with the installation's
cookie key; the database keeps only the id's SHA-256. Ending the record ends the session at once
wherever the id is held: the page, the cookie, or a copy of the cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import jwt
from sqlalchemy import update
from sqlmodel import Session, col

from ocenter.accounts.authority import Authority
from ocenter.accounts.login import authority_from_user, login_allowed
from ocenter.context import AppContext
from ocenter.errors import PermissionDenied
from ocenter.events import record
from ocenter.models import LoginSession, User

#: Random bytes of a session id (256 bits: it cannot be guessed, signed or not).
SESSION_ID_BYTES = 32
#: How often a page run writes down that the session is in use (not on every run: the wall
#: screen's dashboards refresh every minute).
SEEN_EVERY = timedelta(minutes=1)
_ALGORITHM = "HS256"

#: Why a session ended, and what the login form then tells the person who held it (None: a
#: logout they asked for; the page that logged them out says so itself).
END_MESSAGES: dict[str, str | None] = {
    "logout": None,
    "deactivated": "login.account_deactivated",
    "idle": "login.session_expired",
    "not_allowed": "login.not_allowed",
}


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


def open_session(session: Session, username: str, client: str, now: datetime) -> str:
    """Open a session for ``username`` in the caller's transaction; returns its id."""
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    session.add(LoginSession(id_sha256=_digest(session_id), username=username, client=client,
                             created_at=now, last_seen_at=now))
    return session_id


def session_lifetime(ctx: AppContext) -> timedelta:
    """How long a session lives unused, and how long its cookie lives: the cookie's lifetime."""
    return timedelta(days=ctx.settings.cookie_expiry_days)


def session_authority(ctx: AppContext, session_id: str) -> Authority:
    """The authority of the user whose session ``session_id`` is, read fresh from the database.

    Refuses (``PermissionDenied`` with the key the login form shows) a session that is unknown
    or ended, and ends one whose user may no longer log in or that was unused for longer than
    its lifetime. Notes the use at most once a ``SEEN_EVERY``.
    """
    now = ctx.clock.now()
    production = not ctx.settings.is_demo
    with Session(ctx.engine) as session:
        login = session.get(LoginSession, _digest(session_id))
        if login is None:
            raise PermissionDenied("login.session_ended")
        if login.ended_at is not None:
            raise PermissionDenied(END_MESSAGES.get(login.end_reason) or "login.session_ended")
        user = session.get(User, login.username)
        reason = None
        if user is None or not user.active:
            reason = "deactivated"
        elif not login_allowed(user, production=production):
            reason = "not_allowed"
        elif now - login.last_seen_at > session_lifetime(ctx):
            reason = "idle"
        if reason is not None:
            _end(session, col(LoginSession.id_sha256) == login.id_sha256, reason, now)
            record(session, login.username, "login.session_ended", outcome=reason)
            session.commit()
            raise PermissionDenied(END_MESSAGES[reason] or "login.session_ended")
        authority = authority_from_user(session, user, ctx.clock.today())
        if now - login.last_seen_at >= SEEN_EVERY:
            session.connection().execute(
                update(LoginSession).where(col(LoginSession.id_sha256) == login.id_sha256)
                .values(last_seen_at=now))
            session.commit()
        return authority


def _end(session: Session, which, reason: str, now: datetime) -> int:  # noqa: ANN001 - a clause
    return session.connection().execute(
        update(LoginSession).where(which, col(LoginSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
    ).rowcount


def end_session(ctx: AppContext, session_id: str, reason: str = "logout") -> str | None:
    """End the session ``session_id`` and say so in the log; returns its user, or None if it was
    not open (ending it twice changes nothing)."""
    with Session(ctx.engine) as session:
        login = session.get(LoginSession, _digest(session_id))
        if login is None:
            return None
        if not _end(session, col(LoginSession.id_sha256) == login.id_sha256, reason,
                    ctx.clock.now()):
            return None
        record(session, login.username,
               "login.logged_out" if reason == "logout" else "login.session_ended", outcome=reason)
        session.commit()
        return login.username


def end_sessions_of(session: Session, username: str, reason: str, now: datetime) -> int:
    """End every open session of ``username`` in the caller's transaction; how many were open."""
    return _end(session, col(LoginSession.username) == username, reason, now)


def session_token(session_id: str, cookie_key: str, expires_at: datetime) -> str:
    """What the login cookie holds: the session id and its expiry, signed with the cookie key."""
    return jwt.encode({"sid": session_id, "exp": int(expires_at.timestamp())}, cookie_key,
                      algorithm=_ALGORITHM)


def session_id_of(token: str | None, cookie_key: str) -> str | None:
    """The session id a login cookie holds, or None when it is missing, expired, or was not
    signed with ``cookie_key``."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, cookie_key, algorithms=[_ALGORITHM], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    session_id = claims.get("sid")
    return session_id if isinstance(session_id, str) and session_id else None
