"""The login form's use cases: a name and a password in, a session out (or a refusal), and logout.

Every refusal is a ``PermissionDenied`` or ``UserError`` whose key the form shows in the user's
language; every password checked and found wrong is one event in the log.
"""

from __future__ import annotations

from sqlmodel import Session

from ocenter.accounts.login import DUMMY_HASH, check_password
from ocenter.accounts.sessions import end_session, open_session
from ocenter.accounts.throttle import (
    USER_LOCK_AFTER,
    claim_check,
    count_failure,
    forgive,
    normalise_name,
    user_key,
)
from ocenter.context import AppContext
from ocenter.errors import PermissionDenied, UserError
from ocenter.events import record
from ocenter.models import User


def authenticate(ctx: AppContext, username: str, password: str, client: str) -> str:
    """Check ``password`` for ``username`` typed at the login form from ``client`` (a key of
    :func:`ocenter.accounts.throttle.client_key`) and open a session; returns its id.

    Refused, with the key the form shows: a name or password left empty (``login.missing``,
    nothing counted); a client or name that must wait or is locked (``login.wait``,
    ``login.client_locked``, ``login.locked``, no password checked); a wrong password, a name
    that is no user, or a demo user on a production server (``login.failed``, or
    ``login.locked`` for the failure that locks the name); the right password of a deactivated
    user (``login.inactive``).

    Exactly one bcrypt check is made for every password checked, against the user's hash or,
    for a name that is no user, against :data:`DUMMY_HASH` of the same cost.
    """
    name = normalise_name(username)
    if not name or not password:
        raise UserError("login.missing")
    now = ctx.clock.now()
    name_key = user_key(name)
    with Session(ctx.engine) as session:
        failures = claim_check(session, name_key, client, now)
        user = session.get(User, name)
        stored_hash = user.password_hash if user is not None else DUMMY_HASH
    right = check_password(password, stored_hash) and user is not None
    production = not ctx.settings.is_demo
    with Session(ctx.engine) as session:
        if right and not (production and user.is_demo):
            if not forgive(session, name_key, client):  # locked by a parallel attempt meanwhile
                session.rollback()
                raise PermissionDenied("login.locked", limit=USER_LOCK_AFTER)
            if not user.active:
                record(session, name, "login.refused", outcome="inactive", detail=f"from {client}")
                session.commit()
                raise PermissionDenied("login.inactive")
            session_id = open_session(session, name, client, now)
            record(session, name, "login.succeeded", detail=f"from {client}")
            session.commit()
            return session_id
        name_locked, client_locked = count_failure(session, name_key, failures, client, now)
        record(session, name, "login.failed", outcome="refused",
               detail=f"failure {failures} in a row of this name, from {client}")
        if name_locked:
            record(session, name, "login.locked", outcome="locked",
                   detail=f"after {failures} failures in a row; an administrator unlocks it")
        if client_locked:
            record(session, name, "login.client_locked", outcome="locked",
                   detail=f"{client} refused for a while after failures in a row")
        session.commit()
    if name_locked:
        raise PermissionDenied("login.locked", limit=USER_LOCK_AFTER)
    raise PermissionDenied("login.failed")


def log_out(ctx: AppContext, session_id: str) -> None:
    """End the session ``session_id`` at the user's request (logged as ``login.logged_out``)."""
    end_session(ctx, session_id, "logout")
