"""The record of one dashboard request, as the SOP's *Pencatatan dan Pendataan* asks ("disimpan
dalam bentuk file elektronik ... sebagai bukti kegiatan dan bahan referensi"): one archive of the
request form, every data submission made for it with its file and verification report, the
spec's revisions, the decisions of steps 5-8 recorded on main (the approval, the build, the
classification, the display), the evaluation letter, the receipt, and the request's events with
their hash-chain proof.

Who may take it: Pusdatin, who works every request, and the requesting unit's own people;
anybody else is refused before anything is read or written. What is above the taker's authority
is left out, and the manifest says what and why: the request's words (title, purpose, spec,
letter) below its level as ``accounts.visibility`` rules, a submission's file and report sent by
another unit or above their clearance, a revision above it (``mockup_review.review_level``), and
each event's detail as ``procedure.readable_events`` rules (its hashes stay).

The archive is the same bytes for the same record and taker: fixed order and times, no time of
export. The chain proof is of the whole log when the archive is made, so it changes as the log
grows.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.visibility import RequestView, request_view, works_every_request
from ocenter.audit import audit_lines, verify_event_log
from ocenter.context import AppContext
from ocenter.errors import NotFound, PermissionDenied
from ocenter.events import action_text, canonical, entry_hash, event_values, outcome_text
from ocenter.i18n import LANGUAGES, Term, t
from ocenter.models import (
    DashboardRequest,
    Evaluation,
    Event,
    Letter,
    MainDecision,
    Submission,
    Unit,
)
from ocenter.procedure.common import STATUS_STEP, _request
from ocenter.procedure.data_intake import report_for, submission_level, upload_path
from ocenter.procedure.evaluation import readable_events
from ocenter.procedure.mockup_review import review_level
from ocenter.records.archive import MANIFEST, RecordArchive
from ocenter.store.models import CommitInfo
from ocenter.store.names import lifecycle_path, spec_path

#: Bumped when the archive's layout changes, so that a reader knows which it holds.
RECORD_FORMAT = 1
#: The steps whose decision is a commit on main, with the folder name each is kept under.
MAIN_STEPS = {5: "langkah-5-persetujuan", 6: "langkah-6-pembangunan",
              7: "langkah-7-klasifikasi", 8: "langkah-8-penayangan"}
_ALL_EVENTS = 1_000_000  # readable_events pages the log; a request never has this many


@dataclass
class Withheld:
    """One part left out of the archive, and why (a catalogue key and its values)."""

    part: str
    key: str
    params: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, str]:
        """The part and the reason in each language."""
        return {"part": self.part, **{lang: t(self.key, lang, **self.params) for lang in LANGUAGES}}


def may_export(actor: Authority, request: DashboardRequest) -> bool:
    """Whether ``actor`` may take the record of ``request``: Pusdatin (who works every request)
    and the people of the requesting unit."""
    return works_every_request(actor) or (
        actor.unit_code is not None and actor.unit_code == request.requesting_unit
    )


def exportable_request(ctx: AppContext, actor: Authority, request_id: int) -> DashboardRequest:
    """The request, if ``actor`` may take its record; refused otherwise (``record.not_allowed``),
    the same way whether or not it exists, so a refusal tells nothing of another unit's work."""
    with Session(ctx.engine) as session:
        try:
            request = _request(session, request_id)
        except NotFound:
            request = None
    if request is None or not may_export(actor, request):
        raise PermissionDenied("record.not_allowed", request=request_id)
    return request


def export_request_record(ctx: AppContext, actor: Authority, request_id: int) -> bytes:
    """The record of request ``request_id`` as ``actor`` may have it: a ZIP (see the module).
    Refused with ``PermissionDenied`` (``record.not_allowed``) for anyone but Pusdatin and the
    requesting unit."""
    buffer = io.BytesIO()
    _write_record(ctx, actor, request_id, buffer)
    return buffer.getvalue()


