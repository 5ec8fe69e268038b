"""The surat penyampaian informasi (step 9) as the unit receives it: an A4 PDF read back through
PDFium, its number restarting each year and unique, kept as sent, and only for its unit."""

from __future__ import annotations

import hashlib
import sys
import threading
from dataclasses import replace

import pypdfium2 as pdfium
import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.clock import FixedClock
from ocenter.config import Signatory
from ocenter.errors import NotFound, PermissionDenied, UserError
from ocenter.models import DashboardRequest, Evaluation, Letter, LetterSequence, RequestStatus
from ocenter.procedure.letter_pdf import latin1
from ocenter.procedure.letters import letter_file, next_sequence

DISPLAYED, IN_REVIEW = 1, 2
HEAD = Signatory(name="Dr. Siti Rahmawati, S.Si., M.Kom.", nip="197501012000032001")


def _signed(ctx, clock: FixedClock, signatory: Signatory | None = HEAD):  # noqa: ANN001, ANN202
    settings = ctx.settings.model_copy(update={"letter_signatory": signatory})
    return replace(ctx, clock=clock, settings=settings)


def _displayed_copy(ctx, title: str) -> int:  # noqa: ANN001
    """Another request of request 1's unit on display, waiting for its evaluation."""
    with Session(ctx.engine) as session:
        source = session.get(DashboardRequest, DISPLAYED)
        copy = DashboardRequest(
            title=title, purpose=source.purpose, requesting_unit=source.requesting_unit,
            requested_by=source.requested_by, datasets=source.datasets, level=source.level,
            audience=source.audience, dashboard_id=source.dashboard_id,
            status=RequestStatus.DISPLAYED,
        )
        session.add(copy)
        session.commit()
        return copy.id


def _pages_text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    return [page.get_textpage().get_text_range() for page in document]


def test_the_letter_is_an_a4_government_letter_signed_by_the_head_of_pusdatin(demo_ctx, as_user):
    ctx = _signed(demo_ctx, FixedClock.wib(2026, 11, 30, 10))
    evaluation = procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED,
                                              "Dasbor dipakai pada rapat pimpinan mingguan.")
    letter = letter_file(ctx, as_user("direktur"), DISPLAYED)
    assert letter.number == evaluation.letter_number == "B-1/POM.09.01/11/2026"
    assert letter.pdf.startswith(b"%PDF-")

    document = pdfium.PdfDocument(letter.pdf)
    width, height = document[0].get_size()  # points: A4 is 595 x 842
    assert (round(width), round(height)) == (595, 842)
    image = document[0].render(scale=1).to_pil().convert("L")
    inked = sum(image.histogram()[:128])  # pixels darker than mid-grey
    assert inked > 0.01 * image.width * image.height  # the page carries text, not a blank

    first, attachment = _pages_text(letter.pdf)[:2]
    for part in ("BADAN PENGAWAS OBAT DAN MAKANAN", "PUSAT DATA DAN INFORMASI OBAT DAN MAKANAN",
                 "Jakarta, 30 November 2026", "Nomor : B-1/POM.09.01/11/2026",
                 "Lampiran : 1 (satu) berkas",
                 "Hal : Penyampaian Informasi Dashboard Operational Center",
                 "Yth. Direktur Pengawasan Peredaran Pangan Olahan",
                 "Kepala Pusat Data dan Informasi Obat dan", "Dr. Siti Rahmawati, S.Si., M.Kom.",
                 "NIP 197501012000032001", "Tembusan:",
                 "1. Kepala Badan Pengawas Obat dan Makanan",
                 "2. Sekretaris Utama Badan Pengawas Obat dan Makanan"):
        assert part in first, part
    assert "Pantauan Hasil Sampling dan Pengujian" in " ".join(first.split())
    assert "Analis Data Pusdatin" not in first  # never the analyst
    assert "Lampiran Surat Nomor B-1/POM.09.01/11/2026" in attachment
    assert "Dasbor dipakai pada rapat pimpinan mingguan." in attachment

    with Session(ctx.engine) as session:
        kept = session.get(Letter, evaluation.id)
    assert (kept.year, kept.sequence, kept.signatory_name) == (2026, 1, HEAD.name)
    assert kept.pdf_sha256 == hashlib.sha256(letter.pdf).hexdigest()
    assert "Dr. Siti Rahmawati, S.Si., M.Kom." in evaluation.letter_text  # readable in the database


