"""Login that holds up: throttling per name and per client, lockout and unlock, one bcrypt check
whoever the name is, and sessions that end on the server (logout, deactivation, idleness).

Time is a ``FixedClock`` moved by hand, so each delay is stepped over exactly, not waited for.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import jwt
import pytest
from sqlmodel import Session, select

from ocenter.accounts.admin import add_user, locked_users, toggle_active, unlock_user
from ocenter.accounts.authentication import authenticate, log_out
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.accounts.login import BCRYPT_ROUNDS, DUMMY_HASH
from ocenter.accounts.sessions import (
    SEEN_EVERY,
    session_authority,
    session_id_of,
    session_lifetime,
    session_token,
)
from ocenter.accounts.throttle import (
    CLIENT_FREE_FAILURES,
    CLIENT_LOCK,
    CLIENT_LOCK_AFTER,
    MAX_DELAY_SECONDS,
    USER_LOCK_AFTER,
    claim_check,
    client_delay_after,
    client_key,
    delay_after,
    forgive,
    user_key,
)
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.clock import FixedClock
from ocenter.context import AppContext, open_context
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.models import Event, LoginSession, LoginThrottle, User
from tests.conftest import settings_for

START = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
HERE, THERE = "client:10.20.30.40", "client:10.20.30.41"
WRONG = "bukan-kata-sandinya"


def at(ctx: AppContext, seconds: float) -> AppContext:
    """The same installation, its clock at ``START`` plus ``seconds``."""
    return dataclasses.replace(ctx, clock=FixedClock(START + timedelta(seconds=seconds)))


def refusal(ctx: AppContext, username: str, password: str, client: str = HERE) -> UserError:
    with pytest.raises(UserError) as refused:
        authenticate(ctx, username, password, client)
    return refused.value


def events(ctx: AppContext, action: str) -> list[Event]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action)).all())


def throttle_row(ctx: AppContext, key: str) -> LoginThrottle | None:
    with Session(ctx.engine) as session:
        return session.get(LoginThrottle, key)


def fail_until_locked(ctx: AppContext, username: str, client: str = HERE) -> float:
    """Wrong passwords for ``username``, each after its delay; returns the moment of the lock."""
    moment = 0.0
    for failure in range(1, USER_LOCK_AFTER + 1):
        refused = refusal(at(ctx, moment), username, WRONG, client)
        expected = "login.locked" if failure == USER_LOCK_AFTER else "login.failed"
        assert refused.key == expected, failure
        moment += delay_after(failure)
    return moment


# --- the rules of throttling ---------------------------------------------------------------------


def test_the_delays_grow_with_each_failure_up_to_a_minute():
    assert [delay_after(n) for n in range(1, 10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert delay_after(0) == 0 and delay_after(50) == MAX_DELAY_SECONDS
    # A client's first few failures (colleagues sharing an address) cost nobody a wait.
    free = [client_delay_after(n) for n in range(1, CLIENT_FREE_FAILURES + 1)]
    assert free == [0] * CLIENT_FREE_FAILURES
    assert [client_delay_after(CLIENT_FREE_FAILURES + n) for n in range(1, 4)] == [1, 2, 4]


def test_a_client_is_its_forwarded_address_its_address_or_its_browser_session():
    assert client_key("203.0.113.9", "10.0.0.1", "abc") == "client:203.0.113.9"
    # Through proxies, the entry the nearest (trusted) one appended counts, not the browser's.
    assert client_key("6.6.6.6, 203.0.113.9", None, "abc") == "client:203.0.113.9"
    assert client_key("bukan-alamat", "10.0.0.1", "abc") == "client:10.0.0.1"
    assert client_key(None, None, "abc") == "client:session:abc"
    # One IPv6 subscriber holds a whole /64: its addresses count as one client.
    assert client_key(None, "2001:db8:1:2::5", "abc") == client_key(None, "2001:db8:1:2:ffff::1", "x")
    assert client_key(None, "2001:db8:1:2::5", "abc") == "client:2001:db8:1:2::/64"


# --- names -----------------------------------------------------------------------------------------


def test_five_wrong_passwords_in_a_row_lock_the_name_until_an_administrator_unlocks_it(
        demo_ctx, as_user):
    locked_at = fail_until_locked(demo_ctx, "direktur")
    later = at(demo_ctx, locked_at + 3600)
    # Locked: even the right password opens nothing, an hour later too, from anywhere.
    for client in (HERE, THERE):
        refused = refusal(later, "direktur", DEMO_PASSWORD, client)
        assert (refused.key, refused.params) == ("login.locked", {"limit": USER_LOCK_AFTER})
    assert len(events(demo_ctx, "login.failed")) == USER_LOCK_AFTER
    assert [e.actor for e in events(demo_ctx, "login.locked")] == ["direktur"]
    assert events(demo_ctx, "login.succeeded") == []
    assert [row.key for row in locked_users(demo_ctx, as_user("admin"))] == ["user:direktur"]

    unlock_user(later, as_user("admin"), "Direktur ")
    assert [(e.actor, e.detail) for e in events(demo_ctx, "login.unlocked")] == [("admin", "direktur")]
    session_id = authenticate(later, "direktur", DEMO_PASSWORD, HERE)
    assert session_authority(later, session_id).username == "direktur"
    assert locked_users(demo_ctx, as_user("admin")) == []


def test_a_name_that_is_no_user_locks_alike_so_a_lockout_tells_nothing(demo_ctx, as_user):
    fail_until_locked(demo_ctx, "tidak-ada")
    refused = refusal(at(demo_ctx, 3600), "tidak-ada", WRONG)
    assert (refused.key, refused.params) == ("login.locked", {"limit": USER_LOCK_AFTER})
    assert [row.key for row in locked_users(demo_ctx, as_user("admin"))] == ["user:tidak-ada"]
    unlock_user(demo_ctx, None, "tidak-ada")  # the command line
    assert [(e.actor, e.detail) for e in events(demo_ctx, "login.unlocked")] == [("cli", "tidak-ada")]


def test_a_check_before_its_delay_is_refused_and_not_counted(demo_ctx):
    refusal(at(demo_ctx, 0), "analis", WRONG)
    refusal(at(demo_ctx, 0), "analis", WRONG)  # no delay after the first failure
    early = refusal(at(demo_ctx, 0.5), "analis", DEMO_PASSWORD)
    assert (early.key, early.params) == ("login.wait", {"seconds": 1})  # even the right password
    assert throttle_row(demo_ctx, "user:analis").failures == 2
    assert len(events(demo_ctx, "login.failed")) == 2
    refusal(at(demo_ctx, 1), "analis", WRONG)
    assert refusal(at(demo_ctx, 1.2), "analis", WRONG).params == {"seconds": 2}
    assert authenticate(at(demo_ctx, 3), "analis", DEMO_PASSWORD, HERE)


def test_the_right_password_ends_the_run_of_failures(demo_ctx):
    moment = 0.0
    for failure in range(1, USER_LOCK_AFTER):
        refusal(at(demo_ctx, moment), "unit", WRONG)
        moment += delay_after(failure)
    authenticate(at(demo_ctx, moment), "unit", DEMO_PASSWORD, HERE)
    assert throttle_row(demo_ctx, "user:unit") is None  # nothing left to count
    # Four more wrong passwords do not lock: the count started again.
    for failure in range(1, USER_LOCK_AFTER):
        assert refusal(at(demo_ctx, moment + 100 * failure), "unit", WRONG).key == "login.failed"


def test_an_empty_name_or_password_is_refused_without_counting(demo_ctx):
    for username, password in (("", DEMO_PASSWORD), ("   ", DEMO_PASSWORD), ("kepala", "")):
        assert refusal(demo_ctx, username, password).key == "login.missing"
    with Session(demo_ctx.engine) as session:
        assert session.exec(select(LoginThrottle)).all() == []
    assert events(demo_ctx, "login.failed") == []


def test_a_deactivated_user_is_told_so_only_with_the_right_password(demo_ctx, as_user):
    toggle_active(demo_ctx, as_user("admin"), "deputi")
    assert refusal(at(demo_ctx, 0), "deputi", WRONG).key == "login.failed"
    inactive = refusal(at(demo_ctx, 60), "deputi", DEMO_PASSWORD)
    assert inactive.key == "login.inactive"
    assert [(e.actor, e.outcome) for e in events(demo_ctx, "login.refused")] == [("deputi", "inactive")]
    with Session(demo_ctx.engine) as session:
        assert session.exec(select(LoginSession)).all() == []


def test_a_demo_user_on_a_production_server_is_a_wrong_name(demo_home):
    ctx = open_context(settings_for(demo_home, mode="production"))
    try:
        assert refusal(ctx, "kepala", DEMO_PASSWORD).key == "login.failed"
        assert throttle_row(ctx, "user:kepala").failures == 1  # counted like any failure
    finally:
        ctx.engine.dispose()


# --- clients -----------------------------------------------------------------------------------


def test_twenty_failures_from_one_client_refuse_it_for_a_while_whatever_the_names(demo_ctx):
    moment = 0.0
    for failure in range(1, CLIENT_LOCK_AFTER + 1):
        # A name never reaches its own lock here: each is tried once.
        refused = refusal(at(demo_ctx, moment), f"tebakan{failure}", WRONG)
        assert refused.key == "login.failed", failure
        if failure == CLIENT_FREE_FAILURES + 1:  # its delays begin
            early = refusal(at(demo_ctx, moment), "kepala", DEMO_PASSWORD)
            assert (early.key, early.params) == ("login.wait", {"seconds": 1})
        locked_at = moment
        moment += client_delay_after(failure)
    blocked = refusal(at(demo_ctx, locked_at), "kepala", DEMO_PASSWORD)
    assert (blocked.key, blocked.params) == ("login.client_locked", {"minutes": 15})
    assert len(events(demo_ctx, "login.client_locked")) == 1
    # Another client is not held up, and the client itself is free again after the while.
    assert authenticate(at(demo_ctx, locked_at), "kepala", DEMO_PASSWORD, THERE)
    again = at(demo_ctx, locked_at + CLIENT_LOCK.total_seconds())
    assert authenticate(again, "kepala", DEMO_PASSWORD, HERE)


def test_a_login_from_a_client_ends_its_run_of_failures(demo_ctx):
    for failure in range(1, CLIENT_FREE_FAILURES + 3):
        refusal(at(demo_ctx, 100 * failure), f"salah{failure}", WRONG)
    assert throttle_row(demo_ctx, HERE).failures == CLIENT_FREE_FAILURES + 2
    authenticate(at(demo_ctx, 1000), "kepala", DEMO_PASSWORD, HERE)
    assert throttle_row(demo_ctx, HERE) is None


# --- one bcrypt check, whoever the name is -------------------------------------------------------


def _bcrypt_checks(call) -> int:  # noqa: ANN001
    """How many times ``call()`` runs bcrypt's check (profiled, not replaced)."""
    seen: list[object] = []

    def profile(_frame, event, arg) -> None:  # noqa: ANN001
        if event == "c_call" and arg is bcrypt.checkpw:
            seen.append(arg)

    sys.setprofile(profile)
    try:
        call()
    except UserError:
        pass
    finally:
        sys.setprofile(None)
    return len(seen)


