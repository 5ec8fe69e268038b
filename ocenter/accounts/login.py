"""User accounts: password hashing and checking, who may log in, and a logged-in user's authority."""

from __future__ import annotations

from datetime import date

import bcrypt
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority
from ocenter.clock import SYSTEM_CLOCK
from ocenter.errors import UserError
from ocenter.models import DashboardGrant, User

#: bcrypt reads at most 72 bytes of a password; bcrypt 5 raises beyond that, so we refuse first.
MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 8
#: bcrypt's cost: 2**12 rounds, about a quarter of a second here.
BCRYPT_ROUNDS = 12
#: A bcrypt hash of the same cost as every user's, of a random password nobody kept. A name that
#: is no user is checked against it, so a wrong name takes as long as a wrong password and the
#: time of the answer does not tell whether a name exists. A constant, not made at start-up:
#: making it would slow only the first unknown name after a start.
DUMMY_HASH = "$2b$12$8qFfznGjnYPO1zCz/bYNteEUnUzDbS.kgGqV5uZdimRcAphOHvtJ6"  # noqa: S105


def hash_password(password: str) -> str:
    """A bcrypt hash of ``password``; refuses passwords bcrypt cannot take whole."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise UserError("auth.password_too_long", limit=MAX_PASSWORD_BYTES)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError("auth.password_too_short", limit=MIN_PASSWORD_LENGTH)
    return bcrypt.hashpw(encoded, bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches ``password_hash``; False (never an error) otherwise."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    try:
        return bcrypt.checkpw(encoded, password_hash.encode("ascii"))
    except ValueError:
        return False


def login_allowed(user: User, *, production: bool) -> bool:
    """Whether ``user`` may log in at all: active, and not a demo user in production."""
    return user.active and not (production and user.is_demo)


def authority_of(
    engine: Engine, username: str | None, *, production: bool, today: date | None = None
) -> Authority | None:
    """The current authority of ``username`` read fresh from the database, or None if they may not
    log in (unknown, deactivated, or a demo user in production). Never trust a cookie for this.

    Its grants are the dashboards granted to them that count on ``today`` (the day in Jakarta,
    by default the system clock's; use cases pass ``ctx.clock.today()``): neither revoked nor
    ended (``expires_on`` is the first day a grant no longer counts)."""
    if not username:
        return None
    on_day = today or SYSTEM_CLOCK.today()
    with Session(engine) as session:
        user = session.get(User, username)
        if user is None or not login_allowed(user, production=production):
            return None
        return authority_from_user(session, user, on_day)


def authority_from_user(session: Session, user: User, on_day: date) -> Authority:
    """The authority a user's record gives on ``on_day`` (in Jakarta): their role, clearance and
    scope, and the dashboards granted to them that count that day (neither revoked nor ended;
    ``expires_on`` is the first day a grant no longer counts)."""
    granted = session.exec(
        select(DashboardGrant.dashboard_id).where(
            DashboardGrant.username == user.username,
            col(DashboardGrant.revoked_at).is_(None),
            DashboardGrant.expires_on > on_day,
        )
    ).all()
    return Authority(
        username=user.username,
        role=user.role,
        clearance=user.clearance,
        scope=user.scope,
        unit_code=user.unit_code,
        grants=sorted(set(granted)),
    )


def display_name(engine: Engine, username: str) -> str:
    """The user's full name, or the username if unknown."""
    with Session(engine) as session:
        user = session.get(User, username)
        return user.name if user else username
