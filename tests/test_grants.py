"""Authorised parties: dashboards granted by name, with a reason, who granted them and until when;
counted only while in force, revocable, logged, and refused with nothing changed when wrong."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, col, select

from ocenter import cli
from ocenter.accounts import grants
from ocenter.accounts.authority import Authority
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import DEMO_GRANT_DAYS
from ocenter.clock import SYSTEM_CLOCK, FixedClock
from ocenter.context import AppContext
from ocenter.display.filtering import can_view, visible_specs
from ocenter.errors import UserError
from ocenter.i18n import markdown_literal
from ocenter.models import DashboardGrant, Event

SUMMARY = "ringkasan-pengawasan-nasional"  # Terbatas, for all of BPOM only: others need a grant
MONITOR = "pantauan-sampling-pengujian"  # Rahasia
#: A day far from the machine's own, so nothing here depends on when the tests run.
DAY = date(2031, 5, 12)
ON_DAY = FixedClock.wib(DAY.year, DAY.month, DAY.day)
REASON = "Koordinasi pengawasan dengan balai selama operasi pasar."


def _rows(ctx: AppContext) -> dict[str, list[tuple]]:
    """Every row of every table: a refusal leaves them all as they were."""
    with ctx.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in
                         connection.execute(table.select().order_by(*table.primary_key.columns))]
            for table in SQLModel.metadata.sorted_tables
        }


def _events(ctx: AppContext, action: str) -> list[Event]:
    with Session(ctx.engine) as session:
        return list(session.exec(select(Event).where(Event.action == action)
                                 .order_by(col(Event.id))).all())


def _viewer(ctx: AppContext, username: str, today: date) -> Authority:
    authority = authority_of(ctx.engine, username, production=False, today=today)
    assert authority is not None, username
    return authority


def _displayed_for(ctx: AppContext, viewer: Authority) -> list[str]:
    main = ctx.store.snapshot("main")
    shown = main.displayed_specs()
    return [spec.id for spec in visible_specs(shown.values(), viewer, on_display=shown.keys())]


# --- the demo's authorised party -----------------------------------------------------------------


def test_the_demo_grant_is_a_row_with_its_reason_and_a_year_to_run(demo_ctx, as_user):
    (entry,) = grants.list_grants(demo_ctx, as_user("admin"))
    assert (entry.username, entry.dashboard_id, entry.granted_by) == ("tamu", SUMMARY, "system")
    assert entry.reason.strip() and entry.dashboard_title == "Ringkasan Pengawasan Nasional"
    # A year after the first start (the template was made today, or yesterday near midnight).
    assert entry.expires_on - SYSTEM_CLOCK.today() in (timedelta(days=DEMO_GRANT_DAYS),
                                                       timedelta(days=DEMO_GRANT_DAYS - 1))
    assert as_user("tamu").grants == [SUMMARY]
    assert _displayed_for(demo_ctx, as_user("tamu")) == [SUMMARY]
    assert [e.actor for e in _events(demo_ctx, "grant.added")] == ["system"]


def test_a_grant_is_given_counted_revoked_and_both_are_logged(demo_ctx):
    ctx = replace(demo_ctx, clock=ON_DAY)
    summary = ctx.store.snapshot("main").specs[SUMMARY]
    before = _viewer(ctx, "upt", DAY)
    assert not can_view(before, summary)  # a UPT's staff do not see the national summary

    grant = grants.grant_dashboard(ctx, _viewer(ctx, "analis", DAY), "upt", SUMMARY, REASON,
                                   DAY + timedelta(days=30))
    assert (grant.granted_by, grant.expires_on, grant.revoked_at) == (
        "analis", DAY + timedelta(days=30), None)
    granted = _viewer(ctx, "upt", DAY)
    assert granted.grants == [SUMMARY] and can_view(granted, summary)
    assert SUMMARY in _displayed_for(ctx, granted)
    (added,) = [e for e in _events(ctx, "grant.added") if e.actor == "analis"]
    assert f"grant {grant.id}" in added.detail and REASON in added.detail

    admin = _viewer(ctx, "admin", DAY)
    assert [e.id for e in grants.list_grants(ctx, admin) if e.username == "upt"] == [grant.id]
    revoked = grants.revoke_grant(ctx, admin, grant.id, "Operasi pasar selesai.")
    assert (revoked.revoked_by, revoked.revoke_reason) == ("admin", "Operasi pasar selesai.")
    after = _viewer(ctx, "upt", DAY)
    assert after.grants == [] and not can_view(after, summary)
    assert SUMMARY not in _displayed_for(ctx, after)
    (logged,) = _events(ctx, "grant.revoked")
    assert logged.actor == "admin" and f"grant {grant.id}" in logged.detail

    assert grant.id not in [e.id for e in grants.list_grants(ctx, admin)]
    (ended,) = [e for e in grants.list_grants(ctx, admin, include_ended=True) if e.id == grant.id]
    assert (ended.state, ended.revoked_by, ended.revoke_reason) == (
        grants.GrantState.REVOKED, "admin", "Operasi pasar selesai.")


def test_a_grant_counts_until_the_day_before_it_ends_and_then_leaves_no_trace(demo_ctx):
    ctx = replace(demo_ctx, clock=ON_DAY)
    ends = DAY + timedelta(days=10)
    grant = grants.grant_dashboard(ctx, _viewer(ctx, "analis", DAY), "upt", SUMMARY, REASON, ends)
    summary = ctx.store.snapshot("main").specs[SUMMARY]

    last_day = _viewer(ctx, "upt", ends - timedelta(days=1))
    assert last_day.grants == [SUMMARY] and can_view(last_day, summary)
    for day in (ends, ends + timedelta(days=1), ends + timedelta(days=400)):
        viewer = _viewer(ctx, "upt", day)
        assert viewer.grants == [] and not can_view(viewer, summary)
        assert _displayed_for(ctx, viewer) == []  # nothing of the dashboard is named

    on_the_end = replace(demo_ctx, clock=FixedClock.wib(ends.year, ends.month, ends.day))
    admin = _viewer(on_the_end, "admin", ends)
    assert grant.id not in [e.id for e in grants.list_grants(on_the_end, admin)]
    (expired,) = [e for e in grants.list_grants(on_the_end, admin, include_ended=True)
                  if e.id == grant.id]
    assert expired.state == grants.GrantState.EXPIRED and expired.revoked_at is None
    # Once ended it may be granted again, as a new grant.
    again = grants.grant_dashboard(on_the_end, admin, "upt", SUMMARY, REASON,
                                   ends + timedelta(days=5))
    assert again.id != grant.id and _viewer(on_the_end, "upt", ends).grants == [SUMMARY]


def test_a_granter_sees_and_grants_only_within_their_own_clearance(demo_ctx):
    ctx = replace(demo_ctx, clock=ON_DAY)
    analyst, admin = _viewer(ctx, "analis", DAY), _viewer(ctx, "admin", DAY)  # Rahasia, Terbatas
    assert {d.id for d in grants.grantable_dashboards(ctx, analyst)} == {SUMMARY, MONITOR}
    assert [d.id for d in grants.grantable_dashboards(ctx, admin)] == [SUMMARY]
    assert "tamu" in {u.username for u in grants.grantees(ctx, admin)}
    # The analyst grants the Rahasia dashboard to the head of a UPT (Rahasia clearance); the
    # administrator, cleared for Terbatas, neither sees that grant nor may revoke it.
    secret = grants.grant_dashboard(ctx, analyst, "kabalai", MONITOR, REASON, DAY + timedelta(days=7))
    assert secret.id in [e.id for e in grants.list_grants(ctx, analyst)]
    assert secret.id not in [e.id for e in grants.list_grants(ctx, admin, include_ended=True)]
    before = _rows(ctx)
    with pytest.raises(UserError) as refused:
        grants.revoke_grant(ctx, admin, secret.id, "Tidak diperlukan lagi.")
    assert refused.value.key == "grants.unknown"
    assert _rows(ctx) == before


# --- refusals ------------------------------------------------------------------------------------

Attempt = Callable[[AppContext], object]


def _grant(username: str, dashboard_id: str, *, by: str = "analis", reason: str = REASON,
           ends: date = DAY + timedelta(days=30)) -> Attempt:
    return lambda ctx: grants.grant_dashboard(ctx, _viewer(ctx, by, DAY), username, dashboard_id,
                                              reason, ends)


def _revoke(grant_id: int, *, by: str = "admin", reason: str = "Tidak diperlukan lagi.") -> Attempt:
    return lambda ctx: grants.revoke_grant(ctx, _viewer(ctx, by, DAY), grant_id, reason)


REFUSALS: list = [
    pytest.param(_grant("upt", SUMMARY, by="kepala"), "auth.forbidden", id="by-a-viewer"),
    pytest.param(_grant("upt", SUMMARY, by="verifikator"), "auth.forbidden", id="by-a-verifier"),
    pytest.param(_grant("upt", SUMMARY, reason="  \n "), "grants.reason_required", id="no-reason"),
    pytest.param(_grant("upt", SUMMARY, reason="x" * (grants.MAX_REASON_LENGTH + 1)),
                 "grants.reason_too_long", id="reason-too-long"),
    pytest.param(_grant("upt", SUMMARY, ends=DAY), "grants.expiry_not_future", id="ends-today"),
    pytest.param(_grant("upt", SUMMARY, ends=DAY - timedelta(days=1)), "grants.expiry_not_future",
                 id="ended-yesterday"),
    pytest.param(_grant("upt", "tidak-ada"), "grants.unknown_dashboard", id="unknown-dashboard"),
    pytest.param(_grant("upt", "tren-temuan-kosmetik"), "grants.unknown_dashboard",
                 id="a-mockup-not-yet-approved"),
    pytest.param(_grant("tidak-ada", SUMMARY), "users.unknown", id="unknown-user"),
    pytest.param(_grant("mitra", SUMMARY), "grants.above_user_clearance",
                 id="above-the-users-clearance"),
    pytest.param(_grant("tamu", SUMMARY), "grants.duplicate", id="already-granted"),
    pytest.param(_revoke(999), "grants.unknown", id="revoke-unknown"),
    pytest.param(_revoke(1, reason=""), "grants.reason_required", id="revoke-without-reason"),
    pytest.param(_revoke(1, by="tamu"), "auth.forbidden", id="revoke-by-the-grantee"),
]


@pytest.mark.parametrize(("attempt", "key"), REFUSALS)
def test_a_wrong_grant_or_revocation_is_refused_and_changes_nothing(demo_ctx, attempt, key):
    ctx = replace(demo_ctx, clock=ON_DAY)
    # The demo's grant to tamu, moved to end a year after DAY, so that it is in force on DAY.
    with Session(ctx.engine) as session:
        demo = session.get(DashboardGrant, 1)
        demo.expires_on = DAY + timedelta(days=365)
        session.commit()
    before = _rows(ctx)
    with pytest.raises(UserError) as refused:
        attempt(ctx)
    assert refused.value.key == key
    assert _rows(ctx) == before


def test_a_dashboard_above_the_granters_clearance_is_refused_without_naming_it(demo_ctx):
    ctx = replace(demo_ctx, clock=ON_DAY)
    monitor = ctx.store.snapshot("main").specs[MONITOR]
    before = _rows(ctx)
    with pytest.raises(UserError) as above:
        _grant("kabalai", MONITOR, by="admin")(ctx)  # Rahasia, the administrator is Terbatas
    with pytest.raises(UserError) as unknown:
        _grant("kabalai", "tidak-ada", by="admin")(ctx)
    assert _rows(ctx) == before
    for lang in ("id", "en"):  # the same words as a dashboard that does not exist
        assert above.value.text(lang) == unknown.value.text(lang)
        assert MONITOR not in above.value.text(lang) and monitor.title not in above.value.text(lang)


def test_the_refusal_of_a_useless_grant_names_the_levels_to_the_granter(demo_ctx):
    ctx = replace(demo_ctx, clock=ON_DAY)
    with pytest.raises(UserError) as refused:
        _grant("tamu", MONITOR)(ctx)  # Rahasia to a Terbatas guest: it would show nothing
    assert refused.value.key == "grants.above_user_clearance"
    assert "Rahasia" in refused.value.text("en") and "Terbatas" in refused.value.text("en")


def test_an_ended_grant_cannot_be_revoked(demo_ctx):
    ctx = replace(demo_ctx, clock=ON_DAY)
    grant = _grant("upt", SUMMARY, ends=DAY + timedelta(days=3))(ctx)
    _revoke(grant.id)(ctx)
    before = _rows(ctx)
    with pytest.raises(UserError) as twice:
        _revoke(grant.id)(ctx)
    assert twice.value.key == "grants.already_ended"
    assert _rows(ctx) == before

    other = _grant("kabalai", SUMMARY, ends=DAY + timedelta(days=3))(ctx)
    later = replace(demo_ctx, clock=FixedClock.wib(DAY.year, DAY.month, DAY.day + 3))
    before = _rows(later)
    with pytest.raises(UserError) as expired:
        grants.revoke_grant(later, _viewer(later, "admin", DAY), other.id, "Sudah selesai.")
    assert expired.value.key == "grants.already_ended"
    assert _rows(later) == before


# --- PostgreSQL ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_grants_on_postgresql_and_two_granters_at_once_make_one_grant(postgres_url, tmp_path):
    """The production database: a first start carries the demo's grant; two granters giving the
    same grant at once make one grant and one refusal (the grantee's row is held)."""
    from ocenter import bootstrap
    from ocenter.context import open_context
    from tests.conftest import settings_for

    ctx = open_context(settings_for(tmp_path / "home", postgres_url), ON_DAY)
    try:
        bootstrap.seed_units(ctx)
        bootstrap.seed_store(ctx, demo=True)
        bootstrap.seed_demo_users(ctx)
        bootstrap.seed_demo_grants(ctx)
        bootstrap.seed_demo_grants(ctx)  # once only
        assert _viewer(ctx, "tamu", DAY).grants == [SUMMARY]
        assert _viewer(ctx, "tamu", DAY + timedelta(days=DEMO_GRANT_DAYS)).grants == []

        analyst, admin = _viewer(ctx, "analis", DAY), _viewer(ctx, "admin", DAY)
        start = threading.Barrier(2)
        outcomes: list[object] = []

        def give(actor: Authority) -> None:
            start.wait()
            try:
                outcomes.append(grants.grant_dashboard(ctx, actor, "upt", SUMMARY, REASON,
                                                       DAY + timedelta(days=30)))
            except UserError as error:
                outcomes.append(error.key)

        threads = [threading.Thread(target=give, args=(who,)) for who in (analyst, admin)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        made = [o for o in outcomes if isinstance(o, DashboardGrant)]
        assert len(made) == 1 and [o for o in outcomes if isinstance(o, str)] == ["grants.duplicate"]
        assert _viewer(ctx, "upt", DAY).grants == [SUMMARY]

        grants.revoke_grant(ctx, admin, made[0].id, "Selesai.")
        assert _viewer(ctx, "upt", DAY).grants == []
        listed = grants.list_grants(ctx, analyst, include_ended=True)
        assert [(e.username, e.state) for e in listed] == [
            ("upt", grants.GrantState.REVOKED), ("tamu", grants.GrantState.ACTIVE)]
        assert [e.action for e in _events(ctx, "grant.added")] == ["grant.added"] * 2
    finally:
        ctx.engine.dispose()


# --- the command line ----------------------------------------------------------------------------


def test_the_command_line_grants_lists_and_revokes_as_the_operator(demo_home, monkeypatch, capsys):
    monkeypatch.setenv("OCENTER_HOME", str(demo_home))
    monkeypatch.setenv("OCENTER_MODE", "demo")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ends = (SYSTEM_CLOCK.today() + timedelta(days=30)).isoformat()

    assert cli.main(["grant", "add", "upt", SUMMARY, "--reason", "Rapat koordinasi\twilayah.",
                     "--until", ends]) == 0
    added = capsys.readouterr().out
    assert added.startswith("grant 2: ") and ends in added

    assert cli.main(["grant", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:5] for line in listed] == [
        ["2", "active", "upt", SUMMARY, ends],
        ["1", "active", "tamu", SUMMARY, listed[1].split("\t")[4]],
    ]
    assert listed[0].split("\t")[5:] == ["cli", "Rapat koordinasi wilayah."]  # one line each

    assert cli.main(["grant", "revoke", "2", "--reason", "Rapat selesai."]) == 0
    assert capsys.readouterr().out == "grant 2 revoked\n"
    assert cli.main(["grant", "list"]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == ["1"]
    assert cli.main(["grant", "list", "--all"]) == 0
    assert [line.split("\t")[:2] for line in capsys.readouterr().out.splitlines()] == [
        ["2", "revoked"], ["1", "active"]]

    # A refusal is a message and exit code 2, and changes nothing.
    from ocenter.config import load_settings
    from ocenter.context import open_context

    ctx = open_context(load_settings())
    try:
        before = _rows(ctx)
        assert cli.main(["grant", "add", "upt", SUMMARY, "--reason", "Lagi.", "--until",
                         SYSTEM_CLOCK.today().isoformat()]) == 2
        assert "error: The end date must be after today" in capsys.readouterr().err
        assert cli.main(["grant", "revoke", "2", "--reason", "Lagi."]) == 2
        assert "already ended" in capsys.readouterr().err
        assert _rows(ctx) == before
        assert [e.actor for e in _events(ctx, "grant.added")] == ["system", "cli"]
        assert [e.actor for e in _events(ctx, "grant.revoked")] == ["cli"]
    finally:
        ctx.engine.dispose()


def test_python_m_ocenter_grant_list(demo_home):
    env = {"PATH": "/usr/bin:/bin", "OCENTER_HOME": str(demo_home), "OCENTER_MODE": "demo",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run([sys.executable, "-m", "ocenter", "grant", "list"], capture_output=True,
                            text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\t")[:4] == ["1", "active", "tamu", SUMMARY]


# --- the page ------------------------------------------------------------------------------------


def _login(at, username: str):  # noqa: ANN001, ANN202 - AppTest
    from tests.test_app import _login as login

    return login(at, username)


def test_the_page_adds_and_revokes_a_grant(app, demo_ctx):
    at = _login(app, "analis")
    at.switch_page("pages/hak_akses.py").run()
    assert not at.exception, at.exception
    assert at.title[-1].value == "Hak Akses Pihak Berwenang"
    assert at.selectbox(key="grant_dashboard").options == [
        "Pantauan Hasil Sampling dan Pengujian · Rahasia", "Ringkasan Pengawasan Nasional · Terbatas"]

    ends = SYSTEM_CLOCK.today() + timedelta(days=60)
    at.selectbox(key="grant_user").set_value("upt")
    at.selectbox(key="grant_dashboard").set_value(SUMMARY)
    at.text_area(key="grant_reason").input("**Rapat** koordinasi ![x](http://example.org/x.png)")
    at.date_input(key="grant_expires_on").set_value(ends)
    next(b for b in at.button if b.label == "Berikan").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [
        f"Hak akses #2 diberikan kepada upt; berakhir pada {markdown_literal(str(ends))}."]
    assert _viewer(demo_ctx, "upt", SYSTEM_CLOCK.today()).grants == [SUMMARY]
    # The reason, as typed, is a cell of the table, never Markdown.
    table = at.dataframe[0].value
    assert "**Rapat** koordinasi ![x](http://example.org/x.png)" in list(table["Alasan"])
    assert not any("example.org" in str(m.value) for m in at.markdown)

    at.selectbox(key="revoke_grant").set_value(2)
    at.text_input(key="revoke_reason").input("Rapat dibatalkan.")
    at.button(key="revoke_button").click()
    at.run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Hak akses #2 dicabut."]
    assert _viewer(demo_ctx, "upt", SYSTEM_CLOCK.today()).grants == []
    assert list(at.dataframe[0].value["No."]) == [1]  # only tamu's grant is in force

    at.toggle(key="grants_show_ended").set_value(True).run()
    assert not at.exception, at.exception
    ended = at.dataframe[0].value
    assert list(ended["Status"]) == ["Dicabut", "Berlaku"]
    assert list(ended["Alasan pencabutan"]) == ["Rapat dibatalkan.", ""]


def test_a_refused_grant_on_the_page_is_a_message_and_keeps_the_reason(app, demo_ctx):
    at = _login(app, "admin")
    at.switch_page("pages/hak_akses.py").run()
    before = _rows(demo_ctx)
    at.selectbox(key="grant_user").set_value("mitra")  # Terbuka: the summary is Terbatas
    at.text_area(key="grant_reason").input("Pertukaran data statistik.")
    next(b for b in at.button if b.label == "Berikan").click()
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "Terbatas" in at.error[0].value and "mitra" in at.error[0].value
    assert at.text_area(key="grant_reason").value == "Pertukaran data statistik."
    assert _rows(demo_ctx) == before


def test_the_grantee_sees_no_trace_of_a_revoked_grant(app, demo_ctx, as_user):
    grants.revoke_grant(demo_ctx, as_user("admin"), 1, "Kerja sama berakhir.")
    at = _login(app, "tamu")
    at.switch_page("pages/tampilan.py").run()
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == ["Belum ada dasbor yang dapat Anda lihat."]
    texts = " ".join(str(e.value) for e in (*at.title, *at.header, *at.markdown, *at.caption,
                                             *at.info, *at.error, *at.warning, *at.selectbox))
    assert "Ringkasan" not in texts and SUMMARY not in texts