def test_a_sent_letter_stays_as_sent_when_the_signatory_changes(demo_ctx, as_user):
    ctx = _signed(demo_ctx, FixedClock.wib(2026, 11, 30, 10))
    procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    sent = letter_file(ctx, as_user("direktur"), DISPLAYED).pdf
    successor = Signatory(name="Ir. Budi Santoso, M.T.", nip="198001012005011001")
    later = _signed(demo_ctx, FixedClock.wib(2027, 2, 1), successor)
    assert letter_file(later, as_user("direktur"), DISPLAYED).pdf == sent


def test_a_title_in_any_script_is_printed_not_a_crash(demo_ctx, as_user):
    ctx = _signed(demo_ctx, FixedClock.wib(2026, 11, 30, 10))
    odd = _displayed_copy(ctx, "Dasbor \u2014 \u201cPangan\u201d \u0141\u00f3d\u017a \u4e2d\u6587 \u2713")
    procedure.evaluate_dashboard(ctx, as_user("analis"), odd, "Catatan \u2014 \U0001f600 selesai.")
    text = " ".join(" ".join(_pages_text(letter_file(ctx, as_user("direktur"), odd).pdf)).split())
    assert 'dashboard "Dasbor - "Pangan" ?\u00f3dz ?? ?"' in text
    assert "Catatan - ? selesai." in text
    assert latin1("Caf\u00e9 \u0107evap\u0107i\u0107i\ttab") == "Caf\u00e9 cevapcici?tab"


def test_numbers_restart_in_january_and_count_within_the_year(demo_ctx, as_user):
    analyst = as_user("analis")
    second, third = _displayed_copy(demo_ctx, "Dasbor kedua"), _displayed_copy(demo_ctx, "Dasbor ketiga")
    numbers = [
        procedure.evaluate_dashboard(_signed(demo_ctx, FixedClock.wib(2026, 12, 1)), analyst,
                                     DISPLAYED, "Satu.").letter_number,
        # 06:00 WIB on 31 December is still December; the next is the new year's first letter.
        procedure.evaluate_dashboard(_signed(demo_ctx, FixedClock.wib(2026, 12, 31, 6)), analyst,
                                     second, "Dua.").letter_number,
        procedure.evaluate_dashboard(_signed(demo_ctx, FixedClock.wib(2027, 1, 4)), analyst,
                                     third, "Tiga.").letter_number,
    ]
    assert numbers == ["B-1/POM.09.01/12/2026", "B-2/POM.09.01/12/2026", "B-1/POM.09.01/01/2027"]


def test_two_letters_issued_at_once_get_two_numbers(demo_ctx, as_user):
    """Two analysts press Simpan at the same moment on two dashboards: both letters are issued,
    numbered 1 and 2 of the year."""
    ctx = _signed(demo_ctx, FixedClock.wib(2026, 12, 2))
    requests = [DISPLAYED, _displayed_copy(ctx, "Dasbor kedua")]
    analyst = as_user("analis")
    both_ready = threading.Barrier(2, timeout=30)
    listening = True

    def listen(event: str, args: tuple) -> None:
        if listening and event == "ocenter.checkpoint" and args[0] == "request.holding":
            both_ready.wait()  # both are past their checks and about to write

    numbers: dict[int, str] = {}
    failures: list[BaseException] = []

    def evaluate(request_id: int) -> None:
        try:
            numbers[request_id] = procedure.evaluate_dashboard(ctx, analyst, request_id,
                                                               "Baik.").letter_number
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)

    sys.addaudithook(listen)  # audit hooks stay for the process: this one stops listening below
    try:
        threads = [threading.Thread(target=evaluate, args=(r,)) for r in requests]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        listening = False
    assert failures == []
    assert sorted(numbers.values()) == ["B-1/POM.09.01/12/2026", "B-2/POM.09.01/12/2026"]