def test_a_name_that_is_no_user_costs_one_bcrypt_check_like_a_users_wrong_password(demo_ctx):
    known = _bcrypt_checks(lambda: authenticate(at(demo_ctx, 0), "kepala", WRONG, HERE))
    unknown = _bcrypt_checks(lambda: authenticate(at(demo_ctx, 0), "tidak-ada", WRONG, THERE))
    right = _bcrypt_checks(lambda: authenticate(at(demo_ctx, 60), "kepala", DEMO_PASSWORD, HERE))
    assert (known, unknown, right) == (1, 1, 1)
    # ... and the check against the stand-in hash costs what a user's does: the same rounds.
    cost = f"$2b${BCRYPT_ROUNDS:02d}$"
    assert DUMMY_HASH.startswith(cost) and bcrypt.checkpw(b"x", DUMMY_HASH.encode()) is False
    with Session(demo_ctx.engine) as session:
        assert {user.password_hash[:7] for user in session.exec(select(User)).all()} == {cost}


# --- sessions ------------------------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server_and_a_copied_cookie_with_it(demo_ctx):
    session_id = authenticate(demo_ctx, "kepala", DEMO_PASSWORD, HERE)
    key = demo_ctx.settings.cookie_key
    cookie = session_token(session_id, key, demo_ctx.clock.now() + session_lifetime(demo_ctx))
    # The cookie holds the session id and its expiry, signed; no name, no role, no password.
    assert set(jwt.decode(cookie, key, algorithms=["HS256"])) == {"sid", "exp"}
    assert session_id_of(cookie, key) == session_id
    assert session_authority(demo_ctx, session_id_of(cookie, key)).username == "kepala"
    with Session(demo_ctx.engine) as session:  # the database keeps only the id's digest
        assert [s.id_sha256 for s in session.exec(select(LoginSession)).all()] == [
            hashlib.sha256(session_id.encode()).hexdigest()]

    log_out(demo_ctx, session_id)
    copied = session_id_of(cookie, key)  # the cookie is still well signed ...
    with pytest.raises(PermissionDenied) as ended:
        session_authority(demo_ctx, copied)  # ... and opens nothing
    assert ended.value.key == "login.session_ended"
    assert [e.actor for e in events(demo_ctx, "login.logged_out")] == ["kepala"]
    log_out(demo_ctx, session_id)  # twice changes nothing
    assert len(events(demo_ctx, "login.logged_out")) == 1


