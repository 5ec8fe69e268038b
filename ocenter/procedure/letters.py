"""The surat penyampaian informasi of step 9: its number, what it says, the PDF kept with the
request, and who may download it.

The number is ``NUMBER_FORMAT``: ``B-{sequence}/POM.09.01/{month:02d}/{year}``. ``B`` marks an
ordinary (biasa, not confidential) letter, ``POM.09.01`` is the SOP's own process code (POM-09.01,
Pusdatin's data and information management, of SOP POM-09.01/CFM.02/SOP.06), then the month and
the year of the letter's date in Jakarta. The sequence starts at 1 on the first letter of each
year and is unique with its year: the database holds a unique constraint on (year, sequence), and
the issuing transaction raises the year's counter row (``LetterSequence``) so two letters issued
at once wait for each other rather than take the same number.

The letter is signed by the head of Pusdatin as configured (``Settings.letter_signatory``), never
by the analyst who evaluated. Its PDF is made once, when it is issued, and kept with the
evaluation (``Letter``); what a download returns is those bytes, whatever the settings say later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text, update
from sqlmodel import Session, col, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.visibility import RequestView, request_view, works_every_request
from ocenter.context import AppContext
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.i18n import t
from ocenter.models import DashboardRequest, Evaluation, Letter, LetterSequence, Unit, UnitKind
from ocenter.procedure.letter_pdf import LetterContent, render_letter

#: The letter is an official document of the Indonesian government: Bahasa Indonesia only.
LETTER_LANGUAGE = "id"
#: The one place the number's form is decided (see the module's docstring).
NUMBER_FORMAT = "B-{sequence}/POM.09.01/{month:02d}/{year}"
#: Who receives a copy of every letter (Tembusan).
COPIES = ("Kepala Badan Pengawas Obat dan Makanan", "Sekretaris Utama Badan Pengawas Obat dan Makanan")
#: How the head of a unit is addressed, by the first word of the unit's name.
_HEAD_OF = {"Direktorat": "Direktur", "Inspektorat": "Inspektur"}


@dataclass(frozen=True)
class LetterFile:
    """A letter as it is downloaded."""

    number: str
    file_name: str
    pdf: bytes


def letter_number(sequence: int, day: date) -> str:
    """The number of the ``sequence``-th letter of ``day``'s year, dated ``day``."""
    return NUMBER_FORMAT.format(sequence=sequence, month=day.month, year=day.year)


def next_sequence(session: Session, year: int) -> int:
    """Take the next letter sequence of ``year`` in this transaction (1 for the year's first).

    The year's counter row is made if missing (from the highest sequence the year's letters
    hold), then raised by one with an UPDATE, which PostgreSQL holds until this transaction ends
    and SQLite under its write lock: a second issuer waits, then reads the raised value."""
    # Table names are our own constants; the year is a bound parameter.
    statement = (
        f"INSERT INTO {LetterSequence.__tablename__} (year, last) "  # noqa: S608
        f"SELECT :year, COALESCE(MAX(sequence), 0) FROM {Letter.__tablename__} "
        "WHERE year = :year ON CONFLICT (year) DO NOTHING"
    )
    session.execute(text(statement), {"year": year})
    session.execute(
        update(LetterSequence).where(col(LetterSequence.year) == year).values(last=LetterSequence.last + 1)
    )
    return session.execute(select(LetterSequence.last).where(col(LetterSequence.year) == year)).scalar_one()


def addressee_of(unit: Unit) -> list[str]:
    """The address block: 'Yth. Direktur ...' for a directorate, 'Yth. Kepala ...' for a centre,
    bureau or UPT, 'Yth. Pimpinan ...' for an agency, then 'di Tempat'."""
    first, _, rest = unit.name.partition(" ")
    if first in _HEAD_OF and rest:
        head = f"{_HEAD_OF[first]} {rest}"
    elif unit.kind == UnitKind.KL:
        head = f"Pimpinan {unit.name}"
    else:
        head = f"Kepala {unit.name}"
    return [f"Yth. {head}", "di", "Tempat"]


def issue_letter(
    ctx: AppContext,
    session: Session,
    evaluation: Evaluation,
    request: DashboardRequest,
    unit: Unit,
    day: date,
) -> Letter:
    """Number, write and render the letter of ``evaluation`` (flushed, in the caller's
    transaction, which holds the request): sets its ``letter_number`` and ``letter_text`` and
    adds the ``Letter`` with its PDF. Refused, changing nothing, while no signatory is set."""
    signatory = ctx.settings.letter_signatory
    if signatory is None:
        raise UserError("letter.no_signatory")
    sequence = next_sequence(session, day.year)
    number = letter_number(sequence, day)
    words = {
        "request": request.id,
        "unit": unit.name,
        "title": request.title,
        "dashboard": request.dashboard_id or "-",
    }
    content = LetterContent(
        number=number,
        letter_date=day,
        attachment=t("letter.attachment", LETTER_LANGUAGE),
        subject=t("letter.subject", LETTER_LANGUAGE),
        addressee=addressee_of(unit),
        body=[
            t(f"letter.body_{part}", LETTER_LANGUAGE, **words)
            for part in ("delivered", "where", "confirm", "closing")
        ],
        signatory=signatory,
        copies=list(COPIES),
        attachment_title=t("letter.attachment_title", LETTER_LANGUAGE),
        attachment_text=evaluation.notes,
    )
    pdf = render_letter(content)
    evaluation.letter_number = number
    evaluation.letter_text = content.as_text()
    session.add(evaluation)
    session.flush()  # the evaluation's id, for the letter's key
    letter = Letter(
        evaluation_id=evaluation.id,
        year=day.year,
        sequence=sequence,
        letter_date=day,
        signatory_name=signatory.name,
        signatory_nip=signatory.nip,
        signatory_title=signatory.title,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
    )
    session.add(letter)
    return letter


def letter_file(ctx: AppContext, actor: Authority, request_id: int) -> LetterFile:
    """The newest letter of the request as it was sent, for the requesting unit or Pusdatin.

    Refused with a message: a request that does not exist or is not evaluated yet, one whose
    words are above the actor's clearance, another unit's request, a letter issued before
    letters were kept as PDF."""
    with Session(ctx.engine) as session:
        request = session.get(DashboardRequest, request_id)
        if request is None or request_view(actor, request) == RequestView.HIDDEN:
            raise NotFound("procedure.request_missing", request=request_id)
        if not (works_every_request(actor) or actor.unit_code == request.requesting_unit):
            raise PermissionDenied("letter.not_your_unit", request=request_id)
        if request_view(actor, request) != RequestView.FULL:
            raise PermissionDenied("letter.above_clearance", request=request_id)
        found = session.exec(
            select(Evaluation, Letter)
            .join(Letter, isouter=True)
            .where(Evaluation.request_id == request_id)
            .order_by(col(Evaluation.id).desc())
        ).first()
        if found is None:
            raise UserError("letter.not_evaluated", request=request_id)
        evaluation, letter = found
        if letter is None:
            raise NotFound("letter.text_only", request=request_id, number=evaluation.letter_number)
        name = f"surat-{letter.year}-{letter.sequence:04d}-permintaan-{request_id}.pdf"
        return LetterFile(number=evaluation.letter_number, file_name=name, pdf=letter.pdf)