def test_the_database_refuses_a_second_letter_with_the_same_number(demo_ctx, as_user):
    ctx = _signed(demo_ctx, FixedClock.wib(2026, 12, 2))
    evaluation = procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    with Session(ctx.engine) as session:
        other = Evaluation(request_id=IN_REVIEW, notes="-", letter_number="-", letter_text="-",
                           evaluated_by="analis")
        session.add(other)
        session.flush()
        kept = session.get(Letter, evaluation.id)
        session.add(Letter(evaluation_id=other.id, year=2026, sequence=1,
                           letter_date=kept.letter_date, signatory_name="-",
                           signatory_title="-", pdf=b"%PDF-", pdf_sha256="-"))
        with pytest.raises(IntegrityError):
            session.flush()


@pytest.mark.postgres
def test_a_second_issuer_waits_for_the_first_and_takes_the_next_number(postgres_url):
    from ocenter.database import make_engine

    engine = make_engine(postgres_url)
    taken: list[int] = []
    try:
        with Session(engine) as first:
            assert next_sequence(first, 2026) == 1  # holds the year's counter until it ends
            second = threading.Thread(
                target=lambda: taken.append(_one_sequence(engine, 2026)), daemon=True)
            second.start()
            second.join(timeout=1)
            assert second.is_alive() and taken == []  # it waits on the first's counter row
            first.commit()
        second.join(timeout=30)
        assert taken == [2]
        with Session(engine) as session:
            assert session.get(LetterSequence, 2026).last == 2
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_letter_is_issued_kept_and_downloaded_on_postgresql(postgres_url, tmp_path):
    from ocenter.accounts.login import authority_of
    from ocenter.bootstrap import initialise
    from tests.conftest import settings_for

    ctx = initialise(settings_for(tmp_path / "home", postgres_url), demo=True,
                     progress=lambda _message: None, clock=FixedClock.wib(2026, 12, 31, 6))
    try:
        def user(username: str):  # noqa: ANN202
            return authority_of(ctx.engine, username, production=False, today=ctx.clock.today())

        evaluation = procedure.evaluate_dashboard(_signed(ctx, ctx.clock), user("analis"),
                                                  DISPLAYED, "Baik.")
        assert evaluation.letter_number == "B-1/POM.09.01/12/2026"
        letter = letter_file(ctx, user("direktur"), DISPLAYED)
        assert "Dr. Siti Rahmawati, S.Si., M.Kom." in _pages_text(letter.pdf)[0]
        with Session(ctx.engine) as session:
            assert session.get(Letter, evaluation.id).pdf_sha256 == hashlib.sha256(
                letter.pdf).hexdigest()
    finally:
        ctx.engine.dispose()


def _one_sequence(engine, year: int) -> int:  # noqa: ANN001
    with Session(engine) as session:
        sequence = next_sequence(session, year)
        session.commit()
        return sequence


def test_a_letter_before_the_evaluation_is_refused_and_nothing_changes(demo_ctx, as_user):
    ctx = _signed(demo_ctx, FixedClock.wib(2026, 12, 2))

    def state() -> tuple:
        with Session(ctx.engine) as session:
            return (session.exec(select(Letter.evaluation_id)).all(),
                    session.exec(select(LetterSequence.year, LetterSequence.last)).all(),
                    procedure.get_request(ctx, DISPLAYED).status,
                    [e.id for e in procedure.events(ctx)])

    before = state()
    with pytest.raises(UserError) as not_yet:
        letter_file(ctx, as_user("direktur"), DISPLAYED)
    assert (not_yet.value.key, not_yet.value.params) == ("letter.not_evaluated",
                                                         {"request": DISPLAYED})
    assert "belum dievaluasi" in not_yet.value.text("id")
    with pytest.raises(UserError):
        procedure.evaluate_dashboard(ctx, as_user("analis"), IN_REVIEW, "Terlalu awal.")
    unsigned = _signed(demo_ctx, FixedClock.wib(2026, 12, 2), signatory=None)
    with pytest.raises(UserError) as no_head:
        procedure.evaluate_dashboard(unsigned, as_user("analis"), DISPLAYED, "Baik.")
    assert no_head.value.key == "letter.no_signatory"
    assert state() == before


