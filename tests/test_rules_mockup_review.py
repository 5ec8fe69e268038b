"""Steps 4 and 5 on the demo's mock-up in review (request 2, of the Direktorat Pengawasan
Kosmetik) and on a new request: the unit's change requests restart the clock, comments are
kept, revisions can be restored in step 4 only, and the analyst's YAML is refused readably."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.models import DashboardRequest, RequestStatus

IN_REVIEW = 2


def started_at(ctx, request_id: int):  # noqa: ANN001, ANN201
    with Session(ctx.engine) as session:
        return session.get(DashboardRequest, request_id).step_started_at


def new_request_in_step_4(ctx, as_user) -> tuple[int, str]:  # noqa: ANN001
    """A new request of the direktur's unit whose mock-up the analyst has just started."""
    request = procedure.file_request(
        ctx, as_user("direktur"), title="Ringkasan Sampling", purpose="Rapat bulanan.",
        datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS, audience=["kepala"])
    procedure.state_no_new_data(ctx, as_user("analis"), request.id, "Data ini sudah diterima sebelumnya.")
    return request.id, procedure.start_mockup(ctx, as_user("analis"), request.id)


def test_asking_for_changes_keeps_the_comment_and_resumes_step_4(demo_ctx, as_user):
    unit = as_user("unit")
    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    before = started_at(demo_ctx, IN_REVIEW)
    procedure.request_changes(demo_ctx, unit, IN_REVIEW, head, "  Tambah peta provinsi.  ")
    procedure.send_mockup(demo_ctx, as_user("analis"), IN_REVIEW)
    procedure.request_changes(demo_ctx, unit, IN_REVIEW, head, "Judul lebih pendek.")
    request = procedure.get_request(demo_ctx, IN_REVIEW)
    assert request.status == RequestStatus.CHANGES_REQUESTED and request.review_rounds == 2
    assert started_at(demo_ctx, IN_REVIEW) > before
    clock = procedure.request_clock(demo_ctx, request)
    assert (clock.step, clock.waiting_on) == (4, None)  # no longer waiting on the unit
    comments = procedure.review_comments(demo_ctx, IN_REVIEW)
    assert [(c.author, c.commit, c.text) for c in comments] == [
        ("unit", head, "Tambah peta provinsi."), ("unit", head, "Judul lebih pendek.")]
    assert procedure.review_comments(demo_ctx, 1) == []
    logged = [e for e in procedure.events(demo_ctx, IN_REVIEW) if e.action == "mockup.changes_requested"]
    assert [(e.step, e.outcome, e.detail) for e in logged] == [
        (5, "changes", "Judul lebih pendek."), (5, "changes", "Tambah peta provinsi.")]


def test_a_change_request_needs_a_comment_and_the_requesting_unit(demo_ctx, as_user):
    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    with pytest.raises(UserError) as no_comment:
        procedure.request_changes(demo_ctx, as_user("unit"), IN_REVIEW, head, "  ")
    assert no_comment.value.key == "procedure.changes_need_comment"
    with pytest.raises(PermissionDenied) as other_unit:
        procedure.request_changes(demo_ctx, as_user("direktur"), IN_REVIEW, head, "Ubah.")
    assert other_unit.value.key == "procedure.not_your_unit"
    assert procedure.get_request(demo_ctx, IN_REVIEW).status == RequestStatus.IN_REVIEW
    assert procedure.review_comments(demo_ctx, IN_REVIEW) == []


def test_a_revision_is_restored_as_a_new_commit_in_step_4(demo_ctx, as_user):
    analyst = as_user("analis")
    request_id, first = new_request_in_step_4(demo_ctx, as_user)
    request = procedure.get_request(demo_ctx, request_id)
    spec = demo_ctx.store.snapshot(first).specs[request.dashboard_id]
    second = procedure.save_mockup(demo_ctx, analyst, request_id,
                                   spec.model_copy(update={"title": "Judul kedua"}), first, "  ")
    assert procedure.spec_history(demo_ctx, request_id)[0].subject == "Perbarui mock-up"
    restored = procedure.restore_mockup_version(demo_ctx, analyst, request_id, first, second)
    assert restored not in (first, second)
    assert demo_ctx.store.snapshot(restored).specs[request.dashboard_id].title == spec.title
    [logged] = [e for e in procedure.events(demo_ctx, request_id) if e.action == "mockup.restored"]
    assert (logged.step, logged.detail) == (4, f"restored {first} as {restored}")


