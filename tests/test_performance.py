"""Pusdatin's performance: each completed step against its time standard (pauses not counted,
step 6 counted from its restart), grouped per step, unit, performer and month; returns per sender;
work overdue now; the CSV to download; and who may see it."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest

from ocenter import procedure
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier
from ocenter.clock import WIB
from ocenter.display.spec import DefaultView
from ocenter.errors import PermissionDenied, UserError
from ocenter.i18n import t, t_markdown
from ocenter.navigation import pages_for
from ocenter.procedure import performance as perf
from ocenter.procedure.performance_charts import month_rows, on_time_chart
from tests.test_app import _login
from tests.test_step_clocks import DATASET, NO_NEW_DATA, file_request, on, region_csv

OCTOBER, NOVEMBER = date(2026, 10, 1), date(2026, 11, 27)
TODAY = date(2026, 11, 30)  # Monday


def full_procedure(ctx, as_user) -> int:  # noqa: ANN001
    """A request of the director's unit through all ten steps, as in test_step_clocks: data
    returned once (step 3 paused 3 HK), the mock-up reviewed twice (step 4 paused on the unit),
    adjusted during the build (step 6 from zero again), the letter received late (step 10)."""
    direktur, upt, verifier, analyst = (as_user(u) for u in ("direktur", "upt", "verifikator",
                                                              "analis"))
    rid = file_request(on(ctx, date(2026, 10, 5)), as_user).id  # Monday
    sent = procedure.submit_data(on(ctx, date(2026, 10, 6)), upt, dataset_id=DATASET,
                                 level=Level.TERBATAS, filename="a.csv",
                                 content=region_csv(ctx, upt, broken=True), request_id=rid)
    procedure.receive_submission(on(ctx, date(2026, 10, 7)), verifier, sent.id)  # step 2: 2 HK
    procedure.check_submission(on(ctx, date(2026, 10, 8)), verifier, sent.id)
    procedure.decide_submission(on(ctx, date(2026, 10, 8)), verifier, sent.id, accept=False,
                                note="Baris 4 bukan angka.")
    fixed = procedure.submit_data(on(ctx, date(2026, 10, 13)), upt, dataset_id=DATASET,
                                  level=Level.TERBATAS, filename="b.csv",
                                  content=region_csv(ctx, upt), resubmits=sent.id)
    procedure.receive_submission(on(ctx, date(2026, 10, 14)), verifier, fixed.id)
    procedure.check_submission(on(ctx, date(2026, 10, 15)), verifier, fixed.id)
    procedure.decide_submission(on(ctx, date(2026, 10, 15)), verifier, fixed.id, accept=True,
                                note="Sesuai.")
    head = procedure.start_mockup(on(ctx, date(2026, 10, 16)), analyst, rid)
    procedure.send_mockup(on(ctx, date(2026, 10, 19)), analyst, rid)
    procedure.request_changes(on(ctx, date(2026, 10, 21)), direktur, rid, head, "Judul lain.")
    procedure.send_mockup(on(ctx, date(2026, 10, 22)), analyst, rid)
    procedure.approve_mockup(on(ctx, date(2026, 10, 23)), direktur, rid, head)
    procedure.ask_mockup_adjustment(on(ctx, date(2026, 10, 26)), direktur, rid, "Tambah peta.")
    request = procedure.get_request(ctx, rid)
    spec = ctx.store.snapshot(head).specs[request.dashboard_id]
    head = procedure.save_mockup(on(ctx, date(2026, 10, 27)), analyst, rid,
                                 spec.model_copy(update={"title": "Temuan (peta)"}), head,
                                 "Penyesuaian")
    procedure.send_mockup(on(ctx, date(2026, 10, 27)), analyst, rid)
    procedure.approve_mockup(on(ctx, date(2026, 10, 28)), direktur, rid, head)
    procedure.build_dashboard(on(ctx, date(2026, 10, 29)), analyst, rid)
    procedure.classify_defaults(on(ctx, date(2026, 10, 30)), analyst, rid,
                                [DefaultView(tier=Tier.KEPALA_BPOM, months=12)])
    procedure.put_on_display(on(ctx, date(2026, 11, 2)), analyst, rid)
    procedure.evaluate_dashboard(on(ctx, date(2026, 11, 3)), analyst, rid, "Dipakai rapat.")
    procedure.acknowledge_letter(on(ctx, date(2026, 11, 5)), direktur, rid, "Terima kasih.")
    return rid


def cosmetics_request(ctx, as_user, *, sent_for_review: bool) -> int:  # noqa: ANN001
    """A request of the cosmetics unit that needs no new data (step 2 ends the same day), its
    mock-up started on 5 October and, if ``sent_for_review``, waiting on the unit since."""
    ctx, analyst = on(ctx, date(2026, 10, 5)), as_user("analis")
    rid = procedure.file_request(
        ctx, as_user("unit"), title="Tren Kosmetik", purpose="Rapat direktorat.",
        datasets_wanted=[DATASET], level=Level.TERBATAS, audience=["kepala"]).id
    procedure.state_no_new_data(ctx, analyst, rid, NO_NEW_DATA)
    procedure.start_mockup(ctx, analyst, rid)
    if sent_for_review:
        procedure.send_mockup(ctx, analyst, rid)
    return rid


@pytest.fixture
def scenario(demo_ctx, as_user):  # noqa: ANN001, ANN201
    """Three requests: the full procedure, one stuck on step 4 and one waiting on the unit."""
    full = full_procedure(demo_ctx, as_user)
    stuck = cosmetics_request(demo_ctx, as_user, sent_for_review=False)
    waiting = cosmetics_request(demo_ctx, as_user, sent_for_review=True)
    return on(demo_ctx, TODAY), full, stuck, waiting


def mine(steps, ids) -> list:  # noqa: ANN001
    return [s for s in steps if s.request_id in ids]


def figures(groups) -> dict:  # noqa: ANN001
    """group -> (completed, on time, median working days)."""
    return {g.group: (g.completed, g.on_time, g.median_hk) for g in groups}


def test_each_step_is_measured_without_its_pauses_and_step_6_from_its_restart(scenario, as_user):
    ctx, full, stuck, waiting = scenario
    result = perf.performance(ctx, as_user("analis"), OCTOBER, NOVEMBER)
    steps = mine(result.steps, {full, stuck, waiting})
    assert result.steps == steps  # the demo's own requests completed nothing in the period
    rows = [(s.request_id, s.step, s.started.date(), s.ended.date(), s.working_days, s.on_time,
             s.analyst) for s in steps]
    d = date
    assert rows == [
        (stuck, 2, d(2026, 10, 5), d(2026, 10, 5), 0, True, "analis"),
        (waiting, 2, d(2026, 10, 5), d(2026, 10, 5), 0, True, "analis"),
        # Filed Monday, received Wednesday: 2 HK against 1, late.
        (full, 2, d(2026, 10, 5), d(2026, 10, 7), 2, False, "verifikator"),
        (full, 2, d(2026, 10, 13), d(2026, 10, 14), 1, True, "verifikator"),
        # 7 to 15 October is 6 HK, of which 3 waited on the sender: 2 HK are step 3's.
        (full, 3, d(2026, 10, 7), d(2026, 10, 15), 2, True, "verifikator"),
        # 15 to 23 October, the unit's two reviews (3 HK) not counted; the analyst sent it.
        (full, 4, d(2026, 10, 15), d(2026, 10, 23), 3, True, "analis"),
        (full, 4, d(2026, 10, 26), d(2026, 10, 28), 1, True, "analis"),
        # The first build (23-26 October) was cut by the adjustment: step 6 counts from 28.
        (full, 6, d(2026, 10, 28), d(2026, 10, 29), 1, True, "analis"),
        (full, 7, d(2026, 10, 29), d(2026, 10, 30), 1, True, "analis"),
        (full, 8, d(2026, 10, 30), d(2026, 11, 2), 1, True, "analis"),
        (full, 9, d(2026, 11, 2), d(2026, 11, 3), 1, True, "analis"),
        # Letter sent Tuesday, received Thursday: 2 HK against 1, late; the analyst sent it.
        (full, 10, d(2026, 11, 3), d(2026, 11, 5), 2, False, "analis"),
    ]
    assert {s.step: s.standard_hk for s in steps} == {2: 1, 3: 5, 4: 5, 6: 15, 7: 1, 8: 1, 9: 5,
                                                      10: 1}


def test_figures_per_step_unit_performer_and_month(scenario, as_user):
    ctx, *_ = scenario
    result = perf.performance(ctx, as_user("verifikator"), OCTOBER, NOVEMBER)
    assert figures(result.per_step) == {
        "2": (4, 3, 0.5), "3": (1, 1, 2.0), "4": (2, 2, 2.0), "6": (1, 1, 1.0),
        "7": (1, 1, 1.0), "8": (1, 1, 1.0), "9": (1, 1, 1.0), "10": (1, 0, 2.0)}
    assert [g.group for g in result.per_step] == ["2", "3", "4", "6", "7", "8", "9", "10"]
    assert figures(result.per_unit) == {
        "DIT-WAS-EDAR-PANGAN": (10, 8, 1.0), "DIT-WAS-KOSMETIK": (2, 2, 0.0)}
    assert figures(result.per_analyst) == {"analis": (9, 8, 1.0), "verifikator": (3, 2, 2.0)}
    assert figures(result.per_month) == {"2026-10": (9, 8, 1.0), "2026-11": (3, 2, 1.0)}
    assert (result.overall.completed, result.overall.on_time) == (12, 10)
    assert result.per_step[-1].on_time_rate == 0.0 and result.per_step[0].on_time_rate == 0.75

    # A period of November alone holds November's steps only, by the day they ended.
    november = perf.performance(ctx, as_user("analis"), date(2026, 11, 1), NOVEMBER)
    assert [(s.step, s.month) for s in november.steps] == [
        (8, "2026-11"), (9, "2026-11"), (10, "2026-11")]


def test_a_step_ending_late_in_the_evening_counts_in_jakartas_month(demo_ctx, as_user):
    # 31 October 2026, 23:00 in Jakarta, is still October there (16:00 UTC).
    ctx = on(demo_ctx, date(2026, 10, 30))
    rid = procedure.file_request(
        ctx, as_user("unit"), title="Akhir Bulan", purpose="Uji.", datasets_wanted=[DATASET],
        level=Level.TERBATAS, audience=["kepala"]).id
    late_evening = on(demo_ctx, date(2026, 10, 31), hour=23)
    procedure.state_no_new_data(late_evening, as_user("analis"), rid, NO_NEW_DATA)
    result = perf.performance(on(demo_ctx, TODAY), as_user("analis"), OCTOBER, date(2026, 10, 31))
    (step,) = mine(result.steps, {rid})
    assert (step.step, step.month, step.ended) == (2, "2026-10", datetime(2026, 10, 31, 23,
                                                                          tzinfo=WIB))


def test_returns_per_sender_and_work_overdue_now(scenario, as_user):
    ctx, full, stuck, waiting = scenario
    upt = as_user("upt").unit_code
    result = perf.performance(ctx, as_user("analis"), OCTOBER, NOVEMBER)
    # The sender's first file was returned, its fix accepted: 1 of 2 decided.
    (sender,) = [s for s in result.senders if s.unit == upt]
    assert (sender.decided, sender.returned, sender.return_rate) == (2, 1, 0.5)
    # Step 4 of the stuck request was due 12 October (5 HK from the 5th); to Monday 30 November
    # that is 35 HK over. The request waiting on the unit is paused, so not overdue.
    overdue = [o for o in result.overdue if o.request_id in {full, stuck, waiting}]
    assert [(o.request_id, o.step, o.due, o.over_hk, o.unit) for o in overdue] == [
        (stuck, 4, date(2026, 10, 12), 35, "DIT-WAS-KOSMETIK")]
    assert overdue[0].request == f"#{stuck} · Tren Kosmetik"


def test_a_request_above_the_viewers_clearance_is_named_by_its_number_alone(scenario):
    ctx, _, stuck, _ = scenario
    low = Authority(username="verifikator", role=Role.VERIFIKATOR, clearance=Level.TERBUKA,
                    scope=ScopeKind.BPOM, unit_code="PUSDATIN")
    (shown,) = [o for o in perf.overdue_now(ctx, low, "id") if o.request_id == stuck]
    assert shown.request == t("request.withheld", "id", request=stuck)
    assert "Tren Kosmetik" not in shown.request


@pytest.mark.parametrize("username", ["unit", "direktur", "kepala", "admin", "upt"])
def test_anyone_outside_pusdatin_is_refused(demo_ctx, as_user, username):
    with pytest.raises(PermissionDenied) as refused:
        perf.performance(demo_ctx, as_user(username), OCTOBER, NOVEMBER)
    assert refused.value.key == "performance.forbidden"
    assert refused.value.text("id") == "Kinerja Pusdatin hanya dapat dilihat oleh Pusdatin."
    with pytest.raises(PermissionDenied):
        perf.overdue_now(demo_ctx, as_user(username), "id")


def test_a_period_backwards_or_too_long_is_refused(demo_ctx, as_user):
    for first, last in ((NOVEMBER, OCTOBER), (date(2020, 1, 1), date(2026, 1, 1))):
        with pytest.raises(UserError) as refused:
            perf.performance(demo_ctx, as_user("analis"), first, last)
        assert refused.value.key == "performance.bad_period"


def test_the_csv_has_one_row_per_completed_step_and_no_formula(scenario, as_user):
    ctx, full, *_ = scenario
    result = perf.performance(ctx, as_user("analis"), OCTOBER, NOVEMBER)
    text = perf.steps_csv(result.steps, "id").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Permintaan", "Unit", "Tahap", "Mulai (WIB)", "Selesai (WIB)",
                       "HK terpakai", "Standar HK", "Tepat waktu", "Pelaksana"]
    assert len(rows) == 1 + 12
    assert [str(full), "DIT-WAS-EDAR-PANGAN", "6", "2026-10-28 09:00", "2026-10-29 09:00", "1",
            "15", "ya", "analis"] in rows
    assert [str(full), "DIT-WAS-EDAR-PANGAN", "10", "2026-11-03 09:00", "2026-11-05 09:00", "2",
            "1", "tidak", "analis"] in rows
    english = list(csv.reader(io.StringIO(perf.steps_csv(result.steps, "en").decode("utf-8-sig"))))
    assert english[0][7] == "On time" and english[-1][7] in {"yes", "no"}
    # A value that a spreadsheet would run as a formula is written as text.
    forged = result.steps[0].model_copy(update={"unit": "=HYPERLINK(\"http://x\")",
                                                "analyst": "@SUM(1)"})
    (row,) = list(csv.reader(io.StringIO(perf.steps_csv([forged]).decode("utf-8-sig"))))[1:]
    assert row[1] == "'=HYPERLINK(\"http://x\")" and row[8] == "'@SUM(1)"


def test_the_charts_carry_aggregates_only(scenario, as_user):
    ctx, *_ = scenario
    result = perf.performance(ctx, as_user("analis"), OCTOBER, NOVEMBER)
    spec = on_time_chart(result.per_step, "id").to_dict()
    values = spec["datasets"][spec["data"]["name"]]  # Altair moves inline values to datasets
    assert [(v["step"], v["rate"], v["target"]) for v in values][:2] == [
        ("Tahap 2", 0.75, 1.0), ("Tahap 3", 1.0, 1.0)]
    assert len(values) == len(result.per_step)
    months = month_rows(result.steps, "id")
    assert {(m["month"], m["step"]): m["median"] for m in months}[("2026-10-01", "Tahap 2")] == 0.5
    assert len(months) == 8  # October: steps 2, 3, 4, 6 and 7; November: 8, 9 and 10


@pytest.mark.parametrize("username", ["analis", "verifikator"])
def test_the_page_shows_pusdatin_its_figures_and_the_download(app, scenario, username):
    at = _login(app, username)
    at.switch_page("pages/kinerja.py").run()
    assert not at.exception, at.exception
    assert at.title[-1].value == "Kinerja"
    at.date_input(key="kinerja_period").set_value((OCTOBER, NOVEMBER)).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tahap selesai"] == "12"
    assert metrics["Tepat waktu"] == "83%"  # 10 of 12
    assert metrics["Median HK"] == "1"
    assert metrics["Data dikembalikan"] == "50%"
    assert int(metrics["Terlambat saat ini"]) >= 1  # the stuck request, whatever day it is
    assert [b.label for b in at.download_button] == ["Unduh rincian tahap (CSV)"]
    tables = [frame.value for frame in at.dataframe]
    per_unit = next(frame for frame in tables if "Unit" in frame.columns and "Selesai" in frame.columns)
    assert dict(zip(per_unit["Unit"], per_unit["Selesai"], strict=True)) == {
        "DIT-WAS-EDAR-PANGAN": 10, "DIT-WAS-KOSMETIK": 2}


def test_the_page_is_not_offered_to_a_unit_and_refuses_it(app):
    assert "kinerja" not in {p.key for p in pages_for(Role.UNIT)}
    at = _login(app, "unit")
    at.switch_page("pages/kinerja.py").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [t_markdown("auth.forbidden", "id")]
    assert not at.metric and not at.download_button


@pytest.mark.postgres
def test_the_same_figures_on_postgresql(postgres_url, tmp_path):
    from ocenter.accounts.login import authority_of
    from ocenter.bootstrap import initialise
    from ocenter.clock import FixedClock
    from tests.conftest import settings_for

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None, clock=FixedClock.wib(2026, 10, 5))
    try:
        def as_user(username: str) -> Authority:
            return authority_of(ctx.engine, username, production=False, today=ctx.clock.today())

        stuck = cosmetics_request(ctx, as_user, sent_for_review=False)
        evening = procedure.file_request(
            on(ctx, date(2026, 10, 30)), as_user("unit"), title="Akhir Bulan", purpose="Uji.",
            datasets_wanted=[DATASET], level=Level.TERBATAS, audience=["kepala"]).id
        procedure.state_no_new_data(on(ctx, date(2026, 10, 31), hour=23), as_user("analis"),
                                    evening, NO_NEW_DATA)
        # The demo's request 1 was on display before clocks were kept: its step-9 clock was
        # opened at the first start (clock.opened), so its real start is unknown.
        procedure.evaluate_dashboard(on(ctx, date(2026, 10, 6)), as_user("analis"), 1, "Dipakai.")
        october = perf.performance(on(ctx, TODAY), as_user("analis"), OCTOBER,
                                   date(2026, 10, 31))
        assert [(s.request_id, s.step, s.working_days, s.month, s.analyst)
                for s in mine(october.steps, {stuck, evening})] == [
            (stuck, 2, 0, "2026-10", "analis"), (evening, 2, 0, "2026-10", "analis")]
        assert [i.start_event for i in procedure.intervals_of(ctx, 1)] == [
            "clock.opened", "dashboard.evaluated"]
        assert mine(october.steps, {1}) == []  # left out, not counted as 1 HK on time
        november = perf.performance(on(ctx, TODAY), as_user("analis"), date(2026, 11, 1), TODAY)
        assert mine(november.steps, {stuck, evening}) == []
        assert [(o.step, o.over_hk) for o in november.overdue if o.request_id == stuck] == [(4, 35)]
    finally:
        ctx.engine.dispose()


def test_the_page_speaks_english_when_asked(app, scenario):
    at = _login(app, "analis")
    at.session_state["ocenter_lang"] = "en"
    at.switch_page("pages/kinerja.py").run()
    at.date_input(key="kinerja_period").set_value((OCTOBER, NOVEMBER)).run()
    assert not at.exception, at.exception
    assert at.title[-1].value == "Performance"
    assert {m.label: m.value for m in at.metric}["Steps completed"] == "12"
    assert [b.label for b in at.download_button] == ["Download the steps in detail (CSV)"]
