"""No leak on any channel: values planted above a user's clearance never reach anything they are
shown or can download, on every page they can open; what people typed shows as typed."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from ocenter import procedure
from ocenter.accounts import admin
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.bootstrap import DEMO_PASSWORD, demo_sampling_frame, demo_upt_code
from ocenter.context import AppContext
from ocenter.display.filtering import data_level
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
from ocenter.display.spec import Panel, PanelFilter, spec_to_yaml
from ocenter.errors import PermissionDenied
from ocenter.i18n import markdown_literal, t
from ocenter.models import User
from ocenter.navigation import pages_for
from ocenter.store.models import Author
from tests.test_app import _login

PUSDATIN = Author(username="analis", name="Analis Pusdatin")
INJECTION = "![x](http://evil.example/x.png) [klik](http://evil.example)"
#: Element types whose text Streamlit renders as Markdown.
MARKDOWN_TYPES = {"markdown", "caption", "title", "header", "subheader", "error", "warning", "info",
                  "success", "toast"}


# --- what a page shows ---------------------------------------------------------------------------


def _nodes(node: object) -> Iterator[object]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def everything(at: AppTest) -> bytes:
    """Every element and block the run sent, as the bytes that reach the browser: texts, labels,
    options, help, table data (Arrow) and chart specs alike."""
    return b"\n".join(node.proto.SerializeToString() for node in _nodes(at._tree)
                      if getattr(node, "proto", None) is not None)


def markdown_texts(at: AppTest) -> list[str]:
    """Every text of the run that Streamlit reads as Markdown: element bodies and labels."""
    texts = []
    for node in _nodes(at._tree):
        if getattr(node, "type", None) in MARKDOWN_TYPES:
            texts.append(str(node.value))
        label = getattr(node, "label", None)
        if isinstance(label, str):
            texts.append(label)
    return texts


def assert_absent(at: AppTest, *planted: str, where: str = "") -> None:
    """None of ``planted`` reached the browser, as it is or as escaped Markdown."""
    assert not at.exception, (where, at.exception)
    sent = everything(at)
    for value in planted:
        for form in (value, markdown_literal(value)):
            assert form.encode("utf-8") not in sent, (where, form)


def add_user(ctx: AppContext, username: str, name: str, role: Role, clearance: Level,
             scope: ScopeKind, unit: str | None) -> None:
    admin.add_user(ctx, None, username=username, name=name, role=role, clearance=clearance,
                   scope=scope, unit_code=unit, password=DEMO_PASSWORD)


def who(ctx: AppContext, username: str):  # noqa: ANN201 - Authority
    from ocenter.accounts.login import authority_of

    return authority_of(ctx.engine, username, production=False)


# --- step 3: failing values of a dataset above the verifier's clearance --------------------------

PLANTED_VALUE = "NILAI-RAHASIA-777"


def _returned_rahasia_submission(ctx: AppContext) -> int:
    """A UPT sends Rahasia data with one bad cell holding the planted value; it is checked."""
    upt = who(ctx, "upt")
    region = demo_sampling_frame(ctx.clock.today(), months=12)
    rows = region[region["kode_upt"] == upt.unit_code].tail(20).reset_index(drop=True)
    rows.loc[3, "jumlah_sampel"] = PLANTED_VALUE  # a Terbuka field of a Rahasia submission
    sent = procedure.submit_data(ctx, upt, dataset_id="sampling-pengujian", level=Level.RAHASIA,
                                 filename="rahasia.csv", content=rows.to_csv(index=False).encode())
    procedure.receive_submission(ctx, who(ctx, "verifikator"), sent.id)
    return sent.id


def test_a_terbatas_verifier_never_reads_a_value_of_a_rahasia_submission(app, demo_ctx):
    add_user(demo_ctx, "verifdua", "Verifikator Terbatas", Role.VERIFIKATOR, Level.TERBATAS,
             ScopeKind.BPOM, None)
    submission = _returned_rahasia_submission(demo_ctx)
    report = procedure.check_submission(demo_ctx, who(demo_ctx, "verifdua"), submission)
    assert [e.value for e in report.errors] == [PLANTED_VALUE]  # the report keeps it, for Rahasia

    at = _login(app, "verifdua")
    at.switch_page("pages/verifikasi_data.py").run()
    assert_absent(at, PLANTED_VALUE, where="verifikasi")
    assert b"***" in everything(at)  # the failing cell is listed, its value masked
    # A verifier cleared for it reads it.
    cleared = procedure.report_for(demo_ctx, who(demo_ctx, "verifikator"),
                                   procedure.list_submissions(demo_ctx, who(demo_ctx, "verifikator"))[0])
    assert [e.value for e in cleared.errors] == [PLANTED_VALUE]


def test_a_terbuka_colleague_of_the_sender_downloads_no_rahasia_value(app, demo_ctx):
    from openpyxl import load_workbook

    unit = demo_upt_code()
    add_user(demo_ctx, "magang", "Staf Magang Balai", Role.UPT, Level.TERBUKA, ScopeKind.UPT, unit)
    submission = _returned_rahasia_submission(demo_ctx)
    verifier = who(demo_ctx, "verifikator")
    procedure.check_submission(demo_ctx, verifier, submission)
    procedure.decide_submission(demo_ctx, verifier, submission, accept=False, note="Baris 5 salah.")

    colleague = who(demo_ctx, "magang")
    csv = procedure.failing_rows_file(demo_ctx, colleague, submission, "csv").decode("utf-8-sig")
    assert PLANTED_VALUE not in csv and "***" in csv and len(csv.strip().splitlines()) == 2
    workbook = load_workbook(io.BytesIO(procedure.failing_rows_file(demo_ctx, colleague, submission,
                                                                    "xlsx")))
    cells = [str(c) for row in workbook.active.iter_rows(values_only=True) for c in row]
    assert PLANTED_VALUE not in " ".join(cells) and "***" in cells
    # The same decision for the sender (Terbatas) of data they declared Rahasia; Pusdatin's
    # Rahasia verifier reads the value.
    assert PLANTED_VALUE not in procedure.failing_rows_file(
        demo_ctx, who(demo_ctx, "upt"), submission, "csv").decode("utf-8-sig")
    assert PLANTED_VALUE in procedure.failing_rows_file(
        demo_ctx, verifier, submission, "csv").decode("utf-8-sig")

    at = _login(app, "magang")
    at.switch_page("pages/kirim_data.py").run()
    assert_absent(at, PLANTED_VALUE, where="kirim-data")


# --- step 5: the review shows nothing of other dashboards -----------------------------------------

SECRET_TITLE = "JUDUL-SANGAT-RAHASIA-42"
SECRET_FILTER = "NILAI-FILTER-SR-42"


def test_a_terbatas_reviewer_sees_nothing_of_a_sangat_rahasia_dashboard_approved_since(app, demo_ctx):
    ctx = demo_ctx
    main = ctx.store.snapshot("main")
    secret = main.specs["ringkasan-pengawasan-nasional"].model_copy(update={
        "id": "rahasia-negara-42", "title": SECRET_TITLE, "description": SECRET_TITLE,
        "level": Level.SANGAT_RAHASIA, "owner_unit": "DIT-WAS-KOSMETIK",
        "panels": [Panel(id="rahasia-kpi", title=SECRET_TITLE, kind="kpi", dataset="sampling-pengujian",
                         filters=[PanelFilter(field="kategori_produk", value=SECRET_FILTER)])],
    })
    ctx.store.commit_to_main({"specs/rahasia-negara-42.yaml": spec_to_yaml(secret)}, PUSDATIN,
                             main.commit, "Dasbor sangat rahasia disetujui")
    head = ctx.store.head(ctx.store.mockup_branch(2))

    shown = procedure.mockup_review_diff(ctx, who(ctx, "unit"), 2, head)
    assert shown.count("+++ ") == 1 and "tren-temuan-kosmetik" in shown
    assert SECRET_TITLE not in shown and SECRET_FILTER not in shown

    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    assert_absent(at, SECRET_TITLE, SECRET_FILTER, "rahasia-negara-42", where="tinjau")
    assert any("tren-temuan-kosmetik" in c.value for c in at.code)  # the mock-up's own diff


# --- step 8: the wall screen's rotation -------------------------------------------------------------


def run_fragments(at: AppTest, monkeypatch: pytest.MonkeyPatch, *, alone: bool = True) -> AppTest:
    """Run the page's fragments alone, as their ``run_every`` timer does in a browser (AppTest's
    own runs are full runs): Streamlit's own script runner, asked for a fragment rerun. With
    ``alone`` False the fragment may ask for the whole page again (a changed authority does)."""
    from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequests
    from streamlit.testing.v1 import app_test
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    fragment_ids = list(at._fragment_storage._fragments)
    assert fragment_ids, "the page registered no fragment"

    class FragmentRun(LocalScriptRunner):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self._requests = ScriptRequests()  # without the full run it asks for at its start

        def request_rerun(self, rerun_data):  # noqa: ANN001, ANN202 - Streamlit's types
            return super().request_rerun(dataclasses.replace(
                rerun_data, fragment_id_queue=fragment_ids, is_auto_rerun=True))

    with monkeypatch.context() as patch:
        patch.setattr(app_test, "LocalScriptRunner", FragmentRun)
        at.run()
    ran = [e for e in at._tree.children.values() if getattr(e, "type", None) == "title"]
    if alone:
        assert not ran, "a full run, not the fragment's"  # the page's title is outside the fragment
    return at


def _set_user(ctx: AppContext, username: str, **changes: object) -> None:
    with Session(ctx.engine) as session:
        user = session.get(User, username)
        for name, value in changes.items():
            setattr(user, name, value)
        session.add(user)
        session.commit()


def _dashboard_titles(at: AppTest) -> list[str]:
    """The titles of the dashboards on screen: a header on the display, the title line on the wall."""
    return [h.value for h in at.header] + [m.value.removeprefix("### ") for m in at.markdown
                                           if m.value.startswith("### ")]


def test_the_wall_rotation_stops_showing_data_once_the_screen_is_deactivated(app, demo_ctx,
                                                                             monkeypatch):
    at = _login(app, "layar")
    assert _dashboard_titles(at)
    at = run_fragments(at, monkeypatch)  # the next dashboard of the rotation
    assert not at.exception and _dashboard_titles(at)

    admin.toggle_active(demo_ctx, who(demo_ctx, "admin"), "layar")
    at = run_fragments(at, monkeypatch)
    assert not at.exception, at.exception
    assert _dashboard_titles(at) == [] and not at.metric and not at.markdown
    # The fragment asked for the whole app again: the login form, with the reason.
    at.run()
    assert not at.exception, at.exception
    assert _dashboard_titles(at) == [] and not at.metric
    assert t("login.account_deactivated", "id") in [e.value for e in (*at.warning, *at.error)]


def test_the_wall_rotation_follows_a_lowered_clearance(app, demo_ctx, monkeypatch):
    at = _login(app, "layar")
    rahasia = demo_ctx.store.snapshot("main").specs["pantauan-sampling-pengujian"].title
    _set_user(demo_ctx, "layar", clearance=Level.TERBATAS)
    at = run_fragments(at, monkeypatch, alone=False)  # the changed authority: the whole page
    assert not at.exception, at.exception
    assert _dashboard_titles(at) and rahasia not in _dashboard_titles(at)
    for _ in range(3):  # every dashboard of the rotation comes round, if it still rotates
        at = run_fragments(at, monkeypatch) if at._fragment_storage._fragments else at.run()
        assert not at.exception, at.exception
        assert rahasia not in _dashboard_titles(at)
    _set_user(demo_ctx, "layar", clearance=Level.TERBUKA)
    at = run_fragments(at, monkeypatch, alone=False) if at._fragment_storage._fragments else at.run()
    assert _dashboard_titles(at) == [] and [i.value for i in at.info] == [t("display.none", "id")]


# --- request titles and purposes above a user's clearance ---------------------------------------

SECRET_REQUEST = "RAHASIA-JUDUL-123"
SECRET_PURPOSE = "RAHASIA-TUJUAN-123"


def test_a_request_title_is_invisible_below_its_level_on_every_page(app, demo_ctx):
    ctx = demo_ctx
    add_user(ctx, "stafpangan", "Staf Direktorat Pangan", Role.UNIT, Level.TERBATAS, ScopeKind.UNIT,
             "DIT-WAS-EDAR-PANGAN")
    request = procedure.file_request(ctx, who(ctx, "direktur"), title=SECRET_REQUEST,
                                     purpose=SECRET_PURPOSE, datasets_wanted=["sampling-pengujian"],
                                     level=Level.RAHASIA, audience=["kepala"])
    procedure.state_no_new_data(ctx, who(ctx, "analis"), request.id, "Data ini sudah diterima sebelumnya.")
    procedure.start_mockup(ctx, who(ctx, "analis"), request.id)  # the draft carries the title
    procedure.send_mockup(ctx, who(ctx, "analis"), request.id)

    at = app
    for username in ("stafpangan", "admin", "unit", "upt", "tamu"):
        role = who(ctx, username).role
        at = _login(AppTest.from_file(app._script_path, default_timeout=app.default_timeout).run(),
                    username)
        for entry in pages_for(role):
            at.switch_page(entry.path).run()
            assert_absent(at, SECRET_REQUEST, SECRET_PURPOSE, where=f"{username} {entry.key}")

    # The unit's own staff know it exists, by number, and whom to ask.
    at = _login(AppTest.from_file(app._script_path, default_timeout=app.default_timeout).run(),
                "stafpangan")
    at.switch_page("pages/beranda.py").run()
    withheld = markdown_literal(t("request.withheld", "id", request=request.id))
    assert any(withheld in text for text in markdown_texts(at))
    at.switch_page("pages/tinjau_mockup.py").run()
    assert_absent(at, SECRET_REQUEST, SECRET_PURPOSE)
    assert any(markdown_literal(_name(ctx, "direktur")) in w.value for w in at.warning)
    # Someone cleared for it reads it.
    at = _login(AppTest.from_file(app._script_path, default_timeout=app.default_timeout).run(),
                "direktur")
    assert markdown_literal(SECRET_REQUEST).encode() in everything(at)


def _name(ctx: AppContext, username: str) -> str:
    with Session(ctx.engine) as session:
        return session.get(User, username).name


# --- what people typed shows as typed ------------------------------------------------------------


def _no_markup_from_user_text(at: AppTest) -> None:
    """No Markdown text of the run holds an image or a link (escaped, ``\\](`` is no link)."""
    assert not at.exception, at.exception
    for text in markdown_texts(at):
        assert "](" not in text and "![" not in text, text


def test_a_title_with_an_image_and_a_link_is_shown_as_literal_text(app, demo_ctx):
    ctx = demo_ctx
    request = procedure.file_request(ctx, who(ctx, "unit"), title=INJECTION, purpose=INJECTION,
                                     datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS,
                                     audience=["kepala"])
    # A dashboard on display whose own title and panel title are the same text.
    main = ctx.store.snapshot("main")
    injected = main.specs["ringkasan-pengawasan-nasional"].model_copy(update={
        "id": "dasbor-suntik", "title": INJECTION, "owner_unit": "DIT-WAS-KOSMETIK"})
    injected.panels[0] = injected.panels[0].model_copy(update={"title": INJECTION})
    ctx.store.commit_to_main({
        "specs/dasbor-suntik.yaml": spec_to_yaml(injected),
        "lifecycle/dasbor-suntik.yaml": lifecycle_to_yaml(
            DashboardLifecycle(id="dasbor-suntik", built=True, classified=True, on_display=True)),
    }, PUSDATIN, main.commit, "Dasbor dengan judul berisi Markdown")

    escaped = markdown_literal(INJECTION)
    at = _login(app, "unit")
    _no_markup_from_user_text(at)
    assert any(escaped in text for text in markdown_texts(at))  # Beranda: the escaped title
    for path in ("pages/permintaan.py", "pages/kirim_data.py", "pages/tinjau_mockup.py"):
        at.switch_page(path).run()
        _no_markup_from_user_text(at)

    at = _login(AppTest.from_file(app._script_path, default_timeout=app.default_timeout).run(),
                "kepala")
    at.switch_page("pages/tampilan.py").run()
    at.selectbox[0].set_value("dasbor-suntik").run()
    _no_markup_from_user_text(at)
    assert [h.value for h in at.header] == [escaped]
    assert any(escaped in text for text in markdown_texts(at) if text.startswith("**"))

    at = _login(AppTest.from_file(app._script_path, default_timeout=app.default_timeout).run(),
                "analis")
    at.switch_page("pages/mockup.py").run()
    at.selectbox[0].set_value(request.id).run()
    _no_markup_from_user_text(at)
    assert INJECTION in [x.value for x in at.text]  # the purpose, as plain text


def test_a_file_name_quoted_in_a_refusal_is_escaped(app):
    at = _login(app, "upt")
    at.switch_page("pages/kirim_data.py").run()
    at.file_uploader[0].set_value(("[klik](evil.example).xlsx", b"bukan excel", "application/zip"))
    next(b for b in at.button if b.label == "Kirim data").click()
    at.run()
    _no_markup_from_user_text(at)
    assert [e.value for e in at.error] == [
        t("ingest.broken_sheet", "id", filename=markdown_literal("[klik](evil.example).xlsx"))]


# --- step 5: a mock-up above the unit's staff -----------------------------------------------------


def test_a_mockup_takes_the_level_of_the_fields_its_panels_use(demo_ctx):
    ctx = demo_ctx
    contracts = ctx.store.snapshot("main").contracts
    for asked in (Level.TERBATAS, Level.RAHASIA):
        request = procedure.file_request(ctx, who(ctx, "unit"), title="Ringkas", purpose="Rapat.",
                                         datasets_wanted=["sampling-pengujian"], level=asked,
                                         audience=[])
        # parameter_tms is Rahasia, but no panel of the first draft reads it.
        assert procedure.starter_spec(request, contracts).level == asked
    spec = procedure.starter_spec(request, contracts)
    secret = Panel(id="per-parameter", title="Parameter", kind="bar", dataset="sampling-pengujian",
                   dimension="parameter_tms")
    assert data_level(spec.model_copy(update={"panels": [*spec.panels, secret]}), contracts) == \
        Level.RAHASIA
    # A filter's value is written in the spec: the field it tests counts too.
    hidden_filter = spec.panels[0].model_copy(
        update={"filters": [PanelFilter(field="parameter_tms", value="Merkuri")]})
    assert data_level(spec.model_copy(update={"panels": [hidden_filter]}), contracts) == Level.RAHASIA


def test_the_units_terbatas_staff_are_told_who_can_review_a_rahasia_mockup(app, demo_ctx):
    ctx = demo_ctx
    add_user(ctx, "dirkosmetik", "Dr. Ratna Kosmetika", Role.DIREKTUR, Level.RAHASIA,
             ScopeKind.UNIT, "DIT-WAS-KOSMETIK")
    add_user(ctx, "pensiun", "Drs. Purna Bakti", Role.DIREKTUR, Level.SANGAT_RAHASIA,
             ScopeKind.UNIT, "DIT-WAS-KOSMETIK")
    _set_user(ctx, "pensiun", active=False)
    unit, analyst = who(ctx, "unit"), who(ctx, "analis")
    request = procedure.file_request(ctx, unit, title="Parameter TMS kosmetik", purpose="Rapat.",
                                     datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS,
                                     audience=[])
    procedure.state_no_new_data(ctx, analyst, request.id, "Data ini sudah diterima sebelumnya.")
    head = procedure.start_mockup(ctx, analyst, request.id)
    draft = ctx.store.snapshot(head).specs[request.dashboard_id]
    secret_panel = Panel(id="per-parameter", title="PANEL-PARAMETER-RAHASIA", kind="bar",
                         dataset="sampling-pengujian", dimension="parameter_tms")
    head = procedure.save_mockup(ctx, analyst, request.id, draft.model_copy(
        update={"level": Level.RAHASIA, "panels": [*draft.panels, secret_panel]}), head, "Parameter")
    procedure.send_mockup(ctx, analyst, request.id)

    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    assert at.selectbox[0].value == request.id
    assert_absent(at, "PANEL-PARAMETER-RAHASIA", where="tinjau")
    assert not at.error, [e.value for e in at.error]
    [told] = [w.value for w in at.warning if "MODE DEMO" not in w.value]
    assert markdown_literal("Dr. Ratna Kosmetika") in told and "Purna" not in told
    assert not [b for b in at.button if b.label == t("review.approve", "id")]
    # The page keeps working: the unit's other mock-up opens and can be approved.
    at.selectbox[0].set_value(2).run()
    assert not at.exception, at.exception
    assert not [w for w in at.warning if "MODE DEMO" not in w.value] and at.button(key="approve")
    # In English too.
    at.session_state["ocenter_lang"] = "en"
    at.selectbox[0].set_value(request.id).run()
    assert any("Who in your unit can review it" in w.value for w in at.warning)

    # Nor can it be decided without being seen; the director cleared for it can.
    for decide in (lambda: procedure.approve_mockup(ctx, unit, request.id, head),
                   lambda: procedure.request_changes(ctx, unit, request.id, head, "Ubah.")):
        with pytest.raises(PermissionDenied) as refused:
            decide()
        assert refused.value.key == "procedure.review_above_clearance"
    with pytest.raises(PermissionDenied):
        procedure.mockup_review_diff(ctx, unit, request.id, head)
    assert "PANEL-PARAMETER-RAHASIA" in procedure.mockup_review_diff(
        ctx, who(ctx, "dirkosmetik"), request.id, head)
    assert procedure.approve_mockup(ctx, who(ctx, "dirkosmetik"), request.id, head)