def test_only_a_revision_of_this_mockup_in_step_4_is_restored(demo_ctx, as_user):
    analyst = as_user("analis")
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    other = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    with pytest.raises(NotFound) as foreign:
        procedure.restore_mockup_version(demo_ctx, analyst, request_id, other, head)
    assert foreign.value.key == "store.file_not_found"
    # In review the unit looks at the mock-up; the analyst may not change it under them.
    with pytest.raises(Conflict) as in_review:
        procedure.restore_mockup_version(demo_ctx, analyst, IN_REVIEW, other, other)
    assert in_review.value.key == "procedure.wrong_status"
    assert demo_ctx.store.head(demo_ctx.store.mockup_branch(request_id)) == head


def test_a_mockup_keeps_its_dashboard_id_and_request(demo_ctx, as_user):
    analyst = as_user("analis")
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    spec = demo_ctx.store.snapshot(head).specs[procedure.get_request(demo_ctx, request_id).dashboard_id]
    for change in ({"id": "dasbor-lain"}, {"request_id": IN_REVIEW}):
        with pytest.raises(UserError) as refused:
            procedure.save_mockup(demo_ctx, analyst, request_id, spec.model_copy(update=change), head, "x")
        assert refused.value.key == "procedure.spec_identity"


def test_history_needs_a_mockup_branch(demo_ctx, as_user):
    request = procedure.file_request(
        demo_ctx, as_user("direktur"), title="Belum ada mock-up", purpose="Uji.",
        datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS, audience=["kepala"])
    with pytest.raises(NotFound) as missing:
        procedure.spec_history(demo_ctx, request.id)
    assert missing.value.key == "store.mockup_not_found"
    assert missing.value.params == {"request": request.id}


def test_the_update_from_main_is_logged_with_what_was_resolved(demo_ctx, as_user):
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    # Main moves on: the unit approves the demo's mock-up in review.
    procedure.approve_mockup(demo_ctx, as_user("unit"), IN_REVIEW,
                             demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW)))
    updated = procedure.update_mockup_from_main(demo_ctx, as_user("analis"), request_id, {}, head)
    [logged] = [e for e in procedure.events(demo_ctx, request_id)
                if e.action == "mockup.updated_from_main"]
    assert (logged.step, logged.detail) == (4, f"{updated}; resolved: -")


@pytest.mark.parametrize(("text", "key", "detail", "indonesian"), [
    ("id: [unclosed", "spec.yaml_error", "line 2, column 1: did not find expected ',' or ']'",
     "YAML tidak dapat dibaca: baris 2, kolom 1: "),
    ("id: x\ntitle: Kasus: baru\n", "spec.yaml_error", "line 2, column 13: mapping values are not",
     "YAML tidak dapat dibaca: baris 2, kolom 13: titik dua (:) tidak boleh di sini"),
    ("id: x\n\ttitle: y\n", "spec.yaml_error", "line 2, column 1: a tab cannot be used",
     "baris 2, kolom 1: karakter tab tidak boleh untuk indentasi; gunakan spasi"),
    ("- a\n- b\n", "spec.invalid", "a dashboard spec must be a YAML mapping",
     "Spesifikasi dasbor tidak valid: spec dashboard harus berupa mapping YAML (kunci: nilai)"),
    ("id: Bad Id\ntitle: x\nowner_unit: PUSDATIN\n", "spec.invalid", "id: String should match pattern",
     "Spesifikasi dasbor tidak valid: id: harus sesuai pola"),
    ("title: x\nowner_unit: PUSDATIN\n", "spec.invalid", "id: Field required",
     "Spesifikasi dasbor tidak valid: id: wajib diisi"),
    ("id: dasbor-x\ntitle: x\nowner_unit: PUSDATIN\nlevel: rahasia\ndatasets: [data-x]\npanels:\n"
     "  - {id: panel-a, title: A, kind: bar, dataset: data-x, dimension: x}\n"
     "  - {id: panel-a, title: B, kind: heatmap, dataset: data-x, dimension: x}\n",
     "spec.invalid", "panels.1: panel panel-a: a heatmap needs a series (its second axis)",
     "panels.1: panel panel-a: heatmap memerlukan series (sumbu keduanya)"),
])
def test_the_analysts_yaml_is_refused_with_a_readable_reason(text, key, detail, indonesian):
    from ocenter.i18n import t

    with pytest.raises(UserError) as refused:
        procedure.parse_spec(text)
    assert refused.value.key == key
    assert refused.value.params["detail"].startswith(detail)
    assert t(key, "en", **refused.value.params).endswith(refused.value.params["detail"])
    assert indonesian in t(key, "id", **refused.value.params)


def test_a_whole_spec_error_is_named_spec():
    with pytest.raises(UserError) as refused:
        procedure.parse_spec("id: dasbor-a\ntitle: x\nowner_unit: PUSDATIN\ndatasets: []\n"
                             "panels: [{id: panel-a, title: t, kind: table, dataset: data-a}]\n")
    assert refused.value.key == "spec.invalid"
    assert refused.value.params["detail"] == "spec: panels read datasets not listed in datasets: data-a"
    from ocenter.i18n import t

    assert t("spec.invalid", "id", **refused.value.params).endswith(
        "spec: panel membaca dataset yang tidak tercantum di datasets: data-a")


