"""Which pages exist and which roles may open them; the router builds navigation from this alone."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ocenter.accounts.levels import Role

R = Role


class PageEntry(BaseModel):
    """One page of the app and the roles that may open it."""

    key: str = Field(description="Stable page key; also its URL path.")
    path: str = Field(description="Script under pages/.")
    title_key: str = Field(description="Catalogue key of the page title.")
    icon: str = Field(description="Material icon shown in the menu.")
    section_key: str = Field(description="Catalogue key of the menu section.")
    step: int | None = Field(default=None, description="SOP step the page carries out, if any.")
    roles: frozenset[Role] = Field(description="Roles that get the page.")


_EVERYONE = frozenset(Role)
_UNIT_SIDE = frozenset({R.UNIT, R.DIREKTUR, R.UPT, R.KABALAI})  # a UPT requests like a central unit
_SENDERS = frozenset({R.UNIT, R.UPT, R.MITRA})
_PUSDATIN = frozenset({R.ANALIS, R.VERIFIKATOR})

PAGES: tuple[PageEntry, ...] = (
    PageEntry(key="beranda", path="pages/beranda.py", title_key="page.beranda", icon=":material/home:",
              section_key="section.umum", roles=_EVERYONE - {R.LAYAR}),
    PageEntry(key="tampilan", path="pages/tampilan.py", title_key="page.tampilan",
              icon=":material/monitor:", section_key="section.umum", step=8, roles=_EVERYONE),
    PageEntry(key="daftar-putar", path="pages/daftar_putar.py", title_key="page.daftar_putar",
              icon=":material/playlist_play:", section_key="section.umum", roles=frozenset({R.ANALIS})),
    # A contract change is its own review: Pusdatin proposes, the owner unit and Pusdatin approve.
    PageEntry(key="perubahan-kontrak", path="pages/perubahan_kontrak.py",
              title_key="page.perubahan_kontrak", icon=":material/rule:", section_key="section.umum",
              roles=_PUSDATIN | _UNIT_SIDE | _SENDERS),
    # The SOP's records: Pusdatin, who works every request, and the units that file them (a
    # central unit or a UPT) read a request's history and take its archive.
    PageEntry(key="arsip-permintaan", path="pages/arsip_permintaan.py",
              title_key="page.arsip_permintaan", icon=":material/inventory_2:",
              section_key="section.umum", roles=_PUSDATIN | _UNIT_SIDE),
    PageEntry(key="permintaan", path="pages/permintaan.py", title_key="page.permintaan",
              icon=":material/assignment:", section_key="section.unit", roles=_UNIT_SIDE | {R.ANALIS}),
    PageEntry(key="kirim-data", path="pages/kirim_data.py", title_key="page.kirim_data",
              icon=":material/upload_file:", section_key="section.unit", step=1, roles=_SENDERS),
    PageEntry(key="tinjau-mockup", path="pages/tinjau_mockup.py", title_key="page.tinjau_mockup",
              icon=":material/rate_review:", section_key="section.unit", step=5, roles=_UNIT_SIDE),
    PageEntry(key="penerimaan", path="pages/penerimaan.py", title_key="page.penerimaan",
              icon=":material/mark_email_read:", section_key="section.unit", step=10,
              roles=_UNIT_SIDE),
    PageEntry(key="terima-data", path="pages/terima_data.py", title_key="page.terima_data",
              icon=":material/inbox:", section_key="section.pusdatin", step=2, roles=_PUSDATIN),
    PageEntry(key="kelengkapan", path="pages/kelengkapan.py", title_key="page.kelengkapan",
              icon=":material/grid_view:", section_key="section.pusdatin", roles=_PUSDATIN),
    PageEntry(key="verifikasi-data", path="pages/verifikasi_data.py",
              title_key="page.verifikasi_data", icon=":material/fact_check:",
              section_key="section.pusdatin", step=3, roles=frozenset({R.VERIFIKATOR})),
    PageEntry(key="mockup", path="pages/mockup.py", title_key="page.mockup",
              icon=":material/design_services:", section_key="section.pusdatin", step=4,
              roles=frozenset({R.ANALIS})),
    PageEntry(key="bangun", path="pages/bangun.py", title_key="page.bangun",
              icon=":material/construction:", section_key="section.pusdatin", step=6,
              roles=frozenset({R.ANALIS})),
    PageEntry(key="klasifikasi", path="pages/klasifikasi.py", title_key="page.klasifikasi",
              icon=":material/shield_person:", section_key="section.pusdatin", step=7,
              roles=frozenset({R.ANALIS})),
    PageEntry(key="tayangkan", path="pages/tayangkan.py", title_key="page.tayangkan",
              icon=":material/cast:", section_key="section.pusdatin", step=8,
              roles=frozenset({R.ANALIS})),
    PageEntry(key="evaluasi", path="pages/evaluasi.py", title_key="page.evaluasi",
              icon=":material/monitoring:", section_key="section.pusdatin", step=9,
              roles=frozenset({R.ANALIS})),
    # How Pusdatin is judged: each step against the SOP's time standard (procedure.performance).
    PageEntry(key="kinerja", path="pages/kinerja.py", title_key="page.kinerja",
              icon=":material/speed:", section_key="section.pusdatin", roles=_PUSDATIN),
    PageEntry(key="log", path="pages/log.py", title_key="page.log", icon=":material/history:",
              section_key="section.admin", roles=frozenset({R.ADMIN, R.ANALIS})),
    PageEntry(key="pengguna", path="pages/pengguna.py", title_key="page.pengguna",
              icon=":material/manage_accounts:", section_key="section.admin",
              roles=frozenset({R.ADMIN})),
    # The SOP's "parties given authorisation": dashboards granted by name, by whom and until when.
    PageEntry(key="hak-akses", path="pages/hak_akses.py", title_key="page.hak_akses",
              icon=":material/key:", section_key="section.admin",
              roles=frozenset({R.ADMIN, R.ANALIS})),
    # The calendar every due day is counted on: the administrator enters each year's cuti bersama
    # from the SKB 3 Menteri; Pusdatin's analysts, who plan with the due days, may look.
    PageEntry(key="kalender-kerja", path="pages/kalender_kerja.py", title_key="page.kalender_kerja",
              icon=":material/calendar_month:", section_key="section.admin",
              roles=frozenset({R.ADMIN, R.ANALIS})),
    # The operator's view of the installation itself (operations.health): database, store,
    # mirror, folders, disk, data freshness, failed tiles and e-mails.
    PageEntry(key="kesehatan-sistem", path="pages/kesehatan_sistem.py",
              title_key="page.kesehatan_sistem", icon=":material/monitor_heart:",
              section_key="section.admin", roles=frozenset({R.ADMIN})),
)


def pages_for(role: Role) -> list[PageEntry]:
    """The pages ``role`` may open, in menu order."""
    return [page for page in PAGES if role in page.roles]


def default_page_key(role: Role) -> str:
    """The page a user lands on: the wall screen goes straight to the display."""
    return "tampilan" if role == Role.LAYAR else "beranda"


def may_open(role: Role, key: str) -> bool:
    """True when ``role`` may open the page ``key``; pages use it as a second check."""
    return any(page.key == key and role in page.roles for page in PAGES)