def write_request_record(ctx: AppContext, actor: Authority, request_id: int, target: Path) -> int:
    """Write the record to ``target`` (replacing it only once the whole archive is written) and
    return its size. A refusal writes nothing, not even an empty file."""
    request = exportable_request(ctx, actor, request_id)  # before any file is opened
    target = Path(target)
    handle, temporary = tempfile.mkstemp(prefix="ocenter-record-", suffix=".part",
                                         dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            _write_record(ctx, actor, request.id, out)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _write_record(ctx: AppContext, actor: Authority, request_id: int, out) -> None:  # noqa: ANN001 - a binary file
    request = exportable_request(ctx, actor, request_id)
    archive = RecordArchive()
    withheld: list[Withheld] = []
    full = request_view(actor, request) == RequestView.FULL
    if not full:
        withheld.append(Withheld("01-formulir, 03-spesifikasi, 05-evaluasi-dan-surat, 06-tanda-terima",
                                 "record.withheld_request",
                                 {"request": request.id, "level": Term(f"level.{request.level.value}")}))
    _add_form(ctx, archive, request, full)
    _add_submissions(ctx, actor, archive, withheld, request)
    revisions = _add_revisions(ctx, actor, archive, withheld, request, full)
    _add_main_decisions(ctx, archive, request, revisions)
    _add_letters(ctx, archive, request, full)
    chain = _add_events(ctx, actor, archive, withheld, request)
    manifest = {
        "format": RECORD_FORMAT,
        "request": request.id,
        "dashboard": request.dashboard_id,
        "status": request.status.value,
        "exported_by": actor.username,
        "files": archive.digests(),
        "withheld": [w.as_json() for w in withheld],
        "event_chain": chain,
    }
    archive.write(out, manifest, _readme(request, actor, withheld, chain))


# --- the parts ----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back UTC without its zone
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _add_form(ctx: AppContext, archive: RecordArchive, request: DashboardRequest, full: bool) -> None:
    """The *Formulir Permintaan Dashboard* as data and as text to read (Indonesian, English)."""
    with Session(ctx.engine) as session:
        unit = session.get(Unit, request.requesting_unit)
    form = {
        "id": request.id,
        "title": request.title if full else None,
        "purpose": request.purpose if full else None,
        "requesting_unit": request.requesting_unit,
        "requesting_unit_name": unit.name if unit else None,
        "requested_by": request.requested_by,
        "datasets": list(request.datasets),
        "level": request.level.value,
        "audience": list(request.audience),
        "dashboard_id": request.dashboard_id,
        "status": request.status.value,
        "step": STATUS_STEP[request.status],
        "created_at": _iso(request.created_at),
        "review_rounds": request.review_rounds,
    }
    archive.add_json("01-formulir/formulir-permintaan.json", form)
    lines = []
    for lang in LANGUAGES:
        withheld = t("request.purpose_withheld", lang)
        lines += [
            f"# {t('record.form_heading', lang, request=request.id)}", "",
            f"- {t('record.form_title', lang)}: {request.title if full else withheld}",
            f"- {t('record.form_unit', lang)}: {form['requesting_unit_name'] or ''} "
            f"({request.requesting_unit})",
            f"- {t('record.form_by', lang)}: {request.requested_by}",
            f"- {t('record.form_filed', lang)}: {form['created_at']}",
            f"- {t('record.form_datasets', lang)}: {', '.join(request.datasets)}",
            f"- {t('record.form_level', lang)}: {t(f'level.{request.level.value}', lang)}",
            f"- {t('record.form_status', lang)}: {t(f'status.{request.status.value}', lang)}",
            "", f"{t('record.form_purpose', lang)}:", "",
            request.purpose if full else withheld, "", "",
        ]
    archive.add("01-formulir/formulir-permintaan.md", "\n".join(lines).rstrip() + "\n")


def _add_submissions(
    ctx: AppContext, actor: Authority, archive: RecordArchive, withheld: list[Withheld],
    request: DashboardRequest,
) -> None:
    """Steps 1-3: each submission sent for the request, with its file as sent and its report."""
    contracts = ctx.store.snapshot("main").contracts
    with Session(ctx.engine) as session:
        submissions = session.exec(
            select(Submission).where(Submission.request_id == request.id).order_by(col(Submission.id))
        ).all()
    for submission in submissions:
        folder = f"02-data/kiriman-{submission.id:06d}"
        contract = contracts.get(submission.dataset_id)
        level = submission.level if contract is None else submission_level(contract, submission)
        own = works_every_request(actor) or submission.unit_code == actor.unit_code
        allowed = own and actor.may_see_level(level)
        archive.add_json(f"{folder}/kiriman.json", {
            "id": submission.id, "dataset_id": submission.dataset_id,
            "unit_code": submission.unit_code, "submitted_by": submission.submitted_by,
            "level": submission.level.value, "level_with_contract": level.value,
            "original_name": submission.original_name if allowed else None,
            "upload_sha256": submission.upload_sha256, "size_bytes": submission.size_bytes,
            "rows": submission.rows, "status": submission.status.value,
            "submitted_at": _iso(submission.submitted_at),
            "received_by": submission.received_by, "received_at": _iso(submission.received_at),
            "verified_by": submission.verified_by, "verified_at": _iso(submission.verified_at),
            "checks_passed": submission.checks_passed,
            "decision_note": submission.decision_note if allowed else None,
        })
        if not own:
            withheld.append(Withheld(folder, "record.withheld_other_unit",
                                     {"submission": submission.id, "unit": submission.unit_code}))
            continue
        if not allowed:
            withheld.append(Withheld(folder, "record.withheld_submission_level",
                                     {"submission": submission.id, "level": Term(f"level.{level.value}")}))
            continue
        _add_upload(ctx, archive, withheld, submission, folder)
        if contract is not None and submission.report_json:
            report = report_for(ctx, actor, submission)
            archive.add_json(f"{folder}/laporan-verifikasi.json", report.model_dump(mode="json"))


def _add_upload(
    ctx: AppContext, archive: RecordArchive, withheld: list[Withheld], submission: Submission,
    folder: str,
) -> None:
    """The file as it was sent, only if it still is: an altered or lost file is said, not added."""
    path = upload_path(ctx, submission)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        withheld.append(Withheld(folder, "record.withheld_file_missing", {"submission": submission.id}))
        return
    found = hashlib.sha256(content).hexdigest()
    if found != submission.upload_sha256:
        withheld.append(Withheld(folder, "record.withheld_file_altered",
                                 {"submission": submission.id, "expected": submission.upload_sha256,
                                  "found": found}))
        return
    archive.add(f"{folder}/berkas-kiriman{submission.upload_suffix}", content)


def _commit_json(info: CommitInfo) -> dict[str, object]:
    return {"commit": info.sha, "parents": info.parents, "author": info.author_username,
            "author_name": info.author_name, "date": _iso(info.date), "subject": info.subject,
            "trailers": info.trailers}


def _revisions(ctx: AppContext, request: DashboardRequest) -> list[CommitInfo]:
    """Every commit that changed the request's spec or lifecycle record, on main and on its
    mock-up branch, oldest first."""
    paths = (spec_path(request.dashboard_id), lifecycle_path(request.dashboard_id))
    found: dict[str, CommitInfo] = {}
    branch = ctx.store.mockup_branch(request.id)
    revs = ["main"] + ([branch] if ctx.store.head(branch) is not None else [])
    for rev in revs:
        if ctx.store.head(rev) is None:
            continue
        for path in paths:
            for info in ctx.store.history(path, rev):
                found.setdefault(info.sha, info)
    return sorted(found.values(), key=lambda info: (info.date, info.sha))


def _add_revisions(
    ctx: AppContext, actor: Authority, archive: RecordArchive, withheld: list[Withheld],
    request: DashboardRequest, full: bool,
) -> dict[str, CommitInfo]:
    """The spec's history: each revision's commit (with its trailers) and the files it left."""
    if request.dashboard_id == "pending":
        return {}
    revisions = _revisions(ctx, request)
    if not full:  # said once with the form's words
        return {info.sha: info for info in revisions}
    for number, info in enumerate(revisions, start=1):
        folder = f"03-spesifikasi/{number:03d}-{info.sha[:12]}"
        level = review_level(ctx, request, info.sha, raw=True)
        allowed = actor.may_see_level(level)
        # The subject is the analyst's words about the change: it goes where the content goes.
        archive.add_json(f"{folder}/revisi.json", {**_commit_json(info),
                                                    "subject": info.subject if allowed else None})
        if not allowed:
            withheld.append(Withheld(folder, "record.withheld_revision",
                                     {"commit": info.sha[:12], "level": Term(f"level.{level.value}")}))
            continue
        for path, name in ((spec_path(request.dashboard_id), "dasbor.yaml"),
                           (lifecycle_path(request.dashboard_id), "siklus-hidup.yaml")):
            text = ctx.store.read_file(info.sha, path)
            if text is not None:
                archive.add(f"{folder}/{name}", text)
    return {info.sha: info for info in revisions}


def _add_main_decisions(
    ctx: AppContext, archive: RecordArchive, request: DashboardRequest,
    revisions: dict[str, CommitInfo],
) -> None:
    """Steps 5-8 as main records them: the approval merge and the commits of the build, the
    classification and the display, each with who decided, when, and the commit's trailers."""
    with Session(ctx.engine) as session:
        decisions = session.exec(
            select(MainDecision).where(MainDecision.request_id == request.id)
            .order_by(col(MainDecision.id))
        ).all()
    by_step: dict[int, list[dict[str, object]]] = {}
    for decision in decisions:
        info = revisions.get(decision.commit)
        by_step.setdefault(decision.step, []).append({
            "commit": decision.commit, "step": decision.step, "decided_by": decision.decided_by,
            "decided_at": _iso(decision.decided_at), "reviewed_commit": decision.reviewed_commit,
            "trailers": info.trailers if info else None,
            "parents": info.parents if info else None,
        })
    for step, name in MAIN_STEPS.items():
        if step in by_step:
            archive.add_json(f"04-keputusan/{name}.json", by_step[step])


def _add_letters(ctx: AppContext, archive: RecordArchive, request: DashboardRequest, full: bool) -> None:
    """Steps 9 and 10: each evaluation with its letter, and the unit's receipt."""
    with Session(ctx.engine) as session:
        evaluations = session.exec(
            select(Evaluation).where(Evaluation.request_id == request.id).order_by(col(Evaluation.id))
        ).all()
    for evaluation in evaluations:
        number = f"{evaluation.id:04d}"
        archive.add_json(f"05-evaluasi-dan-surat/evaluasi-{number}.json", {
            "id": evaluation.id, "letter_number": evaluation.letter_number,
            "notes": evaluation.notes if full else None,
            "evaluated_by": evaluation.evaluated_by, "evaluated_at": _iso(evaluation.evaluated_at),
        })
        if full:  # the letter names the request and quotes its title
            archive.add(f"05-evaluasi-dan-surat/surat-{number}.txt", evaluation.letter_text)
            with Session(ctx.engine) as session:
                sent = session.get(Letter, evaluation.id)
            if sent is not None:  # the PDF as it was sent (letters before PDFs have text only)
                archive.add(f"05-evaluasi-dan-surat/surat-{number}.pdf", sent.pdf)
        if evaluation.acknowledged_at is not None:
            archive.add_json(f"06-tanda-terima/tanda-terima-{number}.json", {
                "evaluation": evaluation.id, "letter_number": evaluation.letter_number,
                "acknowledged_by": evaluation.acknowledged_by,
                "acknowledged_at": _iso(evaluation.acknowledged_at),
                "note": evaluation.acknowledgement_note if full else None,
            })


def _add_events(
    ctx: AppContext, actor: Authority, archive: RecordArchive, withheld: list[Withheld],
    request: DashboardRequest,
) -> dict[str, object]:
    """The request's events, oldest first, each with its place in the hash chain, and the proof:
    whether each entry still hashes to its hash, and whether the whole log verified now."""
    found = readable_events(ctx, actor, request.id, limit=_ALL_EVENTS)
    found.sort(key=lambda pair: pair[0].id)
    entries, hidden = [], 0
    for event, readable in found:
        hidden += not readable
        entries.append(_event_json(event, readable))
    archive.add_json("07-log/peristiwa.json", entries)
    archive.add("07-log/peristiwa.md", _events_text(found))
    if hidden:
        withheld.append(Withheld("07-log/peristiwa.json", "record.withheld_event_details",
                                 {"count": hidden}))
    audit = verify_event_log(ctx.engine)
    chain = {
        "verified": audit.intact,
        "entries_checked": audit.chained,
        "head_hash": audit.head_hash,
        "request_entries": len(entries),
        "request_entries_hash_ok": all(e["hash_ok"] is not False for e in entries),
        **{f"statement_{lang}": audit_lines(audit, lang) for lang in LANGUAGES},
    }
    archive.add_json("07-log/bukti-rantai-hash.json", chain)
    return chain


def _event_json(event: Event, readable: bool) -> dict[str, object]:
    """One event as the archive keeps it: the fields its hash covers (the detail only when the
    taker may read it), its hashes, and whether it still hashes to its ``entry_hash`` (None for
    an entry written before the chain began: it is sealed into the chain's first entry)."""
    chained = event.entry_hash is not None
    return {
        "id": event.id, "chain_seq": event.chain_seq, "at": _iso(event.at), "actor": event.actor,
        "step": event.step, "action": event.action, "request_id": event.request_id,
        "submission_id": event.submission_id, "outcome": event.outcome,
        "detail": event.detail if readable else None, "detail_withheld": not readable,
        "prev_hash": event.prev_hash, "entry_hash": event.entry_hash,
        # The exact text the hash is of (compact JSON, see ``events.canonical``): anyone can check
        # that its SHA-256 is ``entry_hash``. It quotes the detail, so it goes where the detail goes.
        "hashed_text": canonical(event_values(event), event.prev_hash or "").decode("utf-8")
        if chained and readable else None,
        "hash_ok": entry_hash(event_values(event), event.prev_hash or "") == event.entry_hash
        if chained else None,
    }


def _events_text(found: list[tuple[Event, bool]]) -> str:
    """The events to read, oldest first: time, step, action and outcome in each language."""
    lines = []
    for lang in LANGUAGES:
        lines += [f"# {t('record.events_heading', lang)}", ""]
        for event, readable in found:
            step = f"{event.step}" if event.step is not None else "-"
            detail = event.detail if readable else t("log.withheld", lang)
            lines.append(f"- {_iso(event.at)} · {t('record.step', lang)} {step} · {event.actor} · "
                         f"{action_text(event.action, lang)} · {outcome_text(event.outcome, lang)}"
                         + (f" · {detail}" if detail else ""))
        lines += ["", ""]
    return "\n".join(lines).rstrip() + "\n"


def _readme(
    request: DashboardRequest, actor: Authority, withheld: list[Withheld], chain: dict[str, object]
) -> str:
    """What the archive is and holds, in Indonesian then English."""
    parts = []
    for lang in LANGUAGES:
        verdict = t("record.chain_verified" if chain["verified"] else "record.chain_not_verified", lang)
        parts.append(t("record.readme", lang, request=request.id, actor=actor.username,
                       chain=verdict))
        if withheld:
            parts.append(t("record.readme_withheld", lang))
            parts += [f"- {w.part}: {t(w.key, lang, **w.params)}" for w in withheld]
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def read_manifest(record: bytes) -> dict[str, object]:
    """The manifest of a record made by ``export_request_record`` (what a page says of it)."""
    import json
    import zipfile

    with zipfile.ZipFile(io.BytesIO(record)) as archive:
        return json.loads(archive.read(MANIFEST))


def request_history(
    ctx: AppContext, actor: Authority, request_id: int
) -> list[tuple[Event, bool]]:
    """The request's events as ``actor`` may read them, newest first (for the page), refused as
    ``export_request_record`` refuses."""
    exportable_request(ctx, actor, request_id)
    return readable_events(ctx, actor, request_id, limit=_ALL_EVENTS)


__all__ = [
    "RECORD_FORMAT",
    "Withheld",
    "export_request_record",
    "exportable_request",
    "may_export",
    "read_manifest",
    "request_history",
    "write_request_record",
]
