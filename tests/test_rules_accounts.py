"""Rules of user administration and login: who may manage users, what a user record must hold,
which passwords are taken, and who may log in at all."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from ocenter.accounts.admin import add_user, change_user, list_users, toggle_active, unlock_user
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.accounts.login import (
    authority_of,
    check_password,
    display_name,
    hash_password,
)
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.models import Event, User

PASSWORD = "kata-sandi-baru"


def new_user(ctx, actor, **changes):  # noqa: ANN001, ANN201 - a small builder
    fields = dict(username="petugas", name="Petugas Baru", role=Role.UNIT, clearance=Level.TERBATAS,
                  scope=ScopeKind.UNIT, unit_code="DIT-WAS-KOSMETIK", password=PASSWORD)
    return add_user(ctx, actor, **{**fields, **changes})


def events(ctx, action: str) -> list[Event]:  # noqa: ANN001
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action)).all())


# --- user administration -------------------------------------------------------------------------


def test_only_the_administrator_lists_users_in_name_order(demo_ctx, as_user):
    names = [user.username for user in list_users(demo_ctx, as_user("admin"))]
    assert names == sorted(names) and {"admin", "kepala", "upt"} <= set(names)
    with pytest.raises(PermissionDenied) as refused:
        list_users(demo_ctx, as_user("kepala"))
    assert refused.value.key == "auth.forbidden"


def test_the_administrator_adds_a_user_who_can_then_log_in(demo_ctx, as_user):
    user = new_user(demo_ctx, as_user("admin"), username="  Petugas.Baru ", name="  Petugas Baru ",
                    email="petugas@pom.go.id")
    assert (user.username, user.name, user.email) == ("petugas.baru", "Petugas Baru", "petugas@pom.go.id")
    assert (user.role, user.clearance, user.scope, user.unit_code) == (
        Role.UNIT, Level.TERBATAS, ScopeKind.UNIT, "DIT-WAS-KOSMETIK")
    assert user.active and not user.is_demo
    assert check_password(PASSWORD, user.password_hash) and PASSWORD not in user.password_hash
    # Even in production: a user made by the administrator is not a demo user.
    authority = authority_of(demo_ctx.engine, "petugas.baru", production=True)
    assert authority is not None and authority.unit_code == "DIT-WAS-KOSMETIK"
    [added] = events(demo_ctx, "user.added")
    assert (added.actor, added.detail) == ("admin", "petugas.baru")


def test_the_command_line_adds_users_without_an_actor_and_logs_it_as_cli(demo_ctx):
    new_user(demo_ctx, None, username="operator", role=Role.ADMIN, scope=ScopeKind.BPOM, unit_code=None)
    [added] = events(demo_ctx, "user.added")
    assert (added.actor, added.detail) == ("cli", "operator")


@pytest.mark.parametrize("actor", ["kepala", "analis", "direktur"])
def test_no_one_but_the_administrator_adds_users(demo_ctx, as_user, actor):
    with pytest.raises(PermissionDenied) as refused:
        new_user(demo_ctx, as_user(actor))
    assert refused.value.key == "auth.forbidden"
    assert authority_of(demo_ctx.engine, "petugas", production=False) is None


@pytest.mark.parametrize("username", ["ab", "1petugas", "-petugas", "a" * 41, "pe tugas", "petugas/x", ""])
def test_a_username_outside_the_pattern_is_refused(demo_ctx, as_user, username):
    with pytest.raises(UserError) as refused:
        new_user(demo_ctx, as_user("admin"), username=username)
    assert refused.value.key == "users.bad_username"


@pytest.mark.parametrize("username", ["abc", "a" * 40, "p.e_t-u9"])
def test_usernames_at_the_edges_of_the_pattern_are_taken(demo_ctx, as_user, username):
    assert new_user(demo_ctx, as_user("admin"), username=username).username == username


def test_a_user_needs_a_name(demo_ctx, as_user):
    with pytest.raises(UserError) as refused:
        new_user(demo_ctx, as_user("admin"), name="   ")
    assert refused.value.key == "users.name_required"


@pytest.mark.parametrize("scope", [ScopeKind.UNIT, ScopeKind.UPT])
def test_a_unit_or_upt_scope_needs_its_unit(demo_ctx, as_user, scope):
    with pytest.raises(UserError) as refused:
        new_user(demo_ctx, as_user("admin"), scope=scope, unit_code=None)
    assert refused.value.key == "users.unit_required"


@pytest.mark.parametrize("scope", [ScopeKind.BPOM, ScopeKind.GRANT])
def test_a_bpom_or_grant_scope_needs_no_unit(demo_ctx, as_user, scope):
    assert new_user(demo_ctx, as_user("admin"), scope=scope, unit_code=None).unit_code is None


def test_a_unit_must_exist_and_a_username_is_taken_once(demo_ctx, as_user):
    with pytest.raises(NotFound) as unknown:
        new_user(demo_ctx, as_user("admin"), unit_code="DIT-TIDAK-ADA")
    assert (unknown.value.key, unknown.value.params) == ("users.unknown_unit", {"unit": "DIT-TIDAK-ADA"})
    with pytest.raises(UserError) as taken:
        new_user(demo_ctx, as_user("admin"), username="KEPALA")
    assert (taken.value.key, taken.value.params) == ("admin.user_exists", {"username": "kepala"})
    assert display_name(demo_ctx.engine, "kepala") == "Kepala BPOM"  # not overwritten
    assert events(demo_ctx, "user.added") == []


def test_deactivating_a_user_shuts_them_out_and_activating_lets_them_back(demo_ctx, as_user):
    admin = as_user("admin")
    assert toggle_active(demo_ctx, admin, "deputi") is False
    assert authority_of(demo_ctx.engine, "deputi", production=False) is None
    assert toggle_active(demo_ctx, admin, "deputi") is True
    assert authority_of(demo_ctx.engine, "deputi", production=False) is not None
    assert [e.detail for e in events(demo_ctx, "user.deactivated")] == ["deputi; 0 open session(s) ended"]
    assert [(e.actor, e.detail) for e in events(demo_ctx, "user.activated")] == [("admin", "deputi")]


def test_activation_is_refused_to_others_for_oneself_and_for_unknown_users(demo_ctx, as_user):
    with pytest.raises(PermissionDenied) as refused:
        toggle_active(demo_ctx, as_user("kepala"), "deputi")
    assert refused.value.key == "auth.forbidden"
    with pytest.raises(UserError) as yourself:
        toggle_active(demo_ctx, as_user("admin"), "admin")
    assert yourself.value.key == "users.not_yourself"
    with pytest.raises(NotFound) as unknown:
        toggle_active(demo_ctx, as_user("admin"), "tidak-ada")
    assert (unknown.value.key, unknown.value.params) == ("users.unknown", {"username": "tidak-ada"})
    assert authority_of(demo_ctx.engine, "deputi", production=False) is not None


# --- no administrator above their own clearance ---------------------------------------------------


def _stored(ctx, username: str) -> tuple:  # noqa: ANN001
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        return None if user is None else (user.role, user.clearance)


@pytest.mark.parametrize("clearance", [Level.RAHASIA, Level.SANGAT_RAHASIA])
def test_an_administrator_creates_no_account_above_their_own_clearance(demo_ctx, as_user, clearance):
    admin = as_user("admin")  # the demo's administrator: Terbatas
    with pytest.raises(PermissionDenied) as refused:
        new_user(demo_ctx, admin, clearance=clearance)
    assert refused.value.key == "users.above_own_clearance"
    assert _stored(demo_ctx, "petugas") is None and events(demo_ctx, "user.added") == []


@pytest.mark.parametrize("clearance", [Level.TERBUKA, Level.TERBATAS])
def test_an_administrator_creates_accounts_up_to_their_own_clearance(demo_ctx, as_user, clearance):
    assert new_user(demo_ctx, as_user("admin"), clearance=clearance).clearance == clearance


def test_the_command_line_creates_any_clearance(demo_ctx):
    user = new_user(demo_ctx, None, clearance=Level.SANGAT_RAHASIA, scope=ScopeKind.BPOM, unit_code=None)
    assert user.clearance == Level.SANGAT_RAHASIA


def test_an_administrator_raises_no_account_above_their_own_clearance(demo_ctx, as_user):
    admin = as_user("admin")
    before = _stored(demo_ctx, "unit")
    assert before == (Role.UNIT, Level.TERBATAS)
    for clearance in (Level.RAHASIA, Level.SANGAT_RAHASIA):
        with pytest.raises(PermissionDenied) as refused:
            change_user(demo_ctx, admin, "unit", clearance=clearance)
        assert refused.value.key == "users.above_own_clearance"
    # Nor the role of an account already above it: the account would stay above.
    with pytest.raises(PermissionDenied) as above:
        change_user(demo_ctx, admin, "deputi", role=Role.ADMIN)
    assert above.value.key == "users.above_own_clearance"
    assert _stored(demo_ctx, "unit") == before
    assert _stored(demo_ctx, "deputi") == (Role.DEPUTI, Level.RAHASIA)
    assert events(demo_ctx, "user.changed") == []


def test_an_administrator_changes_role_and_clearance_within_their_own(demo_ctx, as_user):
    admin = as_user("admin")
    changed = change_user(demo_ctx, admin, "upt", role=Role.MITRA, clearance=Level.TERBUKA)
    assert (changed.role, changed.clearance) == (Role.MITRA, Level.TERBUKA)
    # Lowering an account from above the administrator's clearance to within it is allowed.
    assert change_user(demo_ctx, admin, "deputi", clearance=Level.TERBATAS).clearance == Level.TERBATAS
    assert authority_of(demo_ctx.engine, "deputi", production=False).clearance == Level.TERBATAS
    assert [(e.actor, e.detail) for e in events(demo_ctx, "user.changed")] == [
        ("admin", "upt: role upt -> mitra, clearance terbatas -> terbuka"),
        ("admin", "deputi: role deputi -> deputi, clearance rahasia -> terbatas"),
    ]
    change_user(demo_ctx, admin, "upt", role=Role.MITRA)  # nothing to change: nothing logged
    assert len(events(demo_ctx, "user.changed")) == 2
    assert change_user(demo_ctx, None, "kabalai", clearance=Level.SANGAT_RAHASIA).clearance == (
        Level.SANGAT_RAHASIA)  # the command line


def test_changing_users_is_refused_to_others_for_oneself_and_for_unknown_users(demo_ctx, as_user):
    with pytest.raises(PermissionDenied) as refused:
        change_user(demo_ctx, as_user("kepala"), "unit", clearance=Level.TERBUKA)
    assert refused.value.key == "auth.forbidden"
    with pytest.raises(UserError) as yourself:
        change_user(demo_ctx, as_user("admin"), "admin", role=Role.UNIT)
    assert yourself.value.key == "users.not_yourself_change"
    with pytest.raises(NotFound) as unknown:
        change_user(demo_ctx, as_user("admin"), "tidak-ada", clearance=Level.TERBUKA)
    assert (unknown.value.key, unknown.value.params) == ("users.unknown", {"username": "tidak-ada"})
    assert _stored(demo_ctx, "unit") == (Role.UNIT, Level.TERBATAS)
    assert _stored(demo_ctx, "admin") == (Role.ADMIN, Level.TERBATAS)
    assert events(demo_ctx, "user.changed") == []


def test_only_the_administrator_unlocks_and_only_what_is_locked(demo_ctx, as_user):
    with pytest.raises(PermissionDenied) as refused:
        unlock_user(demo_ctx, as_user("kepala"), "unit")
    assert refused.value.key == "auth.forbidden"
    with pytest.raises(NotFound) as not_locked:
        unlock_user(demo_ctx, as_user("admin"), "unit")
    assert (not_locked.value.key, not_locked.value.params) == ("users.not_locked", {"username": "unit"})
    assert events(demo_ctx, "login.unlocked") == []


# --- passwords and login ------------------------------------------------------------------------


def test_passwords_of_eight_characters_up_to_72_bytes_are_taken():
    with pytest.raises(UserError) as short:
        hash_password("1234567")
    assert (short.value.key, short.value.params) == ("auth.password_too_short", {"limit": 8})
    assert check_password("12345678", hash_password("12345678"))
    longest = "x" * 72
    assert check_password(longest, hash_password(longest))
    # Bytes, not characters, are what bcrypt reads: 37 two-byte letters are 74 bytes.
    with pytest.raises(UserError) as too_long:
        hash_password("é" * 37)
    assert too_long.value.key == "auth.password_too_long"
    assert check_password("é" * 36, hash_password("é" * 36))


def test_a_broken_stored_hash_refuses_the_login_without_an_error():
    assert check_password(PASSWORD, "not-a-bcrypt-hash") is False


def test_no_username_or_an_unknown_one_has_no_authority(demo_ctx):
    assert authority_of(demo_ctx.engine, None, production=False) is None
    assert authority_of(demo_ctx.engine, "", production=False) is None
    assert authority_of(demo_ctx.engine, "tidak-ada", production=False) is None


def test_authority_carries_the_users_scope_unit_and_grants(demo_ctx):
    tamu = authority_of(demo_ctx.engine, "tamu", production=False)
    assert (tamu.role, tamu.clearance, tamu.scope, tamu.unit_code) == (
        Role.TAMU, Level.TERBATAS, ScopeKind.GRANT, None)
    assert tamu.grants == ["ringkasan-pengawasan-nasional"]
    direktur = authority_of(demo_ctx.engine, "direktur", production=False)
    assert (direktur.scope, direktur.unit_code) == (ScopeKind.UNIT, "DIT-WAS-EDAR-PANGAN")


def test_the_display_name_is_the_full_name_or_the_username(demo_ctx):
    assert display_name(demo_ctx.engine, "analis") == "Analis Data Pusdatin"
    assert display_name(demo_ctx.engine, "tidak-ada") == "tidak-ada"


def test_a_deactivated_user_is_out_in_demo_mode_too(demo_ctx):
    with Session(demo_ctx.engine) as session:
        session.get(User, "upt").active = False
        session.commit()
    assert authority_of(demo_ctx.engine, "upt", production=False) is None


def test_a_throttle_key_names_the_login_name_it_was_made_from():
    from ocenter.accounts.throttle import name_of, user_key

    for typed in ("kepala", "Kepala.BPOM", "user:odd"):
        assert name_of(user_key(typed)) == typed.lower()


@pytest.mark.parametrize(("role", "clearance", "unit", "readable"), [
    (Role.DIREKTUR, Level.RAHASIA, "DIT-WAS-KOSMETIK", True),  # within clearance
    (Role.UNIT, Level.TERBATAS, "DIT-WAS-KOSMETIK", False),  # own unit, below its level
    (Role.ANALIS, Level.TERBATAS, "PUSDATIN", False),  # Pusdatin, below its level
])
def test_a_requests_purpose_is_read_only_within_the_viewers_clearance(role, clearance, unit, readable):
    from ocenter.accounts.authority import Authority
    from ocenter.accounts.visibility import request_purpose
    from ocenter.i18n import t
    from ocenter.models import DashboardRequest

    request = DashboardRequest(id=7, title="Peta TMS", purpose="Rapat pimpinan tentang TMS.",
                               requesting_unit="DIT-WAS-KOSMETIK", requested_by="unit", datasets=[],
                               level=Level.RAHASIA, audience=[], dashboard_id="dasbor-0007")
    viewer = Authority(username="x", role=role, clearance=clearance, scope=ScopeKind.UNIT, unit_code=unit)
    shown = request_purpose(viewer, request, "id")
    assert shown == (request.purpose if readable else t("request.purpose_withheld", "id"))