def test_the_first_mockup_counts_rows_and_charts_the_category_with_fewest_codes(demo_ctx, as_user):
    from ocenter.display.spec import Aggregation, PanelKind

    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    request = procedure.get_request(demo_ctx, request_id)
    spec = demo_ctx.store.snapshot(head).specs[request.dashboard_id]
    assert (spec.title, spec.description, spec.owner_unit, spec.request_id, spec.datasets) == (
        "Ringkasan Sampling", "Rapat bulanan.", "DIT-WAS-EDAR-PANGAN", request_id, ["sampling-pengujian"])
    # Asked for as terbatas, and its panels read nothing above terbatas: parameter_tms is
    # rahasia, but no panel uses it, so the unit's terbatas staff can still review it.
    assert spec.level == Level.TERBATAS
    [count, per_category] = spec.panels
    assert (count.id, count.kind, count.dataset) == ("sampling-pengujian-jumlah", PanelKind.KPI,
                                                     "sampling-pengujian")
    # Seven product categories read better than 38 provinces or 76 UPT.
    assert (per_category.id, per_category.kind, per_category.dimension) == (
        "sampling-pengujian-per-kategori", PanelKind.BAR, "kategori_produk")
    assert (per_category.aggregate, per_category.sort) == (Aggregation.COUNT, "desc")
    assert per_category.title == "Kategori produk"  # the field's label
    [started] = [e for e in procedure.events(demo_ctx, request_id) if e.action == "mockup.started"]
    assert (started.step, started.detail) == (4, head)


def test_a_mockup_starts_only_on_verified_data(demo_ctx, as_user):
    from ocenter.contracts.model import contract_to_yaml

    main = demo_ctx.store.snapshot("main")
    other = main.contracts["sampling-pengujian"].model_copy(update={"id": "sampling-lain"})
    demo_ctx.store.commit_to_main({"data_contracts/sampling-lain.yaml": contract_to_yaml(other)},
                                  procedure.author_of(demo_ctx, as_user("analis")), main.commit,
                                  "Kontrak baru", {})
    request = procedure.file_request(
        demo_ctx, as_user("direktur"), title="Dua data", purpose="Uji.", level=Level.TERBATAS,
        datasets_wanted=["sampling-pengujian", "sampling-lain"], audience=["kepala"])
    # Stating that no new data is needed does not stand in for data never accepted at all.
    procedure.state_no_new_data(demo_ctx, as_user("analis"), request.id, "Data sudah ada.")
    with pytest.raises(UserError) as refused:
        procedure.start_mockup(demo_ctx, as_user("analis"), request.id)
    assert (refused.value.key, refused.value.params) == ("procedure.data_not_verified",
                                                         {"datasets": "sampling-lain"})
    assert procedure.get_request(demo_ctx, request.id).status == RequestStatus.REQUESTED


def test_saves_and_the_approval_are_logged_with_their_commits(demo_ctx, as_user):
    analyst = as_user("analis")
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    spec = demo_ctx.store.snapshot(head).specs[procedure.get_request(demo_ctx, request_id).dashboard_id]
    saved = procedure.save_mockup(demo_ctx, analyst, request_id, spec.model_copy(update={"title": "B"}),
                                  head, "Judul B")
    [event] = [e for e in procedure.events(demo_ctx, request_id) if e.action == "mockup.saved"]
    assert (event.step, event.detail) == (4, saved)
    reviewed = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    merge = procedure.approve_mockup(demo_ctx, as_user("unit"), IN_REVIEW, reviewed)
    [event] = [e for e in procedure.events(demo_ctx, IN_REVIEW) if e.action == "mockup.approved"]
    assert (event.step, event.outcome, event.detail) == (5, "approved", f"reviewed {reviewed}, merge {merge}")
    assert procedure.request_clock(demo_ctx, procedure.get_request(demo_ctx, IN_REVIEW)).step == 6


def test_a_review_decision_sent_again_is_done_once_and_another_one_is_told_who_decided(demo_ctx, as_user):
    unit = as_user("unit")
    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    merged = procedure.approve_mockup(demo_ctx, unit, IN_REVIEW, head)
    # The same approval again (a double click, a retry): the same merge, nothing new.
    assert procedure.approve_mockup(demo_ctx, unit, IN_REVIEW, head) == merged
    assert demo_ctx.store.head("main") == merged
    # A different decision after it: refused, naming who approved and when.
    with pytest.raises(Conflict) as refused:
        procedure.request_changes(demo_ctx, unit, IN_REVIEW, head, "Tambah peta.")
    assert refused.value.key == "decided.approved"
    assert refused.value.params["username"] == "unit" and refused.value.params["request"] == IN_REVIEW
    assert procedure.get_request(demo_ctx, IN_REVIEW).status == RequestStatus.APPROVED


