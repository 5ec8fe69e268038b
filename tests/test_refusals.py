"""Every use case refused to every role, and every unit, the procedure does not give it, with nothing changed.

The table ``ALLOWED`` is the specification, written out by hand from the SOP's "done by" column
(the procedure in DOMAIN.md) and the pages each role gets (``ocenter/navigation.py``); it does not
read the roles the code checks. Each refusal runs in an installation where the same call by an
allowed user succeeds (``test_an_allowed_user_succeeds_in_the_same_state`` shows that), so the
only thing wrong is who asks.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel

from ocenter import procedure
from ocenter.accounts import admin, grants
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import demo_sampling_frame
from ocenter.context import AppContext, open_context
from ocenter.contracts.model import contract_to_yaml
from ocenter.display.spec import DefaultView, spec_to_yaml
from ocenter.errors import PermissionDenied, UserError
from ocenter.models import PartitionVersion
from ocenter.reference import reference_rows
from tests.conftest import settings_for

R = Role
DATASET = "sampling-pengujian"
SUMMARY = "ringkasan-pengawasan-nasional"  # the demo's dashboard granted to tamu
#: A name locked after wrong passwords in a row (a user's: ``unlock_user`` has one to unlock).
LOCKED_NAME = "pppomn"
#: The unit that asked: a central unit or a UPT BPOM, its staff and its head.
REQUESTING_UNIT = frozenset({R.UNIT, R.DIREKTUR, R.UPT, R.KABALAI})
SENDERS = frozenset({R.UNIT, R.UPT, R.MITRA})  # step 1: central units, UPT, other K/L
ANALYST = frozenset({R.ANALIS})
VERIFIER = frozenset({R.VERIFIKATOR})
#: A data contract changes only with the approval of the unit owning the data (a central unit, a
#: UPT or an agency) and of Pusdatin; Pusdatin proposes.
CONTRACT_PARTIES = frozenset({R.ANALIS, R.VERIFIKATOR}) | REQUESTING_UNIT | SENDERS
#: The SOP's "parties given authorisation" are authorised by Pusdatin's analyst, who classifies
#: what each stakeholder sees (step 7), and by the administrator of users.
GRANTERS = frozenset({R.ADMIN, R.ANALIS})

#: Who may perform each use case. Steps 2-9 are Pusdatin's; within Pusdatin the verifier decides
#: on data (Verifikasi Data) and the analyst makes, builds, shows and evaluates dashboards. Steps
#: 5 and 10 belong to the requesting unit only, and the failing rows go back to their sender only.
ALLOWED: dict[str, frozenset[Role]] = {
    "file_request": REQUESTING_UNIT,
    "submit_data": SENDERS,
    "receive_submission": frozenset({R.ANALIS, R.VERIFIKATOR}),
    "check_submission": VERIFIER,
    "decide_submission:accept": VERIFIER,
    "decide_submission:return": VERIFIER,
    # The sender corrects them; Pusdatin, which holds every submission, may look too. A head of
    # UPT shares the sender's unit but is not a sender: the rows do not go back to them.
    "failing_rows_file": SENDERS | {R.ANALIS, R.VERIFIKATOR},
    "state_no_new_data": ANALYST,
    "start_mockup": ANALYST,
    "save_mockup": ANALYST,
    "send_mockup": ANALYST,
    "restore_mockup_version": ANALYST,
    "update_mockup_from_main": ANALYST,
    "take_over_pushed_commits": ANALYST,
    "approve_mockup": REQUESTING_UNIT,
    "request_changes": REQUESTING_UNIT,
    "ask_mockup_adjustment": REQUESTING_UNIT,
    "build_dashboard": ANALYST,
    "classify_defaults": ANALYST,
    "put_on_display": ANALYST,
    "evaluate_dashboard": ANALYST,
    "acknowledge_letter": REQUESTING_UNIT,
    # Each sender's part of a dataset: the verifier decides on data, Pusdatin watches who sent.
    "restore_partition": VERIFIER,
    "completeness_of": frozenset({R.ANALIS, R.VERIFIKATOR}),
    "completeness_grid": frozenset({R.ANALIS, R.VERIFIKATOR}),
    "partition_history": frozenset({R.ANALIS, R.VERIFIKATOR}),
    "propose_contract_change": frozenset({R.ANALIS, R.VERIFIKATOR}),
    "list_contract_changes": CONTRACT_PARTIES,
    "review_contract_change": CONTRACT_PARTIES,
    "approve_contract_change": CONTRACT_PARTIES,
    "admin.add_user": frozenset({R.ADMIN}),
    "admin.toggle_active": frozenset({R.ADMIN}),
    "admin.list_users": frozenset({R.ADMIN}),  # it carries every password hash
    "grants.grant_dashboard": GRANTERS,
    "grants.revoke_grant": GRANTERS,
    "grants.list_grants": GRANTERS,
    "grants.grantable_dashboards": GRANTERS,
    "grants.grantees": GRANTERS,
    "admin.change_user": frozenset({R.ADMIN}),
    "admin.locked_users": frozenset({R.ADMIN}),
    "admin.unlock_user": frozenset({R.ADMIN}),
    # The working-day calendar: the administrator enters each year's decree; Pusdatin's analysts,
    # who plan with the due days, may look.
    "add_calendar_entry": frozenset({R.ADMIN}),
    "remove_calendar_entry": frozenset({R.ADMIN}),
    "calendar_year": frozenset({R.ADMIN, R.ANALIS}),
}

#: The demo user who holds each role (README, "Demo users").
USER_OF_ROLE: dict[Role, str] = {
    R.KEPALA: "kepala",
    R.DEPUTI: "deputi",
    R.DIREKTUR: "direktur",  # Direktorat Pengawasan Peredaran Pangan Olahan
    R.KABALAI: "kabalai",  # Balai Besar POM di Bandung
    R.TAMU: "tamu",
    R.ANALIS: "analis",
    R.VERIFIKATOR: "verifikator",
    R.UNIT: "unit",  # Direktorat Pengawasan Kosmetik
    R.UPT: "upt",  # Balai Besar POM di Bandung
    R.MITRA: "mitra",  # BPS
    R.ADMIN: "admin",
    R.LAYAR: "layar",
}

#: Right role, wrong unit: request 2 belongs to the cosmetics directorate, the evaluated request
#: to the food directorate, the returned data to the Bandung UPT.
WRONG_UNIT: list[tuple[str, str, str]] = [
    ("approve_mockup", "direktur", "procedure.not_your_unit"),
    ("approve_mockup", "pppomn", "procedure.not_your_unit"),
    ("request_changes", "direktur", "procedure.not_your_unit"),
    ("request_changes", "pppomn", "procedure.not_your_unit"),
    ("ask_mockup_adjustment", "unit", "procedure.not_your_unit"),
    ("ask_mockup_adjustment", "pppomn", "procedure.not_your_unit"),
    ("acknowledge_letter", "unit", "procedure.not_your_unit"),
    ("acknowledge_letter", "pppomn", "procedure.not_your_unit"),
    ("failing_rows_file", "unit", "auth.forbidden"),
    ("failing_rows_file", "pppomn", "auth.forbidden"),
    ("failing_rows_file", "mitra", "auth.forbidden"),
    ("failing_rows_file", "upt-lain", "auth.forbidden"),  # staff of another UPT
    # The sampling contract belongs to PPPOMN: no other unit reviews or approves its changes...
    *((use_case, username, "contract_change.not_owner_unit")
      for use_case in ("review_contract_change", "approve_contract_change")
      for username in ("unit", "direktur", "upt", "mitra")),
    # ...and whoever proposed the change does not approve it.
    ("approve_contract_change", "analis", "contract_change.proposer_cannot_approve"),
]

#: The user who performs each use case in the working procedure.
DOER: dict[str, str] = {
    "file_request": "direktur",
    "submit_data": "upt",
    "receive_submission": "verifikator",
    "check_submission": "verifikator",
    "decide_submission:accept": "verifikator",
    "decide_submission:return": "verifikator",
    "failing_rows_file": "upt",
    "state_no_new_data": "analis",
    "start_mockup": "analis",
    "save_mockup": "analis",
    "send_mockup": "analis",
    "restore_mockup_version": "analis",
    "update_mockup_from_main": "analis",
    "take_over_pushed_commits": "analis",
    "approve_mockup": "unit",
    "request_changes": "unit",
    "ask_mockup_adjustment": "direktur",
    "build_dashboard": "analis",
    "classify_defaults": "analis",
    "put_on_display": "analis",
    "evaluate_dashboard": "analis",
    "acknowledge_letter": "direktur",
    "restore_partition": "verifikator",
    "completeness_of": "analis",
    "completeness_grid": "analis",
    "partition_history": "verifikator",
    "propose_contract_change": "verifikator",
    "list_contract_changes": "pppomn",
    "review_contract_change": "pppomn",
    "approve_contract_change": "pppomn",
    "admin.add_user": "admin",
    "admin.toggle_active": "admin",
    "admin.list_users": "admin",
    "grants.grant_dashboard": "analis",
    "grants.revoke_grant": "admin",
    "grants.list_grants": "admin",
    "grants.grantable_dashboards": "analis",
    "grants.grantees": "admin",
    "admin.change_user": "admin",
    "admin.locked_users": "admin",
    "admin.unlock_user": "admin",
    "add_calendar_entry": "admin",
    "remove_calendar_entry": "admin",
    "calendar_year": "analis",
}

#: Use cases that only read: an allowed call changes nothing either, and returns what is asked for.
READ_ONLY: dict[str, Callable[[object], bool]] = {
    "failing_rows_file": lambda data: "dua" in data.decode("utf-8-sig"),  # the one bad cell
    "completeness_of": lambda status: status.expected == 76,
    "completeness_grid": lambda cells: len(cells) == 76 * 12,
    "partition_history": lambda versions: [v.id for v in versions][-1:] == [1],
    "admin.list_users": lambda users: "upt-lain" in {user.username for user in users},
    "admin.locked_users": lambda rows: [row.key for row in rows] == [f"user:{LOCKED_NAME}"],
    "list_contract_changes": lambda changes: [c.dataset_id for c in changes] == [DATASET],
    "review_contract_change": lambda review: [d.subject for d in review.differences
                                              if d.lowers_level] == ["parameter_tms"],
    "grants.list_grants": lambda entries: [e.username for e in entries] == ["tamu"],
    "grants.grantable_dashboards": lambda dashboards: SUMMARY in {d.id for d in dashboards},
    "grants.grantees": lambda users: "tamu" in {u.username for u in users},
    "calendar_year": lambda days: len(days) == 18 + 8,  # 2027: national holidays and cuti bersama
}


@dataclass(frozen=True)
class World:
    """The ids of one installation holding a request or submission at every step a use case needs."""

    sent: int  # submission at step 1 (sent)
    received: int  # received, not yet checked
    passed: int  # received and checked: conforms
    failed: int  # received and checked: one bad cell
    returned: int  # returned to the Bandung UPT with its failing rows
    requested: int  # request whose data needs nothing new (stated), no mock-up yet
    awaiting_data: int  # request whose data has not come yet
    drafting: int  # mock-up begun and saved once
    first_draft: str  # the mock-up's first commit
    draft_head: str  # the mock-up's newest commit (main has moved since)
    pushed: int  # mock-up pushed with plain Git by nobody the store knows, then adopted
    pushed_head: str
    in_review: int  # request 2 of the demo, the cosmetics directorate's
    in_review_head: str
    approved: int
    built: int
    classified: int
    displayed: int  # request 1 of the demo
    evaluated: int  # the letter waits for the food directorate's receipt
    upload: bytes  # a conforming file of the Bandung UPT's rows
    contract_change: int  # the analyst proposed lowering parameter_tms; nobody approved yet
    contract_change_head: str
    demo_grant: int  # tamu's grant of the national summary


def _csv(frame) -> bytes:  # noqa: ANN001 - pandas.DataFrame
    return frame.to_csv(index=False).encode("utf-8")


def _bandung_rows(ctx: AppContext, upt_code: str):  # noqa: ANN202 - pandas.DataFrame
    region = demo_sampling_frame(ctx.clock.today(), months=12)
    return region[region["kode_upt"] == upt_code].tail(20).reset_index(drop=True)


def _build_world(ctx: AppContext) -> World:
    """Walk the real procedure until something waits at every step."""

    def who(username: str) -> Authority:
        authority = authority_of(ctx.engine, username, production=False)
        assert authority is not None, username
        return authority

    direktur, upt, verifier, analyst = who("direktur"), who("upt"), who("verifikator"), who("analis")
    good = _bandung_rows(ctx, upt.unit_code)
    bad = good.copy()
    bad.loc[4, "jumlah_sampel"] = "dua"

    def send(frame, *, receive: bool = True, check: bool = True) -> int:  # noqa: ANN001
        sent = procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                     filename="sampling-bandung.csv", content=_csv(frame))
        if receive:
            procedure.receive_submission(ctx, verifier, sent.id)
        if check:
            procedure.check_submission(ctx, verifier, sent.id)
        return sent.id

    returned = send(bad)
    procedure.decide_submission(ctx, verifier, returned, accept=False,
                                note="Kolom jumlah_sampel baris 6 bukan angka.")

    def file(title: str) -> int:
        return procedure.file_request(
            ctx, direktur, title=title, purpose="Memantau temuan TMS pangan olahan.",
            datasets_wanted=[DATASET], level=Level.RAHASIA, audience=["eselon2"],
        ).id

    def head(request_id: int) -> str:
        commit = ctx.store.head(ctx.store.mockup_branch(request_id))
        assert commit is not None
        return commit

    requested = file("Menunggu mock-up")
    awaiting_data = file("Menunggu data")
    procedure.state_no_new_data(ctx, analyst, requested, "Data ini sudah diterima sebelumnya.")
    drafting = file("Mock-up dalam pengerjaan")
    procedure.state_no_new_data(ctx, analyst, drafting, "Data ini sudah diterima sebelumnya.")
    first_draft = procedure.start_mockup(ctx, analyst, drafting)
    spec = ctx.store.snapshot(first_draft).specs[procedure.get_request(ctx, drafting).dashboard_id]
    draft_head = procedure.save_mockup(ctx, analyst, drafting,
                                       spec.model_copy(update={"title": "Draf kedua"}),
                                       first_draft, "Draf kedua")
    # Approving these after the draft began moves main, so the draft can be updated from it.
    approved, built, classified, evaluated = (
        file(f"Dasbor {n}") for n in ("disetujui", "dibangun", "diklasifikasi", "dievaluasi")
    )
    for request_id in (approved, built, classified, evaluated):
        procedure.state_no_new_data(ctx, analyst, request_id, "Data ini sudah diterima sebelumnya.")
        procedure.start_mockup(ctx, analyst, request_id)
        procedure.send_mockup(ctx, analyst, request_id)
        procedure.approve_mockup(ctx, direktur, request_id, head(request_id))
    for request_id in (built, classified, evaluated):
        procedure.build_dashboard(ctx, analyst, request_id)
    for request_id in (classified, evaluated):
        procedure.classify_defaults(ctx, analyst, request_id,
                                    [DefaultView(tier=Tier.ESELON_2, months=12)])
    procedure.put_on_display(ctx, analyst, evaluated)
    procedure.evaluate_dashboard(ctx, analyst, evaluated, "Dasbor dipakai rapat pimpinan.")
    pushed = file("Mock-up dari Git")
    _push_without_identity(ctx, pushed)
    procedure.state_no_new_data(ctx, analyst, pushed, "Data ini sudah diterima sebelumnya.")
    procedure.start_mockup(ctx, analyst, pushed)

    contract = procedure.contract_of(ctx, DATASET)
    lowered = contract.model_copy(update={"fields": [
        f.model_copy(update={"level": Level.TERBUKA}) if f.name == "parameter_tms" else f
        for f in contract.fields]})
    change = procedure.propose_contract_change(ctx, analyst, DATASET, contract_to_yaml(lowered),
                                               "Parameter TMS kini diumumkan.")

    other_upt = next(row["code"] for row in reference_rows("upt") if row["code"] != upt.unit_code)
    admin.add_user(ctx, who("admin"), username="upt-lain", name="Staf UPT Lain", role=R.UPT,
                   clearance=Level.TERBATAS, scope=ScopeKind.UPT, unit_code=other_upt,
                   password="kata-sandi-upt-lain")
    _lock_name(ctx, LOCKED_NAME)
    return World(
        sent=send(good, receive=False, check=False), received=send(good, check=False),
        passed=send(good), failed=send(bad), returned=returned,
        requested=requested, awaiting_data=awaiting_data, drafting=drafting,
        first_draft=first_draft, draft_head=draft_head,
        pushed=pushed, pushed_head=head(pushed),
        in_review=2, in_review_head=head(2), approved=approved, built=built,
        classified=classified, displayed=1, evaluated=evaluated, upload=_csv(good),
        contract_change=change.id, contract_change_head=change.head_commit,
        demo_grant=grants.list_grants(ctx, None)[0].id,
    )


def _lock_name(ctx: AppContext, username: str) -> None:
    """Wrong passwords for ``username`` until it is locked, a minute apart a day ago."""
    from ocenter.accounts.authentication import authenticate
    from ocenter.accounts.throttle import USER_LOCK_AFTER
    from ocenter.clock import FixedClock

    start = datetime.now(UTC) - timedelta(days=1)
    for failure in range(USER_LOCK_AFTER):
        clock = FixedClock(start + timedelta(minutes=failure))
        with pytest.raises(PermissionDenied):
            authenticate(replace(ctx, clock=clock), username, "bukan-kata-sandinya", "client:test")


def _push_without_identity(ctx: AppContext, request_id: int) -> None:
    """A developer pushes the request's mock-up with plain Git, through no server that names
    them: the store records nobody as its writer."""
    request = procedure.get_request(ctx, request_id)
    spec = procedure.starter_spec(request, ctx.store.snapshot("main").contracts)
    clone = ctx.home.parent / f"clone-{request_id}"
    git = ["git", "-C", str(clone), "-c", "user.name=Pengembang", "-c", "user.email=dev@pom.go.id"]
    subprocess.run(["git", "clone", "-q", str(ctx.settings.store_path), str(clone)], check=True)
    (clone / "specs" / f"{spec.id}.yaml").write_text(spec_to_yaml(spec), encoding="utf-8")
    subprocess.run([*git, "checkout", "-qb", ctx.store.mockup_branch(request_id)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "Mock-up dari pengembang"], check=True)
    subprocess.run([*git, "push", "-q", "origin", ctx.store.mockup_branch(request_id)],
                   check=True, capture_output=True)


def _save_draft(ctx: AppContext, world: World, actor: Authority) -> str:
    dashboard_id = procedure.get_request(ctx, world.drafting).dashboard_id
    spec = ctx.store.snapshot(world.draft_head).specs[dashboard_id]
    return procedure.save_mockup(ctx, actor, world.drafting,
                                 spec.model_copy(update={"title": "Draf ketiga"}),
                                 world.draft_head, "Draf ketiga")


def _first_partition(ctx: AppContext) -> tuple[str, str]:
    """Sender and month of the first partition version the demo's data made."""
    with Session(ctx.engine) as session:
        first = session.get(PartitionVersion, 1)
    assert first is not None
    return first.sender, first.period