def test_the_unit_and_pusdatin_download_the_letter_and_no_one_else(demo_ctx, as_user):
    from ocenter.accounts.admin import add_user
    from ocenter.accounts.levels import Level, Role, ScopeKind

    ctx = _signed(demo_ctx, FixedClock.wib(2026, 12, 2))
    procedure.evaluate_dashboard(ctx, as_user("analis"), DISPLAYED, "Baik.")
    own = letter_file(ctx, as_user("direktur"), DISPLAYED)
    assert letter_file(ctx, as_user("analis"), DISPLAYED).pdf == own.pdf
    assert own.file_name == f"surat-2026-0001-permintaan-{DISPLAYED}.pdf"
    add_user(ctx, None, username="kosmetik", name="Staf Kosmetik", role=Role.UNIT,
             clearance=Level.RAHASIA, scope=ScopeKind.UNIT, unit_code="DIT-WAS-KOSMETIK",
             password="kata-sandi-panjang")
    # Another unit cleared to read the request, and the head of BPOM: neither requested it.
    for other in ("kosmetik", "kepala"):
        with pytest.raises(PermissionDenied) as refused:
            letter_file(ctx, as_user(other), DISPLAYED)
        assert refused.value.key == "letter.not_your_unit", other
    # Another unit below the request's level does not learn that it exists.
    for hidden in (DISPLAYED, 999):
        with pytest.raises(NotFound) as missing:
            letter_file(ctx, as_user("unit"), hidden)
        assert missing.value.key == "procedure.request_missing"


def test_a_letter_sent_before_letters_were_kept_as_pdf_is_named_not_made_up(demo_ctx, as_user):
    with Session(demo_ctx.engine) as session:  # as an older version left it: text only
        session.add(Evaluation(request_id=DISPLAYED, notes="-", letter_number="B-0007/PUSDATIN/OC/03/2026",
                               letter_text="Nomor : B-0007/PUSDATIN/OC/03/2026", evaluated_by="analis"))
        session.commit()
    with pytest.raises(NotFound) as text_only:
        letter_file(demo_ctx, as_user("direktur"), DISPLAYED)
    assert text_only.value.params == {"request": DISPLAYED, "number": "B-0007/PUSDATIN/OC/03/2026"}
    assert text_only.value.key == "letter.text_only"


def test_the_receipt_page_offers_the_letter_to_download(app, demo_ctx, as_user):
    from ocenter.i18n import t_markdown
    from tests.test_app import _login

    procedure.evaluate_dashboard(_signed(demo_ctx, FixedClock.wib(2026, 12, 2)),
                                 as_user("analis"), DISPLAYED, "Baik.")
    at = _login(app, "direktur")
    at.switch_page("pages/penerimaan.py").run()
    assert not at.exception, at.exception
    [download] = at.get("download_button")
    # A label is Markdown: the number is shown escaped, as typed.
    assert download.proto.label == t_markdown("letter.download", "id",
                                              number="B-1/POM.09.01/12/2026")
    assert "B\\-1\\/POM" in download.proto.label


def test_the_signatory_comes_from_the_settings_and_production_has_no_demo_name(tmp_path):
    from ocenter.config import PUSDATIN_HEAD_TITLE, load_settings

    base = {"OCENTER_HOME": str(tmp_path), "OCENTER_COOKIE_KEY": "k" * 8 + "abcdefghij" * 4,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    configured = load_settings({**base, "OCENTER_MODE": "production",
                                "OCENTER_PUSDATIN_HEAD_NAME": " Dr. Siti Rahmawati ",
                                "OCENTER_PUSDATIN_HEAD_NIP": "197501012000032001"})
    assert configured.letter_signatory == Signatory(name="Dr. Siti Rahmawati",
                                                    nip="197501012000032001",
                                                    title=PUSDATIN_HEAD_TITLE)
    assert load_settings({**base, "OCENTER_MODE": "production"}).letter_signatory is None
    demo = load_settings({**base, "OCENTER_MODE": "demo"}).letter_signatory
    assert demo.name == "Kepala Pusdatin (Demo)"