def test_a_cookie_is_taken_only_signed_with_the_key_and_before_it_expires(demo_ctx):
    key, now = demo_ctx.settings.cookie_key, datetime.now(UTC)
    cookie = session_token("sesi", key, now + timedelta(hours=1))
    assert session_id_of(cookie, key) == "sesi"
    assert session_id_of(cookie, "k" + key[1:]) is None
    assert session_id_of(session_token("sesi", key, now - timedelta(seconds=5)), key) is None
    head, body, signature = cookie.split(".")
    assert session_id_of(f"{head}.{body}.{signature[::-1]}", key) is None
    assert session_id_of("", key) is None and session_id_of(None, key) is None
    # Well signed but without an expiry, a cookie would open its session for ever: refused.
    assert session_id_of(jwt.encode({"sid": "sesi"}, key, algorithm="HS256"), key) is None
    with pytest.raises(PermissionDenied) as unknown:
        session_authority(demo_ctx, "tidak-pernah-dibuka")
    assert unknown.value.key == "login.session_ended"


def test_deactivating_a_user_ends_every_session_they_hold_at_once(demo_ctx, as_user):
    now = at(demo_ctx, 10)
    first = authenticate(at(demo_ctx, 0), "kabalai", DEMO_PASSWORD, HERE)
    second = authenticate(at(demo_ctx, 5), "kabalai", DEMO_PASSWORD, THERE)
    others = authenticate(at(demo_ctx, 0), "kepala", DEMO_PASSWORD, HERE)
    assert toggle_active(now, as_user("admin"), "kabalai") is False
    for session_id in (first, second):
        with pytest.raises(PermissionDenied) as ended:
            session_authority(now, session_id)
        assert ended.value.key == "login.account_deactivated"
    assert session_authority(now, others).username == "kepala"
    [deactivated] = events(demo_ctx, "user.deactivated")
    assert deactivated.detail == "kabalai; 2 open session(s) ended"
    # Activated again, they log in anew: the ended sessions stay ended.
    toggle_active(now, as_user("admin"), "kabalai")
    with pytest.raises(PermissionDenied):
        session_authority(now, first)


