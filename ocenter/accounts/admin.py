"""User administration use cases (the Pengguna page and ``python -m ocenter user-add``,
``user-unlock``): adding and changing users, deactivating them, unlocking locked names."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.accounts.login import hash_password
from ocenter.accounts.sessions import end_sessions_of
from ocenter.accounts.throttle import locked_names, normalise_name, unlock_name
from ocenter.context import AppContext
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.events import record
from ocenter.models import LoginThrottle, Unit, User

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
#: A work e-mail address as reminders are sent to it: one address, no spaces or display name.
EMAIL_PATTERN = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def list_users(ctx: AppContext, actor: Authority) -> list[User]:
    """Every user, for the administrator (password hashes stay on the server)."""
    require_role(actor, Role.ADMIN)
    with Session(ctx.engine) as session:
        return list(session.exec(select(User).order_by(col(User.username))).all())


def add_user(
    ctx: AppContext,
    actor: Authority | None,
    *,
    username: str,
    name: str,
    role: Role,
    clearance: Level,
    scope: ScopeKind,
    unit_code: str | None,
    password: str,
    email: str = "",
) -> User:
    """Create a user; ``actor`` None means the command line run by the server's operator. An
    administrator may not give a clearance above their own."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
        _within_own_clearance(actor, clearance)
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise UserError("users.bad_username")
    if not name.strip():
        raise UserError("users.name_required")
    if scope in (ScopeKind.UNIT, ScopeKind.UPT) and not unit_code:
        raise UserError("users.unit_required")
    email = checked_email(email)
    password_hash = hash_password(password)
    with Session(ctx.engine) as session:
        if session.get(User, username) is not None:
            raise UserError("admin.user_exists", username=username)
        if unit_code and session.get(Unit, unit_code) is None:
            raise NotFound("users.unknown_unit", unit=unit_code)
        user = User(username=username, name=name.strip(), role=role, clearance=clearance,
                    scope=scope, unit_code=unit_code, password_hash=password_hash, email=email)
        session.add(user)
        record(session, actor.username if actor else "cli", "user.added", detail=username)
        session.commit()
        session.refresh(user)
        return user


def _within_own_clearance(actor: Authority, clearance: Level) -> None:
    """Refuse to give an account a clearance above the administrator's own."""
    if not actor.clearance.allows(clearance):
        raise PermissionDenied("users.above_own_clearance")


def change_user(
    ctx: AppContext,
    actor: Authority | None,
    username: str,
    *,
    role: Role | None = None,
    clearance: Level | None = None,
) -> User:
    """Change a user's role or clearance (None: unchanged); takes effect on their next page run.

    An administrator may not leave the account with a clearance above their own (raising one,
    or changing the role of one already above it), nor change their own account; ``actor``
    None is the command line run by the server's operator.
    """
    if actor is not None:
        require_role(actor, Role.ADMIN)
        if username == actor.username:
            raise UserError("users.not_yourself_change")
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        if user is None:
            raise NotFound("users.unknown", username=username)
        new_role, new_clearance = role or user.role, clearance or user.clearance
        if actor is not None:
            _within_own_clearance(actor, new_clearance)
        if (new_role, new_clearance) == (user.role, user.clearance):
            return user
        detail = f"{username}: role {user.role.value} -> {new_role.value}, clearance " \
                 f"{user.clearance.value} -> {new_clearance.value}"
        user.role, user.clearance = new_role, new_clearance
        session.add(user)
        record(session, actor.username if actor else "cli", "user.changed", detail=detail)
        session.commit()
        session.refresh(user)
        return user


def checked_email(email: str) -> str:
    """``email`` stripped, or empty; refused when it is not one plain address."""
    email = email.strip()
    if email and (len(email) > 254 or not EMAIL_PATTERN.match(email)):
        raise UserError("users.bad_email")
    return email


def set_email(ctx: AppContext, actor: Authority | None, username: str, email: str) -> User:
    """Set (or with an empty text, clear) the e-mail address reminders are sent to."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    email = checked_email(email)
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        if user is None:
            raise NotFound("users.unknown", username=username)
        if user.email == email:
            return user
        user.email = email
        session.add(user)
        record(session, actor.username if actor else "cli", "user.changed",
               detail=f"{username}: e-mail {'set' if email else 'cleared'}")
        session.commit()
        session.refresh(user)
        return user


def toggle_active(ctx: AppContext, actor: Authority, username: str) -> bool:
    """Activate or deactivate a user; deactivating ends their open sessions at once (their next
    page run, fragments included, shows the login form). Returns the new state."""
    require_role(actor, Role.ADMIN)
    if username == actor.username:
        raise UserError("users.not_yourself")
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        if user is None:
            raise NotFound("users.unknown", username=username)
        user.active = not user.active
        detail = username
        if not user.active:
            ended = end_sessions_of(session, username, "deactivated", ctx.clock.now())
            detail = f"{username}; {ended} open session(s) ended"
        record(session, actor.username, "user.activated" if user.active else "user.deactivated",
               detail=detail)
        session.commit()
        return user.active


def locked_users(ctx: AppContext, actor: Authority) -> list[LoginThrottle]:
    """The names locked after failed logins, for the administrator (also names that are no
    user: they are locked alike, so that a lockout does not tell whether a name exists)."""
    require_role(actor, Role.ADMIN)
    with Session(ctx.engine) as session:
        return locked_names(session)


def unlock_user(ctx: AppContext, actor: Authority | None, username: str) -> None:
    """Unlock a name locked after failed logins; ``actor`` None is the command line."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    name = normalise_name(username)
    with Session(ctx.engine) as session:
        if not unlock_name(session, name):
            raise NotFound("users.not_locked", username=name)
        record(session, actor.username if actor else "cli", "login.unlocked", detail=name)
        session.commit()
