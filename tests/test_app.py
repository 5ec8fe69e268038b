"""The app through Streamlit's AppTest: login, navigation by role, the display page."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ocenter.accounts.levels import Role
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.i18n import t, t_markdown
from ocenter.navigation import PAGES, pages_for
from tests.conftest import APPTEST_TIMEOUT as TIMEOUT


def _login(at: AppTest, username: str, password: str = DEMO_PASSWORD, settle: bool = True) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    at.run()
    # In a browser the cookie component reruns the script once after login; do the same.
    return at.run() if settle else at


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.header, *at.markdown, *at.caption, *at.error,
                               *at.warning, *at.info, *at.success)]
    return "\n".join(str(p) for p in parts)


def test_login_page_speaks_indonesian_and_says_demo(app):
    assert not app.exception
    assert "Operational Center BPOM" in app.title[0].value
    assert any("MODE DEMO" in w.value for w in app.warning)
    assert app.text_input[0].label == "Nama pengguna"


def test_wrong_password_is_a_message_not_a_traceback(app):
    at = _login(app, "kepala", "salah-sekali")
    assert not at.exception
    assert "Nama pengguna atau kata sandi salah." in [e.value for e in at.error]


def test_kepala_lands_on_home_and_opens_the_display(app):
    at = _login(app, "kepala")
    assert not at.exception, at.exception
    assert at.title[0].value == "Beranda"
    at.switch_page("pages/tampilan.py").run()
    assert not at.exception, at.exception
    texts = _texts(at)
    assert "Pantauan" in texts or "Sampling" in texts


def test_wall_screen_goes_straight_to_the_display(app):
    at = _login(app, "layar")
    assert not at.exception, at.exception
    # The wall itself: no page title, the dashboard on screen has it all (see test_wall.py).
    assert not at.title and at.get("vega_lite_chart")


@pytest.mark.parametrize("username", ["kabalai", "tamu", "layar"])
def test_a_page_outside_the_role_does_not_exist_for_them(app, username):
    # Checked on the login run itself: AppTest's own page registry falls back to listing the
    # whole pages/ folder on later runs, which a browser never sees (see test_browser.py).
    at = _login(app, username, settle=False)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/mockup.py")


def logged_in_session(home, username: str, mode: str = "demo") -> str:  # noqa: ANN001
    """A session opened for ``username`` through the login's own use case (the demo password),
    as the login form opens it; its id is what a browser session holds."""
    from ocenter.accounts.authentication import authenticate
    from ocenter.context import open_context
    from tests.conftest import settings_for

    ctx = open_context(settings_for(home, mode=mode))
    try:
        return authenticate(ctx, username, DEMO_PASSWORD, "client:session:test")
    finally:
        ctx.engine.dispose()


def test_a_page_run_directly_still_refuses_the_wrong_role(demo_home, monkeypatch):
    """The second lock: even if a page script runs for someone outside its roles, it stops."""
    monkeypatch.setenv("OCENTER_HOME", str(demo_home))
    at = AppTest.from_file("../pages/mockup.py", default_timeout=TIMEOUT)
    at.session_state["ocenter_session"] = logged_in_session(demo_home, "kabalai")
    at.run()
    assert [e.value for e in at.error] == [
        "Anda tidak berwenang membuka halaman atau melakukan tindakan ini."
    ]
    assert not at.text_area


def test_each_role_gets_only_its_pages():
    expected = {
        Role.KEPALA: {"beranda", "tampilan"},
        Role.LAYAR: {"tampilan"},
        Role.TAMU: {"beranda", "tampilan"},
        Role.ANALIS: {"beranda", "tampilan", "permintaan", "terima-data", "kelengkapan", "mockup",
                      "bangun", "klasifikasi", "tayangkan", "evaluasi", "log", "perubahan-kontrak",
                      "hak-akses", "daftar-putar", "kalender-kerja", "arsip-permintaan", "kinerja"},
        Role.VERIFIKATOR: {"beranda", "tampilan", "terima-data", "kelengkapan", "verifikasi-data",
                           "perubahan-kontrak", "arsip-permintaan", "kinerja"},
        # A data contract's owner unit approves its changes: central units, UPT and agencies.
        Role.DIREKTUR: {"beranda", "tampilan", "permintaan", "tinjau-mockup", "penerimaan",
                        "perubahan-kontrak", "arsip-permintaan"},
        Role.UNIT: {"beranda", "tampilan", "permintaan", "kirim-data", "tinjau-mockup",
                    "penerimaan", "perubahan-kontrak", "arsip-permintaan"},
        # A UPT BPOM is a work unit too: it requests, reviews and receives like a central unit.
        Role.UPT: {"beranda", "tampilan", "permintaan", "kirim-data", "tinjau-mockup", "penerimaan",
                   "perubahan-kontrak", "arsip-permintaan"},
        Role.KABALAI: {"beranda", "tampilan", "permintaan", "tinjau-mockup", "penerimaan",
                       "perubahan-kontrak", "arsip-permintaan"},
        Role.MITRA: {"beranda", "tampilan", "kirim-data", "perubahan-kontrak"},
        Role.ADMIN: {"beranda", "tampilan", "log", "pengguna", "hak-akses", "kalender-kerja",
                     "kesehatan-sistem"},
    }
    for role, keys in expected.items():
        assert {p.key for p in pages_for(role)} == keys, role
    # Every step of the procedure that is a page has exactly one page.
    assert sorted(p.step for p in PAGES if p.step) == [1, 2, 3, 4, 5, 6, 7, 8, 8, 9, 10]


_USER_FOR_ROLE = {
    Role.ANALIS: "analis", Role.VERIFIKATOR: "verifikator", Role.DIREKTUR: "direktur",
    Role.UNIT: "unit", Role.UPT: "upt", Role.ADMIN: "admin", Role.KEPALA: "kepala",
    Role.LAYAR: "layar",
}


@pytest.mark.parametrize("entry", PAGES, ids=lambda p: p.key)
def test_every_page_opens_for_a_role_that_may_use_it(app, entry):
    username = next(u for r, u in _USER_FOR_ROLE.items() if r in entry.roles)
    at = _login(app, username)
    at.switch_page(entry.path).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert t(entry.title_key, "id") in [title.value for title in at.title]


def test_the_interface_switches_to_english(app):
    at = _login(app, "verifikator")
    at.session_state["ocenter_lang"] = "en"
    at.switch_page("pages/terima_data.py").run()
    assert not at.exception
    assert at.title[-1].value == "Receive data"


def _button(at: AppTest, label: str):  # noqa: ANN202
    return next(b for b in at.button if b.label == label)


def test_the_unit_approves_the_demo_mockup_with_the_merge_button(app, demo_ctx):
    ctx = demo_ctx
    before = ctx.store.head("main")
    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    _button(at, "Setujui mock-up (merge)").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Mock-up disetujui" in s.value for s in at.success)
    after = ctx.store.head("main")
    assert after != before
    assert "tren-temuan-kosmetik" in " ".join(ctx.store.snapshot("main").specs)


def test_a_malformed_upload_is_a_message_and_nothing_is_stored(app):
    at = _login(app, "upt")
    at.switch_page("pages/kirim_data.py").run()
    at.file_uploader[0].set_value(("rusak.xlsx", b"bukan berkas excel", "application/zip"))
    _button(at, "Kirim data").click()
    at.run()
    assert not at.exception, at.exception
    # The sender is told why the file was refused, in their language (the name they chose is
    # quoted as typed, never read as Markdown).
    assert [e.value for e in at.error] == [
        t_markdown("ingest.broken_sheet", "id", filename="rusak.xlsx")]
    assert not any("terkirim" in s.value for s in at.success)


def test_a_spreadsheet_from_an_office_suite_is_sent_from_the_page(app, demo_ctx):
    from pathlib import Path

    ods = Path(__file__).parent / "fixtures" / "spreadsheets" / "data.ods"  # made by LibreOffice
    at = _login(app, "upt")
    at.switch_page("pages/kirim_data.py").run()
    assert {".csv", ".xlsx", ".xls", ".ods", ".xlsb"} <= set(at.file_uploader[0].proto.type)
    at.file_uploader[0].set_value(("hasil-uji.ods", ods.read_bytes(),
                                   "application/vnd.oasis.opendocument.spreadsheet"))
    _button(at, "Kirim data").click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("9" in s.value for s in at.success)
    (sent,) = [s for s in _submissions(demo_ctx) if s.original_name == "hasil-uji.ods"]
    assert (sent.upload_suffix, sent.rows) == (".ods", 9)


def _submissions(ctx):  # noqa: ANN001, ANN201
    from sqlmodel import Session, select

    from ocenter.models import Submission

    with Session(ctx.engine) as session:
        return list(session.exec(select(Submission)).all())


def test_a_save_that_lost_the_race_keeps_the_analysts_text(app, demo_ctx):
    """Two analysts edit one mock-up: the second save is refused and its text is kept."""
    from ocenter import procedure
    from ocenter.accounts.levels import Level
    from ocenter.accounts.login import authority_of
    ctx = demo_ctx
    analyst = authority_of(ctx.engine, "analis", production=False)
    direktur = authority_of(ctx.engine, "direktur", production=False)
    request = procedure.file_request(ctx, direktur, title="Balapan", purpose="Uji.",
                                     datasets_wanted=["sampling-pengujian"], level=Level.RAHASIA,
                                     audience=[])
    procedure.state_no_new_data(ctx, analyst, request.id, "Data ini sudah diterima sebelumnya.")
    head = procedure.start_mockup(ctx, analyst, request.id)

    at = _login(app, "analis")
    at.switch_page("pages/mockup.py").run()
    at.selectbox[0].set_value(request.id).run()
    mine = at.text_area[0].value.replace("title: Balapan", "title: Versi saya")
    at.text_area[0].input(mine).run()

    # Meanwhile a colleague saves first.
    theirs = ctx.store.snapshot(head).specs[request.dashboard_id]
    saved = procedure.save_mockup(ctx, analyst, request.id,
                                  theirs.model_copy(update={"title": "Versi rekan"}), head, "rekan")

    _button(at, "Simpan revisi").click()
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [  # the refused save is explained
        t_markdown("store.stale_head", "id", branch=f"mockup/req-{request.id}", expected=head[:12],
          current=saved[:12])
    ]
    kept = [c.value for c in at.code if "Versi saya" in c.value]
    assert kept, "the analyst's own text must still be there to copy"
    assert "Versi rekan" in at.text_area[0].value
    assert ctx.store.snapshot(ctx.store.head(f"mockup/req-{request.id}")).specs[
        request.dashboard_id].title == "Versi rekan"


def test_beranda_shows_a_paused_clock_and_whom_it_waits_on(app):
    at = _login(app, "analis")
    assert not at.exception, at.exception
    # The demo's mock-up is with its unit: step 4's clock waits, it is not "no time standard".
    assert "Tahap 4 dijeda — menunggu unit meninjau mock-up" in _texts(at)


def test_the_unit_asks_to_adjust_an_approved_mockup_from_the_review_page(app, demo_ctx, as_user):
    from ocenter import procedure
    from ocenter.models import RequestStatus

    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(2))
    procedure.approve_mockup(demo_ctx, as_user("unit"), 2, head)
    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    at.text_area(key="adjust-2").input("Tambahkan peta provinsi.")
    _button(at, "Minta penyesuaian").click()
    at.run()
    assert not at.exception, at.exception
    request = procedure.get_request(demo_ctx, 2)
    assert (request.status, request.review_rounds) == (RequestStatus.CHANGES_REQUESTED, 1)
    assert [c.text for c in procedure.review_comments(demo_ctx, 2)] == ["Tambahkan peta provinsi."]
    assert procedure.request_clock(demo_ctx, request).step == 4


def test_a_fix_sent_from_the_page_names_the_returned_submission_and_closes_it(app, demo_ctx, as_user):
    from ocenter import procedure
    from ocenter.accounts.levels import Level
    from ocenter.bootstrap import demo_sampling_frame

    upt, verifier = as_user("upt"), as_user("verifikator")
    rows = demo_sampling_frame(demo_ctx.clock.today(), months=12)
    rows = rows[rows["kode_upt"] == upt.unit_code].tail(20).reset_index(drop=True)
    good = rows.to_csv(index=False).encode("utf-8")
    rows.loc[3, "jumlah_sampel"] = "empat"
    sent = procedure.submit_data(demo_ctx, upt, dataset_id="sampling-pengujian",
                                 level=Level.TERBATAS, filename="salah.csv",
                                 content=rows.to_csv(index=False).encode("utf-8"))
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    procedure.check_submission(demo_ctx, verifier, sent.id)
    procedure.decide_submission(demo_ctx, verifier, sent.id, accept=False, note="Baris 5.")

    at = _login(app, "upt")
    returned = t_markdown("beranda.returned_count", "id", count=1)
    assert returned in [w.value for w in at.warning]
    at.switch_page("pages/kirim_data.py").run()
    fixes = next(s for s in at.selectbox if s.label == "Memperbaiki kiriman yang dikembalikan")
    assert fixes.options[1].startswith(f"#{sent.id} · sampling-pengujian · salah.csv")
    fixes.set_value(sent.id)
    at.file_uploader[0].set_value(("benar.csv", good, "text/csv"))
    _button(at, "Kirim data").click()
    at.run()
    assert not at.exception, at.exception
    (fix,) = [s for s in _submissions(demo_ctx) if s.original_name == "benar.csv"]
    assert fix.resubmits_id == sent.id
    procedure.receive_submission(demo_ctx, verifier, fix.id)
    procedure.check_submission(demo_ctx, verifier, fix.id)
    procedure.decide_submission(demo_ctx, verifier, fix.id, accept=True, note="Sesuai.")
    at.switch_page("pages/beranda.py").run()
    assert returned not in [w.value for w in at.warning]  # the fix accepted closes it