Call = Callable[[AppContext, World, Authority], object]

#: Each use case called as it would be in the state ``World`` holds for it.
CALLS: dict[str, Call] = {
    "file_request": lambda ctx, w, actor: procedure.file_request(
        ctx, actor, title="Dasbor baru", purpose="Memantau temuan.", datasets_wanted=[DATASET],
        level=Level.TERBATAS, audience=["eselon2"]),
    "submit_data": lambda ctx, w, actor: procedure.submit_data(
        ctx, actor, dataset_id=DATASET, level=Level.TERBATAS, filename="data.csv",
        content=w.upload),
    "receive_submission": lambda ctx, w, actor: procedure.receive_submission(ctx, actor, w.sent),
    "check_submission": lambda ctx, w, actor: procedure.check_submission(ctx, actor, w.received),
    "decide_submission:accept": lambda ctx, w, actor: procedure.decide_submission(
        ctx, actor, w.passed, accept=True, note="Sesuai kontrak."),
    "decide_submission:return": lambda ctx, w, actor: procedure.decide_submission(
        ctx, actor, w.failed, accept=False, note="Kolom jumlah_sampel baris 6 bukan angka."),
    "failing_rows_file": lambda ctx, w, actor: procedure.failing_rows_file(
        ctx, actor, w.returned, "csv"),
    "state_no_new_data": lambda ctx, w, actor: procedure.state_no_new_data(
        ctx, actor, w.awaiting_data, "Data yang ditampilkan sudah diterima sebelumnya."),
    "start_mockup": lambda ctx, w, actor: procedure.start_mockup(ctx, actor, w.requested),
    "save_mockup": _save_draft,
    "send_mockup": lambda ctx, w, actor: procedure.send_mockup(ctx, actor, w.drafting),
    "restore_mockup_version": lambda ctx, w, actor: procedure.restore_mockup_version(
        ctx, actor, w.drafting, w.first_draft, w.draft_head),
    "update_mockup_from_main": lambda ctx, w, actor: procedure.update_mockup_from_main(
        ctx, actor, w.drafting, {}, w.draft_head),
    "take_over_pushed_commits": lambda ctx, w, actor: procedure.take_over_pushed_commits(
        ctx, actor, w.pushed, w.pushed_head),
    "approve_mockup": lambda ctx, w, actor: procedure.approve_mockup(
        ctx, actor, w.in_review, w.in_review_head),
    "request_changes": lambda ctx, w, actor: procedure.request_changes(
        ctx, actor, w.in_review, w.in_review_head, "Tambahkan peta per provinsi."),
    "ask_mockup_adjustment": lambda ctx, w, actor: procedure.ask_mockup_adjustment(
        ctx, actor, w.approved, "Tambahkan peta per provinsi."),
    "build_dashboard": lambda ctx, w, actor: procedure.build_dashboard(ctx, actor, w.approved),
    "classify_defaults": lambda ctx, w, actor: procedure.classify_defaults(
        ctx, actor, w.built, [DefaultView(tier=Tier.KEPALA_UPT, months=6)]),
    "put_on_display": lambda ctx, w, actor: procedure.put_on_display(ctx, actor, w.classified),
    "evaluate_dashboard": lambda ctx, w, actor: procedure.evaluate_dashboard(
        ctx, actor, w.displayed, "Dasbor dipakai rapat pimpinan."),
    "acknowledge_letter": lambda ctx, w, actor: procedure.acknowledge_letter(
        ctx, actor, w.evaluated, "Diterima."),
    "restore_partition": lambda ctx, w, actor: procedure.restore_partition(
        ctx, actor, 1, "Kembali ke versi pertama bagian ini."),
    "completeness_of": lambda ctx, w, actor: procedure.completeness_of(ctx, actor, DATASET),
    "completeness_grid": lambda ctx, w, actor: procedure.completeness_grid(ctx, actor, DATASET),
    "partition_history": lambda ctx, w, actor: procedure.partition_history(
        ctx, actor, DATASET, *_first_partition(ctx)),
    "propose_contract_change": lambda ctx, w, actor: procedure.propose_contract_change(
        ctx, actor, DATASET, contract_to_yaml(procedure.contract_of(ctx, DATASET).model_copy(
            update={"title": "Sampling dan Pengujian"})), "Judul yang lebih pendek."),
    "list_contract_changes": lambda ctx, w, actor: procedure.list_contract_changes(ctx, actor),
    "review_contract_change": lambda ctx, w, actor: procedure.review_contract_change(
        ctx, actor, w.contract_change),
    "approve_contract_change": lambda ctx, w, actor: procedure.approve_contract_change(
        ctx, actor, w.contract_change, w.contract_change_head),
    "admin.add_user": lambda ctx, w, actor: admin.add_user(
        ctx, actor, username="pegawai-baru", name="Pegawai Baru", role=R.UNIT,
        clearance=Level.TERBATAS, scope=ScopeKind.UNIT, unit_code="DIT-WAS-KOSMETIK",
        password="kata-sandi-baru"),
    "admin.toggle_active": lambda ctx, w, actor: admin.toggle_active(ctx, actor, "pppomn"),
    "admin.list_users": lambda ctx, w, actor: admin.list_users(ctx, actor),
    "grants.grant_dashboard": lambda ctx, w, actor: grants.grant_dashboard(
        ctx, actor, "upt", SUMMARY, "Koordinasi wilayah.", ctx.clock.today() + timedelta(days=30)),
    "grants.revoke_grant": lambda ctx, w, actor: grants.revoke_grant(
        ctx, actor, w.demo_grant, "Kerja sama berakhir."),
    "grants.list_grants": lambda ctx, w, actor: grants.list_grants(ctx, actor),
    "grants.grantable_dashboards": lambda ctx, w, actor: grants.grantable_dashboards(ctx, actor),
    "grants.grantees": lambda ctx, w, actor: grants.grantees(ctx, actor),
    "admin.change_user": lambda ctx, w, actor: admin.change_user(ctx, actor, "upt", role=R.MITRA),
    "admin.locked_users": lambda ctx, w, actor: admin.locked_users(ctx, actor),
    "admin.unlock_user": lambda ctx, w, actor: admin.unlock_user(ctx, actor, LOCKED_NAME),
    "add_calendar_entry": lambda ctx, w, actor: procedure.add_calendar_entry(
        ctx, actor, "2027-06-03", "Cuti Bersama", "SKB 3 Menteri No. 9 Tahun 2027"),
    "remove_calendar_entry": lambda ctx, w, actor: procedure.remove_calendar_entry(
        ctx, actor, "2027-03-09", "Salah tanggal."),
    "calendar_year": lambda ctx, w, actor: procedure.calendar_year(ctx, actor, 2027),
}