def test_a_session_unused_for_its_lifetime_ends(demo_ctx):
    session_id = authenticate(at(demo_ctx, 0), "layar", DEMO_PASSWORD, HERE)
    lifetime = session_lifetime(demo_ctx).total_seconds()
    # Used now and then, it lives on past its first lifetime; each use is written at most once
    # a minute.
    session_authority(at(demo_ctx, 30), session_id)
    session_authority(at(demo_ctx, lifetime - 1), session_id)
    with Session(demo_ctx.engine) as session:
        [seen] = session.exec(select(LoginSession.last_seen_at)).all()
    assert seen == START + timedelta(seconds=lifetime - 1) and SEEN_EVERY.total_seconds() > 30
    session_authority(at(demo_ctx, 2 * lifetime - 2), session_id)
    with pytest.raises(PermissionDenied) as expired:
        session_authority(at(demo_ctx, 3 * lifetime), session_id)
    assert expired.value.key == "login.session_expired"
    assert [e.outcome for e in events(demo_ctx, "login.session_ended")] == ["idle"]


def test_an_idle_session_ends_alone_and_the_same_users_other_session_lives_on(demo_ctx):
    lifetime = session_lifetime(demo_ctx).total_seconds()
    forgotten = authenticate(at(demo_ctx, 0), "layar", DEMO_PASSWORD, HERE)
    in_use = authenticate(at(demo_ctx, 2 * lifetime), "layar", DEMO_PASSWORD, THERE)
    with pytest.raises(PermissionDenied) as expired:
        session_authority(at(demo_ctx, 2 * lifetime + 1), forgotten)
    assert expired.value.key == "login.session_expired"
    assert session_authority(at(demo_ctx, 2 * lifetime + 2), in_use).username == "layar"
    with Session(demo_ctx.engine) as session:
        ended = {s.id_sha256: s.end_reason for s in session.exec(select(LoginSession)).all()}
    assert ended == {hashlib.sha256(forgotten.encode()).hexdigest(): "idle",
                     hashlib.sha256(in_use.encode()).hexdigest(): ""}  # "": still open