def test_changes_asked_again_are_kept_once_and_an_approval_after_them_is_refused(demo_ctx, as_user):
    unit = as_user("unit")
    head = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    procedure.request_changes(demo_ctx, unit, IN_REVIEW, head, "Tambah peta.")
    procedure.request_changes(demo_ctx, unit, IN_REVIEW, head, "  Tambah peta.  ")  # sent again
    assert [c.text for c in procedure.review_comments(demo_ctx, IN_REVIEW)] == ["Tambah peta."]
    assert procedure.get_request(demo_ctx, IN_REVIEW).review_rounds == 1
    with pytest.raises(Conflict) as refused:
        procedure.request_changes(demo_ctx, unit, IN_REVIEW, head, "Judul lain.")
    assert refused.value.key == "decided.changes_requested"
    with pytest.raises(Conflict) as refused:
        procedure.approve_mockup(demo_ctx, unit, IN_REVIEW, head)
    assert refused.value.key == "decided.changes_requested"


def test_a_review_decision_on_a_mock_up_never_sent_is_refused_for_its_step(demo_ctx, as_user):
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    with pytest.raises(UserError) as refused:
        procedure.approve_mockup(demo_ctx, as_user("direktur"), request_id, head)
    assert refused.value.key == "procedure.wrong_status"
    with pytest.raises(UserError) as refused:
        procedure.request_changes(demo_ctx, as_user("direktur"), request_id, head, "Ubah.")
    assert refused.value.key == "procedure.wrong_status"


def test_a_spec_of_another_dashboard_is_refused_naming_the_requests_own(demo_ctx, as_user):
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    request = procedure.get_request(demo_ctx, request_id)
    spec = demo_ctx.store.snapshot(head).specs[request.dashboard_id]
    for other in (spec.model_copy(update={"id": "dasbor-lain"}),
                  spec.model_copy(update={"request_id": request_id + 1})):
        with pytest.raises(UserError) as refused:
            procedure.save_mockup(demo_ctx, as_user("analis"), request_id, other, head, "Coba.")
        assert refused.value.key == "procedure.spec_identity"
        assert refused.value.params == {"dashboard": request.dashboard_id, "request": request_id}
    assert demo_ctx.store.head(demo_ctx.store.mockup_branch(request_id)) == head


def test_restoring_a_revision_not_of_this_mock_up_names_the_file_and_the_revision(demo_ctx, as_user):
    request_id, head = new_request_in_step_4(demo_ctx, as_user)
    request = procedure.get_request(demo_ctx, request_id)
    stranger = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
    with pytest.raises(NotFound) as refused:
        procedure.restore_mockup_version(demo_ctx, as_user("analis"), request_id, stranger, head)
    assert refused.value.key == "store.file_not_found"
    assert refused.value.params == {"path": f"specs/{request.dashboard_id}.yaml", "rev": stranger[:12]}


def test_asking_for_changes_marks_its_checkpoints_in_order(demo_ctx, as_user):
    import sys

    marks: list[str] = []

    def listen(event: str, args: tuple) -> None:
        if event == "ocenter.checkpoint" and listening:
            marks.append(args[0])

    listening = True
    sys.addaudithook(listen)  # audit hooks stay for the process: this one stops listening below
    try:
        head = demo_ctx.store.head(demo_ctx.store.mockup_branch(IN_REVIEW))
        procedure.request_changes(demo_ctx, as_user("unit"), IN_REVIEW, head, "Tambah peta.")
    finally:
        listening = False
    assert [m for m in marks if m.startswith("changes.")] == ["changes.recorded"]


def test_an_approval_commit_carries_the_time_the_use_case_read(demo_ctx, as_user):
    import dataclasses
    from datetime import UTC, datetime

    from ocenter.clock import FixedClock

    decided = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)
    ctx = dataclasses.replace(demo_ctx, clock=FixedClock(decided))
    head = ctx.store.head(ctx.store.mockup_branch(IN_REVIEW))
    merge = procedure.approve_mockup(ctx, as_user("unit"), IN_REVIEW, head)
    request = procedure.get_request(ctx, IN_REVIEW)
    [info] = [c for c in ctx.store.history(f"specs/{request.dashboard_id}.yaml") if c.sha == merge]
    assert info.trailers["Decided-at"] == decided.isoformat()
    assert info.trailers["Request"] == str(IN_REVIEW)
