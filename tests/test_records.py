"""The record of a request (the SOP's records): one archive for Pusdatin and the requesting unit,
with every part of the procedure, its digests, and the event log's hash-chain proof."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.admin import add_user
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier
from ocenter.bootstrap import demo_sampling_frame
from ocenter.clock import FixedClock
from ocenter.database import EVENT_LOG_TRIGGERS
from ocenter.display.spec import DefaultView
from ocenter.errors import PermissionDenied
from ocenter.models import Letter
from ocenter.records import export_request_record, request_history, write_request_record

CLOCK = FixedClock.wib(2026, 3, 10, 10)
TITLE = "Temuan Pangan Olahan per Wilayah"


def _csv(frame) -> bytes:  # noqa: ANN001 - pandas.DataFrame
    return frame.to_csv(index=False).encode("utf-8")


def walk(ctx, as_user) -> tuple[int, bytes]:  # noqa: ANN001
    """Steps 1-10 for one new Rahasia request of the direktur's unit; the UPT's data is returned
    once, then accepted. Returns the request's number and the accepted file's bytes."""
    direktur, upt, verifier, analyst = (as_user(u) for u in ("direktur", "upt", "verifikator", "analis"))
    request = procedure.file_request(
        ctx, direktur, title=TITLE, purpose="Memantau temuan TMS pangan olahan per provinsi.",
        datasets_wanted=["sampling-pengujian"], level=Level.RAHASIA, audience=["eselon_2"])
    region = demo_sampling_frame(ctx.clock.today(), months=12)
    region = region[region["kode_upt"] == upt.unit_code].tail(40).reset_index(drop=True)
    broken = region.copy()
    broken.loc[2, "jumlah_sampel"] = "dua"
    for content, accept in ((_csv(broken), False), (_csv(region), True)):
        sent = procedure.submit_data(ctx, upt, dataset_id="sampling-pengujian", level=Level.TERBATAS,
                                     filename="sampling-bandung.csv", content=content,
                                     request_id=request.id)
        procedure.receive_submission(ctx, verifier, sent.id)
        procedure.check_submission(ctx, verifier, sent.id)
        procedure.decide_submission(ctx, verifier, sent.id, accept=accept,
                                    note="Sesuai kontrak." if accept else "Baris 4 bukan angka.")
    head = procedure.start_mockup(ctx, analyst, request.id)
    spec = ctx.store.snapshot(head).specs[request.dashboard_id]
    head = procedure.save_mockup(ctx, analyst, request.id,
                                 spec.model_copy(update={"title": TITLE + " (mock-up)"}), head, "Judul")
    procedure.send_mockup(ctx, analyst, request.id)
    procedure.approve_mockup(ctx, direktur, request.id, head)
    procedure.build_dashboard(ctx, analyst, request.id)
    procedure.classify_defaults(ctx, analyst, request.id, [DefaultView(tier=Tier.ESELON_2, months=12)])
    procedure.put_on_display(ctx, analyst, request.id)
    procedure.evaluate_dashboard(ctx, analyst, request.id, "Dipakai rapat pimpinan.")
    procedure.acknowledge_letter(ctx, direktur, request.id, "Terima kasih.")
    return request.id, _csv(region)


@pytest.fixture
def walked(demo_ctx, as_user):  # noqa: ANN201
    ctx = replace(demo_ctx, clock=CLOCK)
    request_id, accepted = walk(ctx, as_user)
    return ctx, request_id, accepted


def _open(data: bytes) -> tuple[zipfile.ZipFile, dict]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return archive, json.loads(archive.read("manifest.json"))


def _drop_triggers_and(ctx, statement: str, **params: object) -> None:  # noqa: ANN001
    with ctx.engine.begin() as connection:
        for trigger in EVENT_LOG_TRIGGERS[ctx.engine.dialect.name]:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        connection.execute(text(statement), params)


def test_the_record_holds_every_part_with_matching_digests_and_is_the_same_bytes_twice(walked, as_user):
    ctx, request_id, accepted = walked
    data = export_request_record(ctx, as_user("analis"), request_id)
    assert export_request_record(ctx, as_user("analis"), request_id) == data
    archive, manifest = _open(data)
    names = archive.namelist()
    assert names[:2] == ["README.txt", "manifest.json"]
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"README.txt", "manifest.json"}
    for path, entry in listed.items():
        content = archive.read(path)
        assert (hashlib.sha256(content).hexdigest(), len(content)) == (entry["sha256"], entry["bytes"])
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}

    form = json.loads(archive.read("01-formulir/formulir-permintaan.json"))
    assert (form["id"], form["title"], form["requesting_unit"]) == (request_id, TITLE,
                                                                    "DIT-WAS-EDAR-PANGAN")
    assert "Formulir Permintaan Dashboard" in archive.read("01-formulir/formulir-permintaan.md").decode()
    submissions = sorted({p.split("/")[1] for p in names if p.startswith("02-data/")})
    assert len(submissions) == 2  # the returned one and its correction
    returned, fixed = (json.loads(archive.read(f"02-data/{s}/kiriman.json")) for s in submissions)
    assert (returned["status"], fixed["status"]) == ("returned", "verified")
    assert archive.read(f"02-data/{submissions[1]}/berkas-kiriman.csv") == accepted
    report = json.loads(archive.read(f"02-data/{submissions[0]}/laporan-verifikasi.json"))
    assert report["valid"] is False and report["errors"][0]["column"] == "jumlah_sampel"

    revisions = [p for p in names if p.startswith("03-spesifikasi/") and p.endswith("revisi.json")]
    subjects = [json.loads(archive.read(p))["subject"] for p in revisions]
    assert "Judul" in subjects and len(revisions) >= 5  # start, edit, approval, steps 6, 7, 8
    approved_spec = [p for p in names if p.startswith("03-spesifikasi/") and p.endswith("dasbor.yaml")]
    assert f"title: {TITLE}" in archive.read(approved_spec[-1]).decode()
    for step, name in ((5, "persetujuan"), (6, "pembangunan"), (7, "klasifikasi"), (8, "penayangan")):
        [decision] = json.loads(archive.read(f"04-keputusan/langkah-{step}-{name}.json"))
        assert decision["step"] == step and decision["trailers"]["Request"] == str(request_id)
    [approval] = json.loads(archive.read("04-keputusan/langkah-5-persetujuan.json"))
    assert approval["decided_by"] == "direktur" and len(approval["parents"]) == 2
    [step7] = json.loads(archive.read("04-keputusan/langkah-7-klasifikasi.json"))
    [classified] = [p for p in names if p.endswith("siklus-hidup.yaml") and json.loads(
        archive.read(p.replace("siklus-hidup.yaml", "revisi.json")))["commit"] == step7["commit"]]
    assert "eselon_2" in archive.read(classified).decode()

    [letter] = [p for p in names if p.startswith("05-evaluasi-dan-surat/surat-") and p.endswith(".txt")]
    assert TITLE in archive.read(letter).decode()
    # The PDF as the unit received it, byte for byte.
    [pdf] = [p for p in names if p.startswith("05-evaluasi-dan-surat/surat-") and p.endswith(".pdf")]
    with Session(ctx.engine) as session:
        [sent] = session.exec(select(Letter)).all()
    assert archive.read(pdf) == sent.pdf and archive.read(pdf).startswith(b"%PDF")
    [receipt] = [p for p in names if p.startswith("06-tanda-terima/")]
    assert json.loads(archive.read(receipt))["acknowledged_by"] == "direktur"

    events = json.loads(archive.read("07-log/peristiwa.json"))
    assert {e["step"] for e in events} >= set(range(1, 11))
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert all(e["hash_ok"] and e["entry_hash"] for e in events)
    assert all(hashlib.sha256(e["hashed_text"].encode()).hexdigest() == e["entry_hash"] for e in events)
    assert all(json.loads(e["hashed_text"])["prev_hash"] == e["prev_hash"] for e in events)
    assert manifest["event_chain"]["verified"] is True
    assert manifest["withheld"] == []
    assert "terverifikasi utuh" in archive.read("README.txt").decode()


def test_a_tampered_event_shows_the_chain_as_not_verified(walked, as_user):
    ctx, request_id, _ = walked
    events = procedure.events(ctx, request_id)
    victim = next(e for e in events if e.action == "letter.received")
    _drop_triggers_and(ctx, "UPDATE event SET actor = 'orang-lain' WHERE id = :id", id=victim.id)
    archive, manifest = _open(export_request_record(ctx, as_user("analis"), request_id))
    chain = json.loads(archive.read("07-log/bukti-rantai-hash.json"))
    assert chain["verified"] is False and manifest["event_chain"]["verified"] is False
    assert str(victim.id) in " ".join(chain["statement_en"])
    [entry] = [e for e in json.loads(archive.read("07-log/peristiwa.json")) if e["id"] == victim.id]
    assert entry["hash_ok"] is False and chain["request_entries_hash_ok"] is False
    assert "TIDAK terverifikasi" in archive.read("README.txt").decode()


def test_the_requesting_unit_gets_its_record_without_another_units_files(walked, as_user):
    ctx, request_id, accepted = walked
    archive, manifest = _open(export_request_record(ctx, as_user("direktur"), request_id))
    names = archive.namelist()
    assert not [p for p in names if "berkas-kiriman" in p or "laporan-verifikasi" in p]
    assert len([p for p in names if p.endswith("kiriman.json")]) == 2
    reasons = [w["en"] for w in manifest["withheld"]]
    assert len(reasons) == 2 and all("another unit" in r for r in reasons)
    assert any(p.startswith("05-evaluasi-dan-surat/surat-") for p in names)
    history = request_history(ctx, as_user("direktur"), request_id)
    assert history and [e.id for e, _ in history] == sorted((e.id for e, _ in history), reverse=True)


def test_another_unit_or_role_is_refused_and_nothing_is_written(walked, as_user, tmp_path):
    ctx, request_id, _ = walked
    out = tmp_path / "out"
    out.mkdir()
    target = out / "arsip.zip"
    logged = len(procedure.events(ctx))
    for username in ("unit", "admin", "kepala", "upt"):
        with pytest.raises(PermissionDenied) as refused:
            write_request_record(ctx, as_user(username), request_id, target)
        assert refused.value.key == "record.not_allowed", username
        with pytest.raises(PermissionDenied):
            request_history(ctx, as_user(username), request_id)
    with pytest.raises(PermissionDenied) as missing:  # said the same as another unit's
        export_request_record(ctx, as_user("unit"), 999)
    assert missing.value.key == "record.not_allowed"
    assert list(out.iterdir()) == [] and len(procedure.events(ctx)) == logged
    assert write_request_record(ctx, as_user("analis"), request_id, target) == target.stat().st_size
    assert [p.name for p in out.iterdir()] == ["arsip.zip"]
    assert target.read_bytes() == export_request_record(ctx, as_user("analis"), request_id)


def test_a_reader_below_a_level_gets_it_withheld_and_told_why(walked, as_user):
    ctx, request_id, accepted = walked
    # PPPOMN sends Rahasia data for the request; a Pusdatin verifier cleared only for Terbatas.
    region = demo_sampling_frame(ctx.clock.today(), months=2).head(20)
    secret = procedure.submit_data(ctx, as_user("pppomn"), dataset_id="sampling-pengujian",
                                   level=Level.RAHASIA, filename="rahasia.csv", content=_csv(region),
                                   request_id=request_id)
    add_user(ctx, None, username="verif2", name="Verifikator Terbatas", role=Role.VERIFIKATOR,
             clearance=Level.TERBATAS, scope=ScopeKind.BPOM, unit_code="PUSDATIN",
             password="kata-sandi-yang-panjang-1")
    analyst_names = _open(export_request_record(ctx, as_user("analis"), request_id))[0].namelist()
    assert f"02-data/kiriman-{secret.id:06d}/berkas-kiriman.csv" in analyst_names

    archive, manifest = _open(export_request_record(ctx, as_user("verif2"), request_id))
    names = archive.namelist()
    assert f"02-data/kiriman-{secret.id:06d}/berkas-kiriman.csv" not in names
    assert any(n.endswith("berkas-kiriman.csv") for n in names)  # the Terbatas file stays
    whole = b"".join(archive.read(n) for n in names)
    assert TITLE.encode() not in whole and b"Dipakai rapat pimpinan" not in whole
    assert not [n for n in names if n.endswith(("dasbor.yaml", "siklus-hidup.yaml"))]
    assert not [n for n in names if "/surat-" in n]
    reasons = " | ".join(w["en"] for w in manifest["withheld"])
    assert f"submission #{secret.id} are left out: its data is classified Secret" in reasons
    assert f"request #{request_id} are withheld" in reasons
    assert "details of" in reasons
    events = json.loads(archive.read("07-log/peristiwa.json"))
    assert all(e["detail"] is None and e["detail_withheld"] and e["hashed_text"] is None for e in events)
    assert all(e["entry_hash"] for e in events)
    assert "Tidak disertakan:" in archive.read("README.txt").decode()


def test_the_command_line_writes_the_record_and_refuses_another_unit(demo_home, tmp_path):
    from tests.test_cli import _ocenter

    out = tmp_path / "out"
    out.mkdir()
    as_unit = _ocenter("record", "export", "1", "-o", str(out / "lain.zip"), "--as", "unit",
                       home=demo_home)
    assert as_unit.returncode == 2
    assert "may not take the record of request #1" in as_unit.stderr
    assert list(out.iterdir()) == []
    as_director = _ocenter("record", "export", "1", "-o", str(out / "arsip.zip"), "--as", "direktur",
                           home=demo_home)
    assert as_director.returncode == 0, as_director.stderr
    assert "record of request 1 written" in as_director.stdout
    archive, manifest = _open((out / "arsip.zip").read_bytes())
    assert (manifest["request"], manifest["exported_by"]) == (1, "direktur")
    assert manifest["event_chain"]["verified"] is True
    nowhere = _ocenter("record", "export", "1", "-o", str(out / "tidak-ada" / "a.zip"), home=demo_home)
    assert nowhere.returncode == 2 and "cannot write" in nowhere.stderr
    assert "Traceback" not in nowhere.stderr
    operator = _ocenter("record", "export", "1", "-o", str(out / "operator.zip"), home=demo_home)
    assert operator.returncode == 0, operator.stderr
    assert _open((out / "operator.zip").read_bytes())[1]["exported_by"] == "cli"


def test_an_upload_altered_since_it_was_sent_is_left_out_and_said(walked, as_user):
    ctx, request_id, accepted = walked
    digest = hashlib.sha256(accepted).hexdigest()
    [stored] = ctx.uploads_dir.glob(f"{digest}.*")
    stored.chmod(0o644)
    stored.write_bytes(accepted + b"baris,sisipan\n")
    archive, manifest = _open(export_request_record(ctx, as_user("analis"), request_id))
    [row] = [n for n in archive.namelist() if n.endswith("kiriman.json")
             and json.loads(archive.read(n))["upload_sha256"] == digest]
    assert row.replace("kiriman.json", "berkas-kiriman.csv") not in archive.namelist()
    assert row.replace("kiriman.json", "laporan-verifikasi.json") in archive.namelist()
    [said] = [w for w in manifest["withheld"] if digest in w["en"]]
    assert "no longer the file sent" in said["en"] and "tidak lagi sama" in said["id"]


@pytest.mark.postgres
def test_the_record_on_postgresql_is_the_same_bytes_twice_and_verified(postgres_url, tmp_path):
    from ocenter.accounts.login import authority_of
    from ocenter.bootstrap import initialise
    from tests.conftest import settings_for

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None, clock=CLOCK)
    try:
        analyst = authority_of(ctx.engine, "analis", production=False, today=ctx.clock.today())
        procedure.evaluate_dashboard(ctx, analyst, 1, "Dipakai rapat pimpinan.")
        first = export_request_record(ctx, analyst, 1)
        assert export_request_record(ctx, analyst, 1) == first
        archive, manifest = _open(first)
        assert manifest["event_chain"]["verified"] is True
        assert {e["action"] for e in json.loads(archive.read("07-log/peristiwa.json"))} >= {
            "request.filed", "dashboard.evaluated"}
    finally:
        ctx.engine.dispose()


def test_a_revision_above_the_takers_clearance_is_left_out_with_its_subject(demo_ctx, as_user):
    direktur, analyst = as_user("direktur"), as_user("analis")
    add_user(demo_ctx, None, username="stafpangan", name="Staf Pangan", role=Role.UNIT,
             clearance=Level.TERBATAS, scope=ScopeKind.UNIT, unit_code=direktur.unit_code,
             password="kata-sandi-yang-panjang-1")
    request = procedure.file_request(
        demo_ctx, direktur, title="Ringkasan Terbatas", purpose="Untuk rapat unit.",
        datasets_wanted=["sampling-pengujian"], level=Level.TERBATAS, audience=["eselon_2"])
    procedure.state_no_new_data(demo_ctx, analyst, request.id, "Data sampling sudah diterima.")
    start = procedure.start_mockup(demo_ctx, analyst, request.id)
    spec = demo_ctx.store.snapshot(start).specs[request.dashboard_id]
    raised = procedure.save_mockup(demo_ctx, analyst, request.id,
                                   spec.model_copy(update={"level": Level.RAHASIA}), start,
                                   "Naikkan tingkat ke rahasia")
    archive, manifest = _open(export_request_record(demo_ctx, as_user("stafpangan"), request.id))
    names = archive.namelist()
    [kept] = [n for n in names if n.endswith("revisi.json") and start[:12] in n]
    [left] = [n for n in names if n.endswith("revisi.json") and raised[:12] in n]
    assert kept.replace("revisi.json", "dasbor.yaml") in names
    assert left.replace("revisi.json", "dasbor.yaml") not in names
    assert json.loads(archive.read(left))["subject"] is None
    assert json.loads(archive.read("01-formulir/formulir-permintaan.json"))["title"] == "Ringkasan Terbatas"
    [said] = [w["en"] for w in manifest["withheld"]]
    assert said == f"The content of revision {raised[:12]} is left out: it is classified Secret, " \
                   "above the taker's clearance."
