"""User administration use cases (the admin page and ``python -m ocenter user-add``)."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.accounts.login import hash_password
from ocenter.context import AppContext
from ocenter.errors import NotFound, UserError
from ocenter.events import record
from ocenter.models import Unit, User

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")


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
    """Create a user; ``actor`` None means the command line run by the server's operator."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise UserError("users.bad_username")
    if not name.strip():
        raise UserError("users.name_required")
    if scope in (ScopeKind.UNIT, ScopeKind.UPT) and not unit_code:
        raise UserError("users.unit_required")
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


def toggle_active(ctx: AppContext, actor: Authority, username: str) -> bool:
    """Activate or deactivate a user; takes effect on their next page run. Returns the new state."""
    require_role(actor, Role.ADMIN)
    if username == actor.username:
        raise UserError("users.not_yourself")
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        if user is None:
            raise NotFound("users.unknown", username=username)
        user.active = not user.active
        record(session, actor.username, "user.activated" if user.active else "user.deactivated",
               detail=username)
        session.commit()
        return user.active