@dataclass
class Installations:
    """Copies of one prepared installation: one shared by all refusals of a use case (a refusal
    changes nothing, and the test checks that), and fresh ones for calls that do change it."""

    template: Path
    world: World
    workdir: Path
    opened: dict[str, AppContext]
    contexts: list[AppContext]

    def shared(self, use_case: str) -> AppContext:
        if use_case not in self.opened:
            self.opened[use_case] = self.fresh()
        return self.opened[use_case]

    def fresh(self) -> AppContext:
        home = self.workdir / f"home-{len(self.contexts)}"
        shutil.copytree(self.template, home)
        ctx = open_context(settings_for(home))
        self.contexts.append(ctx)
        return ctx


@pytest.fixture(scope="module")
def installations(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installations]:
    workdir = tmp_path_factory.mktemp("refusals")
    template = workdir / "template"
    shutil.copytree(demo_template, template)
    ctx = open_context(settings_for(template))
    world = _build_world(ctx)
    ctx.engine.dispose()
    made = Installations(template=template, world=world, workdir=workdir, opened={}, contexts=[])
    yield made
    for opened in made.contexts:
        opened.engine.dispose()


def _authority(ctx: AppContext, username: str) -> Authority:
    authority = authority_of(ctx.engine, username, production=False)
    assert authority is not None, username
    return authority


