"""The whole procedure, steps 1 to 10, through the same functions the pages call."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.levels import Level, Tier
from ocenter.bootstrap import demo_sampling_frame
from ocenter.clock import FixedClock
from ocenter.display.filtering import visible_specs
from ocenter.display.render import render_dashboard
from ocenter.display.spec import DefaultView
from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.models import DatasetVersion, Event, RequestStatus, SubmissionStatus
from ocenter.store.validation import validate_store
from ocenter.verification.datasets import load_dataset

#: The day the walk happens on, the same in every run: Tuesday 10 March 2026, 10:00 in Jakarta.
WALK_CLOCK = FixedClock.wib(2026, 3, 10, 10)


def _csv(frame) -> bytes:  # noqa: ANN001 - pandas.DataFrame
    return frame.to_csv(index=False).encode("utf-8")


def test_the_whole_procedure_from_request_to_receipt(demo_ctx, as_user):
    walk_the_procedure(replace(demo_ctx, clock=WALK_CLOCK), as_user)


@pytest.mark.postgres
def test_the_whole_procedure_on_postgresql(postgres_url, tmp_path):
    """The same walk on PostgreSQL, the production database, from a first start."""
    from ocenter.accounts.login import authority_of
    from ocenter.bootstrap import initialise
    from tests.conftest import settings_for

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None, clock=WALK_CLOCK)
    try:
        walk_the_procedure(ctx, lambda username: authority_of(
            ctx.engine, username, production=False, today=ctx.clock.today()))
    finally:
        ctx.engine.dispose()


def walk_the_procedure(ctx, as_user) -> None:  # noqa: ANN001
    """Steps 1 to 10 for one new request, with the refusals a user relies on along the way."""
    direktur, upt, verifier = as_user("direktur"), as_user("upt"), as_user("verifikator")
    analyst, unit_of_other_unit = as_user("analis"), as_user("unit")

    # The requesting unit files the Formulir Permintaan Dashboard.
    request = procedure.file_request(
        ctx, direktur, title="Temuan Pangan Olahan per Wilayah",
        purpose="Memantau temuan TMS pangan olahan di setiap provinsi.",
        datasets_wanted=["sampling-pengujian"], level=Level.RAHASIA,
        audience=["kepala", "eselon2"],
    )
    assert request.status == RequestStatus.REQUESTED
    assert request.dashboard_id == f"dasbor-{request.id:04d}"

    # Step 1: a UPT sends data; one cell is broken, so it must come back to the sender.
    region = demo_sampling_frame(ctx.clock.today(), months=12)
    region = region[region["kode_upt"] == upt.unit_code].tail(150).reset_index(drop=True)
    broken = region.copy()
    broken.loc[4, "jumlah_sampel"] = "dua"
    sent = procedure.submit_data(ctx, upt, dataset_id="sampling-pengujian", level=Level.TERBATAS,
                                 filename="sampling-bandung.csv", content=_csv(broken),
                                 request_id=request.id)
    assert sent.status == SubmissionStatus.SENT and sent.rows == 150
    assert sent.submitted_at == ctx.clock.now()

    # Step 2: Pusdatin receives it; step 3: the contract checks find the bad cell.
    procedure.receive_submission(ctx, verifier, sent.id)
    report = procedure.check_submission(ctx, verifier, sent.id)
    assert not report.valid
    assert [(e.row, e.column, e.check) for e in report.errors] == [(6, "jumlah_sampel", "type")]
    with pytest.raises(UserError) as refused:
        procedure.decide_submission(ctx, verifier, sent.id, accept=True, note="")
    assert refused.value.key == "procedure.cannot_accept_invalid"
    returned = procedure.decide_submission(ctx, verifier, sent.id, accept=False,
                                           note="Kolom jumlah_sampel baris 6 bukan angka.")
    assert returned.status == SubmissionStatus.RETURNED

    # The sender sees the reasons and can download exactly the failing row.
    mine = procedure.list_submissions(ctx, upt, SubmissionStatus.RETURNED)
    assert [s.id for s in mine] == [sent.id]
    assert "baris 6" in mine[0].decision_note
    failing = procedure.failing_rows_file(ctx, upt, sent.id, "csv").decode("utf-8-sig")
    assert "dua" in failing and len(failing.strip().splitlines()) == 2
    with pytest.raises(PermissionDenied) as refused:  # another unit may not read this UPT's rows
        procedure.failing_rows_file(ctx, unit_of_other_unit, sent.id, "csv")
    assert refused.value.key == "auth.forbidden"

    with Session(ctx.engine) as session:
        versions_before = len(session.exec(select(DatasetVersion)).all())
    # The corrected file is accepted and stored as a new dataset version, named by the SHA-256
    # of the bytes the UPT sent.
    corrected = _csv(region)
    digest = hashlib.sha256(corrected).hexdigest()
    fixed = procedure.submit_data(ctx, upt, dataset_id="sampling-pengujian", level=Level.TERBATAS,
                                  filename="sampling-bandung-perbaikan.csv", content=corrected,
                                  request_id=request.id)
    assert fixed.upload_sha256 == digest
    procedure.receive_submission(ctx, verifier, fixed.id)
    assert procedure.check_submission(ctx, verifier, fixed.id).valid
    procedure.decide_submission(ctx, verifier, fixed.id, accept=True, note="Sesuai kontrak.")
    with Session(ctx.engine) as session:
        versions = session.exec(select(DatasetVersion)).all()
    assert len(versions) == versions_before + 1 and versions[-1].submission_id == fixed.id
    assert (versions[-1].sha256, versions[-1].rows) == (digest, 150)
    folder = ctx.home / "datasets" / "sampling-pengujian"
    assert (folder / f"{digest}.orig.csv").read_bytes() == corrected
    assert load_dataset(ctx.home, "sampling-pengujian", digest).num_rows == 150

    # Step 4: the analyst opens the mock-up branch, edits it, and sends it to the unit.
    head = procedure.start_mockup(ctx, analyst, request.id)
    spec = ctx.store.snapshot(head).specs[request.dashboard_id]
    spec = spec.model_copy(update={"title": "Temuan Pangan Olahan (mock-up 1)"})
    head = procedure.save_mockup(ctx, analyst, request.id, spec, head, "Judul pertama")
    procedure.send_mockup(ctx, analyst, request.id)

    # Step 5: only the requesting unit's reviewer may decide; they ask for changes once.
    with pytest.raises(PermissionDenied) as refused:
        procedure.approve_mockup(ctx, unit_of_other_unit, request.id, head)
    assert refused.value.key == "procedure.not_your_unit"
    with pytest.raises(PermissionDenied) as refused:
        procedure.approve_mockup(ctx, analyst, request.id, head)
    assert refused.value.key == "auth.forbidden"
    procedure.request_changes(ctx, direktur, request.id, head, "Tambahkan kata 'per Wilayah'.")
    assert procedure.get_request(ctx, request.id).review_rounds == 1
    spec = spec.model_copy(update={"title": "Temuan Pangan Olahan per Wilayah"})
    new_head = procedure.save_mockup(ctx, analyst, request.id, spec, head, "Judul diperbaiki")
    procedure.send_mockup(ctx, analyst, request.id)
    with pytest.raises(Conflict) as refused:  # approving the old revision would approve unseen changes
        procedure.approve_mockup(ctx, direktur, request.id, head)
    assert refused.value.key == "store.review_outdated"
    merge = procedure.approve_mockup(ctx, direktur, request.id, new_head)
    message = subprocess.run(
        ["git", "--git-dir", str(ctx.settings.store_path), "log", "-1", "--format=%an%n%B", merge],
        capture_output=True, text=True, check=True,
    ).stdout
    assert message.startswith("Direktur Pengawasan Peredaran Pangan Olahan")
    assert "Approved-by: direktur" in message and f"Request: {request.id}" in message
    assert ctx.store.snapshot("main").specs[request.dashboard_id].title.endswith("per Wilayah")

    # Steps 6-8: build, classify default data, put on display.
    procedure.build_dashboard(ctx, analyst, request.id)
    procedure.classify_defaults(ctx, analyst, request.id,
                                [DefaultView(tier=Tier.KEPALA_UPT, months=12)])
    procedure.put_on_display(ctx, analyst, request.id)
    main = ctx.store.snapshot("main")
    lifecycle = main.lifecycle_of(request.dashboard_id)
    assert lifecycle.built and lifecycle.classified and lifecycle.on_display
    assert lifecycle.default_for(Tier.KEPALA_UPT).months == 12
    # The approved spec stays exactly as the unit approved it: steps 6-8 write their own record.
    assert ctx.store.read_file(main.commit, f"specs/{request.dashboard_id}.yaml") == \
        ctx.store.read_file(merge, f"specs/{request.dashboard_id}.yaml")
    shown = main.displayed_specs()
    assert request.dashboard_id in {s.id for s in visible_specs(shown.values(), as_user("kepala"),
                                                                on_display=shown.keys())}
    assert request.dashboard_id not in {s.id for s in visible_specs(shown.values(), as_user("tamu"),
                                                                    on_display=shown.keys())}
    assert validate_store(ctx.settings.store_path) == []

    # Steps 9-10: evaluation, the letter, and the unit's receipt.
    evaluation = procedure.evaluate_dashboard(ctx, analyst, request.id,
                                              "Dasbor dipakai rapat pimpinan mingguan.")
    assert evaluation.letter_number.endswith("/POM.09.01/03/2026")
    assert "Penyampaian Informasi" in evaluation.letter_text
    assert "Temuan Pangan Olahan per Wilayah" in evaluation.letter_text
    received = procedure.acknowledge_letter(ctx, direktur, request.id, "Terima kasih.")
    assert received.acknowledged_by == "direktur"
    assert received.acknowledged_at == ctx.clock.now()
    assert procedure.get_request(ctx, request.id).status == RequestStatus.RECEIVED

    with Session(ctx.engine) as session:
        steps = {e.step for e in session.exec(select(Event).where(Event.request_id == request.id))}
    assert steps == set(range(1, 11))


def test_the_display_filters_rows_and_fields_by_authority(demo_ctx, as_user):
    main = demo_ctx.store.snapshot("main")
    spec = main.specs["pantauan-sampling-pengujian"]
    kabalai, kepala = as_user("kabalai"), as_user("kepala")
    version = procedure.latest_versions(demo_ctx)["sampling-pengujian"]
    table = load_dataset(demo_ctx.home, "sampling-pengujian", version.sha256)
    tables = {"sampling-pengujian": table}
    for_kepala = render_dashboard(spec, main.contracts, tables, kepala, "id")
    for_kabalai = render_dashboard(spec, main.contracts, tables, kabalai, "id")
    total = {p.panel.id: p.data.value for p in for_kepala if p.panel.kind.value == "kpi"}
    regional = {p.panel.id: p.data.value for p in for_kabalai if p.panel.kind.value == "kpi"}
    first_kpi = next(iter(total))
    assert 0 < regional[first_kpi] < total[first_kpi]
    # The dashboard is Rahasia: a Terbatas UPT staff member receives nothing from it at all.
    with pytest.raises(PermissionDenied) as refused:
        render_dashboard(spec, main.contracts, tables, as_user("upt"), "id")
    assert refused.value.key == "render.denied"
    # The authorised outside party sees only the granted summary, never a confidential field.
    tamu = as_user("tamu")
    shown = main.displayed_specs()
    assert [s.id for s in visible_specs(shown.values(), tamu, on_display=shown.keys())] == [
        "ringkasan-pengawasan-nasional"
    ]
    summary = main.specs["ringkasan-pengawasan-nasional"]
    for item in render_dashboard(summary, main.contracts, tables, tamu, "id",
                                 main.lifecycle_of(summary.id)):
        assert not item.data.restricted
        assert {"nama_produk", "parameter_tms"}.isdisjoint(item.data.frame.columns)


def test_refusals_leave_everything_as_it_was(demo_ctx, as_user):
    upt, analyst = as_user("upt"), as_user("analis")
    before = demo_ctx.store.head("main")
    sent_before = procedure.list_submissions(demo_ctx, upt)
    with pytest.raises(UserError) as not_csv:
        procedure.submit_data(demo_ctx, upt, dataset_id="sampling-pengujian",
                              level=Level.TERBATAS, filename="data.exe", content=b"MZ")
    assert not_csv.value.key == "procedure.upload_type"
    assert "CSV" in not_csv.value.text("id").upper()
    with pytest.raises(NotFound) as unknown:
        procedure.submit_data(demo_ctx, upt, dataset_id="tidak-ada", level=Level.TERBATAS,
                              filename="a.csv", content=b"a\n1\n")
    assert unknown.value.key == "procedure.contract_missing"
    with pytest.raises(UserError) as broken:
        procedure.parse_spec("id: [unclosed")
    assert broken.value.key == "spec.yaml_error"
    with pytest.raises(PermissionDenied) as not_a_sender:
        procedure.submit_data(demo_ctx, analyst, dataset_id="sampling-pengujian",
                              level=Level.TERBATAS, filename="a.csv", content=b"a\n1\n")
    assert not_a_sender.value.key == "auth.forbidden"
    assert procedure.list_submissions(demo_ctx, upt) == sent_before
    assert demo_ctx.store.head("main") == before


def test_a_mockup_pushed_with_plain_git_is_adopted_and_its_errors_block_approval(
    demo_ctx, as_user, tmp_path
):
    """Developers may push `mockup/req-N` themselves; the app treats it like its own."""
    direktur, analyst = as_user("direktur"), as_user("analis")
    request = procedure.file_request(
        demo_ctx, direktur, title="Dasbor dari pengembang", purpose="Dibuat lewat Git.",
        datasets_wanted=["sampling-pengujian"], level=Level.RAHASIA, audience=["eselon2"],
    )
    clone = tmp_path / "clone"
    store = str(demo_ctx.settings.store_path)
    subprocess.run(["git", "clone", "-q", store, str(clone)], check=True)
    spec_file = clone / "specs" / f"{request.dashboard_id}.yaml"
    spec_file.write_text(
        f"id: {request.dashboard_id}\ntitle: Dari Git\nowner_unit: DIT-WAS-EDAR-PANGAN\n"
        f"request_id: {request.id}\nlevel: rahasia\ndatasets: [sampling-pengujian]\n"
        "panels:\n- id: per-kolom-salah\n  title: Salah\n  kind: bar\n"
        "  dataset: sampling-pengujian\n  dimension: kolom_tidak_ada\n",
        encoding="utf-8",
    )
    branch = f"mockup/req-{request.id}"
    git = ["git", "-C", str(clone), "-c", "user.name=Pengembang", "-c", "user.email=dev@pom.go.id"]
    subprocess.run([*git, "checkout", "-qb", branch], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "Mock-up dari pengembang"], check=True)
    subprocess.run([*git, "push", "-q", "origin", branch], check=True)

    procedure.state_no_new_data(demo_ctx, analyst, request.id, "Data ini sudah diterima sebelumnya.")
    head = procedure.start_mockup(demo_ctx, analyst, request.id)
    assert head == demo_ctx.store.head(branch)
    problems = procedure.mockup_problems(demo_ctx, request.id)
    assert any("kolom_tidak_ada" in p for p in problems)
    with pytest.raises(UserError) as refused:
        procedure.send_mockup(demo_ctx, analyst, request.id)
    assert refused.value.key == "procedure.mockup_invalid"
    assert "kolom_tidak_ada" in refused.value.params["problems"]


def test_a_upt_requests_reviews_and_receives_like_a_central_unit(demo_ctx, as_user):
    """The SOP's unit kerja includes UPT BPOM: the head of the Balai Besar POM di Bandung asks for
    a dashboard of its own region, its staff send the data and approve the mock-up, and the
    head receives the letter; another UPT's or a central unit's people may not decide for it."""
    ctx = replace(demo_ctx, clock=WALK_CLOCK)
    kabalai, upt, verifier, analyst = (as_user(u) for u in ("kabalai", "upt", "verifikator", "analis"))
    request = procedure.file_request(
        ctx, kabalai, title="Sampling Balai Besar POM di Bandung", purpose="Rapat pimpinan balai.",
        datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS, audience=["kepala_upt"])
    assert request.requesting_unit == kabalai.unit_code == upt.unit_code

    region = demo_sampling_frame(ctx.clock.today(), months=12)
    region = region[region["kode_upt"] == upt.unit_code].tail(40).reset_index(drop=True)
    sent = procedure.submit_data(ctx, upt, dataset_id="sampling-pengujian", level=Level.TERBATAS,
                                 filename="sampling-bandung.csv", content=_csv(region),
                                 request_id=request.id)
    procedure.receive_submission(ctx, verifier, sent.id)
    assert procedure.check_submission(ctx, verifier, sent.id).valid
    procedure.decide_submission(ctx, verifier, sent.id, accept=True, note="Sesuai kontrak.")

    head = procedure.start_mockup(ctx, analyst, request.id)
    procedure.send_mockup(ctx, analyst, request.id)
    assert [r.id for r in procedure.list_requests(ctx, upt) if r.id == request.id] == [request.id]
    for outsider in (as_user("unit"), as_user("direktur")):
        with pytest.raises(PermissionDenied) as refused:
            procedure.approve_mockup(ctx, outsider, request.id, head)
        assert refused.value.key == "procedure.not_your_unit"
    merge = procedure.approve_mockup(ctx, upt, request.id, head)
    assert ctx.store.head("main") == merge

    procedure.build_dashboard(ctx, analyst, request.id)
    procedure.classify_defaults(ctx, analyst, request.id, [DefaultView(tier=Tier.KEPALA_UPT, months=12)])
    procedure.put_on_display(ctx, analyst, request.id)
    procedure.evaluate_dashboard(ctx, analyst, request.id, "Dipakai rapat pimpinan balai.")
    with pytest.raises(PermissionDenied):
        procedure.acknowledge_letter(ctx, as_user("direktur"), request.id, "Bukan unit kami.")
    received = procedure.acknowledge_letter(ctx, kabalai, request.id, "Diterima.")
    assert received.acknowledged_by == "kabalai"
    assert procedure.get_request(ctx, request.id).status == RequestStatus.RECEIVED