def test_a_user_made_inactive_outside_the_app_is_shut_out_at_the_next_check(demo_ctx):
    session_id = authenticate(at(demo_ctx, 0), "kabalai", DEMO_PASSWORD, HERE)
    with Session(demo_ctx.engine) as session:  # a database administrator's change, or a restore
        session.get(User, "kabalai").active = False
        session.commit()
    with pytest.raises(PermissionDenied) as ended:
        session_authority(at(demo_ctx, 10), session_id)
    assert ended.value.key == "login.account_deactivated"
    assert [(e.actor, e.outcome) for e in events(demo_ctx, "login.session_ended")] == [
        ("kabalai", "deactivated")]
    with pytest.raises(PermissionDenied) as still:  # ended for good, with its reason
        session_authority(at(demo_ctx, 20), session_id)
    assert still.value.key == "login.account_deactivated"


def test_a_right_password_does_not_clear_a_lock_set_meanwhile(demo_ctx):
    fail_until_locked(demo_ctx, "unit")
    with Session(demo_ctx.engine) as session:
        assert forgive(session, user_key("unit"), HERE) is False
        session.commit()
    assert throttle_row(demo_ctx, user_key("unit")).locked_at is not None


def test_a_session_reads_the_users_authority_fresh_on_every_check(demo_ctx):
    session_id = authenticate(demo_ctx, "deputi", DEMO_PASSWORD, HERE)
    assert session_authority(demo_ctx, session_id).clearance == Level.RAHASIA
    with Session(demo_ctx.engine) as session:
        session.get(User, "deputi").clearance = Level.TERBATAS
        session.commit()
    assert session_authority(demo_ctx, session_id).clearance == Level.TERBATAS


# --- the same on PostgreSQL ----------------------------------------------------------------------


@pytest.mark.postgres
def test_lockout_unlock_and_sessions_on_postgresql(postgres_url, tmp_path: Path):
    ctx = open_context(settings_for(tmp_path / "home", postgres_url))
    try:
        add_user(ctx, None, username="pimpinan", name="Pimpinan", role=Role.KEPALA,
                 clearance=Level.SANGAT_RAHASIA, scope=ScopeKind.BPOM, unit_code=None,
                 password="kata-sandi-pimpinan")
        locked_at = fail_until_locked(ctx, "pimpinan")
        later = at(ctx, locked_at + 60)
        assert refusal(later, "pimpinan", "kata-sandi-pimpinan").key == "login.locked"
        unlock_user(later, None, "pimpinan")
        session_id = authenticate(later, "pimpinan", "kata-sandi-pimpinan", HERE)
        assert session_authority(later, session_id).clearance == Level.SANGAT_RAHASIA
        log_out(later, session_id)
        with pytest.raises(PermissionDenied):
            session_authority(later, session_id)
        with pytest.raises(NotFound) as not_locked:
            unlock_user(later, None, "pimpinan")
        assert not_locked.value.key == "users.not_locked"
    finally:
        ctx.engine.dispose()


@pytest.mark.postgres
def test_a_check_claimed_by_another_replica_meanwhile_counts_once_and_says_wait(postgres_url, tmp_path: Path):
    from sqlalchemy import event, update

    ctx = open_context(settings_for(tmp_path / "home", postgres_url))
    key = user_key("pimpinan")
    fired: list[str] = []

    def other_replica(conn, cursor, statement, params, context, executemany) -> None:  # noqa: ANN001
        # Between this check's read of the count and its claim, another replica claims one.
        if statement.startswith("UPDATE loginthrottle SET failures") and not fired:
            fired.append(statement)
            with ctx.engine.connect() as other:
                other.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                              .values(failures=LoginThrottle.failures + 1))
                other.commit()

    try:
        assert refusal(at(ctx, 0), "pimpinan", WRONG).key == "login.failed"  # one failure so far
        event.listen(ctx.engine, "before_cursor_execute", other_replica)
        try:
            with Session(ctx.engine) as session, pytest.raises(PermissionDenied) as wait:
                claim_check(session, key, HERE, START + timedelta(seconds=5))
        finally:
            event.remove(ctx.engine, "before_cursor_execute", other_replica)
        assert fired
        assert (wait.value.key, wait.value.params) == ("login.wait", {"seconds": 1})
        assert throttle_row(ctx, key).failures == 2  # the other replica's, not a third
    finally:
        ctx.engine.dispose()