def _state(ctx: AppContext) -> dict[str, object]:
    """Every row of every table, every ref of the spec store, and every kept file."""
    with ctx.engine.connect() as connection:
        rows = {
            table.name: [tuple(row) for row in
                         connection.execute(table.select().order_by(*table.primary_key.columns))]
            for table in SQLModel.metadata.sorted_tables
        }
    refs = subprocess.run(
        ["git", "--git-dir", str(ctx.settings.store_path), "for-each-ref",
         "--format=%(refname) %(objectname)"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    files = sorted(
        (str(path.relative_to(ctx.home)), path.stat().st_size)
        for folder in (ctx.uploads_dir, ctx.home / "datasets")
        for path in folder.rglob("*") if path.is_file()
    )
    return {"tables": rows, "refs": refs, "files": files}


def _refusals() -> Iterator[object]:
    for use_case, allowed in ALLOWED.items():
        for role in Role:
            if role not in allowed:
                username = USER_OF_ROLE[role]
                yield pytest.param(use_case, username, role, "auth.forbidden",
                                   id=f"{use_case}-by-{username}")
    for use_case, username, key in WRONG_UNIT:
        yield pytest.param(use_case, username, None, key, id=f"{use_case}-by-{username}-other-unit")


@pytest.mark.parametrize(("use_case", "username", "role", "key"), list(_refusals()))
def test_a_use_case_is_refused_to_whom_the_procedure_does_not_give_it(
    installations: Installations, use_case: str, username: str, role: Role | None, key: str
) -> None:
    ctx = installations.shared(use_case)
    actor = _authority(ctx, username)
    if role is None:  # right role, wrong unit
        assert actor.role in ALLOWED[use_case]
    else:
        assert actor.role == role
    before = _state(ctx)
    with pytest.raises(PermissionDenied) as refusal:
        CALLS[use_case](ctx, installations.world, actor)
    assert refusal.value.key == key
    assert _state(ctx) == before


@pytest.mark.parametrize("use_case", list(ALLOWED))
def test_an_allowed_user_succeeds_in_the_same_state(
    installations: Installations, use_case: str
) -> None:
    """The refusals above are refusals of the person, not of a state nothing could act in."""
    ctx = installations.fresh()
    actor = _authority(ctx, DOER[use_case])
    assert actor.role in ALLOWED[use_case]
    before = _state(ctx)
    result = CALLS[use_case](ctx, installations.world, actor)
    if use_case in READ_ONLY:
        assert READ_ONLY[use_case](result)
        assert _state(ctx) == before
    else:
        assert _state(ctx) != before


@pytest.mark.parametrize(
    ("submission", "accept", "note", "key"),
    [
        pytest.param("failed", False, "   ", "procedure.return_needs_reason", id="return-without-reason"),
        pytest.param("failed", True, "Diterima saja.", "procedure.cannot_accept_invalid",
                     id="accept-what-failed-the-checks"),
    ],
)
def test_the_verifier_cannot_return_without_reasons_or_accept_what_failed(
    installations: Installations, submission: str, accept: bool, note: str, key: str
) -> None:
    ctx = installations.fresh()
    before = _state(ctx)
    with pytest.raises(UserError) as refusal:
        procedure.decide_submission(ctx, _authority(ctx, "verifikator"),
                                    getattr(installations.world, submission), accept=accept, note=note)
    assert refusal.value.key == key
    assert _state(ctx) == before


@pytest.mark.parametrize("use_case", ["add_user", "change_user"])
@pytest.mark.parametrize("clearance", [Level.RAHASIA, Level.SANGAT_RAHASIA])
def test_an_administrator_gives_no_clearance_above_their_own(
    installations: Installations, use_case: str, clearance: Level
) -> None:
    ctx = installations.shared("admin.clearance")
    actor = _authority(ctx, "admin")  # the demo's administrator: Terbatas
    before = _state(ctx)
    with pytest.raises(PermissionDenied) as refusal:
        if use_case == "add_user":
            admin.add_user(ctx, actor, username="pegawai-baru", name="Pegawai Baru", role=R.UNIT,
                           clearance=clearance, scope=ScopeKind.UNIT, unit_code="DIT-WAS-KOSMETIK",
                           password="kata-sandi-baru")
        else:
            admin.change_user(ctx, actor, "upt", clearance=clearance)
    assert refusal.value.key == "users.above_own_clearance"
    assert _state(ctx) == before


def test_the_table_names_every_use_case_that_acts_and_every_role():
    """A new use case taking an actor, or a new role, must be given its line in the tables above."""
    # These read what the actor may read, filtered by their clearance rather than refused by
    # role (tests/test_leaks.py holds them to it).
    reading = {"list_requests", "list_submissions", "author_of", "report_for", "readable_events",
               "review_access", "mockup_review_diff"}
    acting = {
        name for name in procedure.__all__
        if callable(getattr(procedure, name))
        and "actor" in inspect.signature(getattr(procedure, name)).parameters
    } - reading
    covered = {use_case.split(":")[0] for use_case in ALLOWED if "." not in use_case}
    assert covered == acting
    granting = {
        name for name in dir(grants)
        # mutmut's copies of a mutated function (x_NAME__mutmut_N) are not use cases
        if not name.startswith("_") and "__mutmut" not in name
        and inspect.isfunction(getattr(grants, name))
        and getattr(grants, name).__module__ == grants.__name__
        and "actor" in inspect.signature(getattr(grants, name)).parameters
    }
    assert {use_case.removeprefix("grants.") for use_case in ALLOWED
            if use_case.startswith("grants.")} == granting
    assert set(USER_OF_ROLE) == set(Role)
    assert set(DOER) == set(ALLOWED) == set(CALLS)
