"""The surat penyampaian informasi laid out as an Indonesian government letter on A4, as a PDF.

Only layout lives here: what the letter says is a ``LetterContent`` made by
``procedure.letters``. The PDF uses the core Helvetica and Times fonts, which every reader has and
which hold Latin-1 only (enough for Bahasa Indonesia); any other character in user text (a
dashboard title with a dash, an emoji) is mapped to its nearest Latin-1 form or a "?" by
``latin1``, so no title can stop a letter. The document's dates are the letter's own date, so the
same content always gives the same bytes.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

from fpdf import FPDF
from pydantic import BaseModel, Field

from ocenter.config import Signatory

#: The letterhead (kop surat): the agency, the centre, and the centre's address.
LETTERHEAD = ("BADAN PENGAWAS OBAT DAN MAKANAN", "PUSAT DATA DAN INFORMASI OBAT DAN MAKANAN")
LETTERHEAD_ADDRESS = (
    "Jalan Percetakan Negara Nomor 23, Jakarta Pusat 10560",
    "Laman www.pom.go.id",
)
#: Indonesian month names, January first.
MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
#: Characters outside Latin-1 that have a usual plain form.
_PLAIN = str.maketrans(
    {
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2212": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2026": "...",
        "\u2022": "\u00b7",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)

# Layout, in millimetres on A4 (210 x 297): the margins of government letters.
_LEFT, _RIGHT, _TOP = 25, 20, 15
_WIDTH = 210 - _LEFT - _RIGHT
_LINE = 5.5


class LetterContent(BaseModel):
    """Everything a letter says, in the order it is printed."""

    number: str = Field(description="The letter's number (Nomor).", examples=["B-7/POM.09.01/11/2026"])
    letter_date: date = Field(description="The letter's date (Jakarta).")
    place: str = Field(default="Jakarta", description="Where it was written, before the date.")
    attachment: str = Field(description="What is attached (Lampiran), e.g. '1 (satu) lembar'.")
    subject: str = Field(description="What it is about (Hal).")
    addressee: list[str] = Field(description="Lines of the address, first 'Yth. ...'.")
    body: list[str] = Field(description="Paragraphs of the body, the closing one last.")
    signatory: Signatory = Field(description="Who signs it.")
    copies: list[str] = Field(description="Who receives a copy (Tembusan), in order.")
    attachment_title: str = Field(description="Heading of the attachment page.")
    attachment_text: str = Field(description="The attachment: the findings of the evaluation.")

    def dated(self) -> str:
        """The place and date as printed: 'Jakarta, 30 November 2026'."""
        return f"{self.place}, {indonesian_date(self.letter_date)}"

    def as_text(self) -> str:
        """The letter as plain text, line for line what the PDF says (kept with the letter in
        the database, readable without a PDF reader)."""
        lines = [
            *LETTERHEAD,
            *LETTERHEAD_ADDRESS,
            "",
            self.dated(),
            "",
            f"Nomor    : {self.number}",
            f"Lampiran : {self.attachment}",
            f"Hal      : {self.subject}",
            "",
            *self.addressee,
            "",
        ]
        for paragraph in self.body:
            lines += [paragraph, ""]
        lines += [self.signatory.title + ",", "", "", self.signatory.name]
        if self.signatory.nip:
            lines.append(f"NIP {self.signatory.nip}")
        lines += [
            "",
            "Tembusan:",
            *(f"{i}. {copy}" for i, copy in enumerate(self.copies, 1)),
            "",
            f"Lampiran Surat Nomor {self.number}",
            self.attachment_title,
            "",
            self.attachment_text,
        ]
        return "\n".join(lines)


def indonesian_date(day: date) -> str:
    """'30 November 2026': the day, the Indonesian month name and the year."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def latin1(text: str) -> str:
    """``text`` in characters the core PDF fonts have: Latin-1, with typographic dashes and
    quotes made plain, accented letters outside Latin-1 without their accent, and anything else
    (other scripts, symbols, control characters) as '?'."""
    out = []
    for char in unicodedata.normalize("NFC", text.translate(_PLAIN)):
        if char == "\n" or (ord(char) < 256 and unicodedata.category(char) != "Cc"):
            out.append(char)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 128)
        out.append(base if base.isprintable() and base else "?")
    return "".join(out)


def render_letter(content: LetterContent) -> bytes:
    """The letter as an A4 PDF: kop surat, date, Nomor/Lampiran/Hal, addressee, body, signature
    and Tembusan on the first page(s), the findings on the attachment page."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_margins(_LEFT, _TOP, _RIGHT)
    pdf.set_auto_page_break(auto=True, margin=20)
    issued = datetime(
        content.letter_date.year, content.letter_date.month, content.letter_date.day, tzinfo=UTC
    )
    pdf.set_creation_date(issued)
    pdf.set_title(latin1(f"{content.subject} - {content.number}"))
    pdf.set_author(latin1(LETTERHEAD[1].title()))
    pdf.add_page()
    _letterhead(pdf)
    pdf.set_font("Times", size=12)
    pdf.cell(_WIDTH, _LINE, latin1(content.dated()), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(_LINE)
    for label, value in (
        ("Nomor", content.number),
        ("Lampiran", content.attachment),
        ("Hal", content.subject),
    ):
        pdf.cell(25, _LINE, label)
        pdf.cell(4, _LINE, ":")
        pdf.multi_cell(_WIDTH - 29, _LINE, latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(_LINE)
    for line in content.addressee:
        pdf.multi_cell(_WIDTH, _LINE, latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(_LINE)
    for paragraph in content.body:
        pdf.multi_cell(_WIDTH, _LINE, latin1(paragraph), align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    _signature(pdf, content.signatory)
    pdf.ln(_LINE)
    pdf.set_font("Times", size=11)
    pdf.cell(_WIDTH, _LINE, "Tembusan:", new_x="LMARGIN", new_y="NEXT")
    for i, copy in enumerate(content.copies, 1):
        pdf.multi_cell(_WIDTH, _LINE, latin1(f"{i}. {copy}"), new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.set_font("Times", size=12)
    pdf.multi_cell(
        _WIDTH,
        _LINE,
        latin1(f"Lampiran Surat Nomor {content.number}\nTanggal {indonesian_date(content.letter_date)}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(_LINE)
    pdf.set_font("Times", style="B", size=12)
    pdf.multi_cell(_WIDTH, _LINE, latin1(content.attachment_title), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(_LINE)
    pdf.set_font("Times", size=12)
    pdf.multi_cell(_WIDTH, _LINE, latin1(content.attachment_text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _letterhead(pdf: FPDF) -> None:
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(_WIDTH, 7, LETTERHEAD[0], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", style="B", size=12)
    pdf.cell(_WIDTH, 6, LETTERHEAD[1], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    for line in LETTERHEAD_ADDRESS:
        pdf.cell(_WIDTH, 4.5, latin1(line), align="C", new_x="LMARGIN", new_y="NEXT")
    y = pdf.get_y() + 2
    pdf.set_line_width(0.8)
    pdf.line(_LEFT, y, 210 - _RIGHT, y)
    pdf.set_line_width(0.2)
    pdf.line(_LEFT, y + 1.2, 210 - _RIGHT, y + 1.2)
    pdf.set_y(y + 6)


def _signature(pdf: FPDF, signatory: Signatory) -> None:
    """The signature block on the right half: title, room to sign, name, NIP."""
    if pdf.get_y() > 297 - 20 - 40:  # keep the block whole on one page
        pdf.add_page()
    left = _LEFT + _WIDTH / 2
    pdf.ln(_LINE)
    pdf.set_x(left)
    pdf.multi_cell(_WIDTH / 2, _LINE, latin1(signatory.title + ","), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(_LINE * 3)
    pdf.set_x(left)
    pdf.set_font("Times", style="B", size=12)
    pdf.multi_cell(_WIDTH / 2, _LINE, latin1(signatory.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Times", size=12)
    if signatory.nip:
        pdf.set_x(left)
        pdf.cell(_WIDTH / 2, _LINE, latin1(f"NIP {signatory.nip}"), new_x="LMARGIN", new_y="NEXT")
