"""The whole procedure, from the request form to the unit's receipt, in a real browser: each person
in a browser window of their own, every step on its page, as the README's "The procedure in the
app" names them. Screenshots of the main pages, at a laptop's 1366x768 and at 1920x1080, go to
``OCENTER_SCREENSHOTS`` (default ``test-artifacts/procedure``)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ocenter.bootstrap import demo_sampling_frame, demo_upt_code
from ocenter.clock import SYSTEM_CLOCK
from ocenter.i18n import t
from tests.browser_helpers import (
    ARTIFACTS,
    RUN_COUNTER,
    await_login,
    choose,
    launch,
    one_more_run,
    open_list,
    require_chromium,
    serve,
    settle,
    submit_login,
)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
FULL_HD = {"width": 1920, "height": 1080}
TITLE = "Temuan Kosmetik per Provinsi"
PURPOSE = "Memantau temuan kosmetik yang tidak memenuhi syarat di setiap provinsi."
RETURN_NOTE = "Kolom jumlah_sampel baris 6 bukan angka; perbaiki lalu kirim ulang."
CHANGE_REQUEST = "Judul mencakup juga pangan olahan."
REVISED_TITLE = "Temuan Kosmetik dan Pangan Olahan per Provinsi"
EVALUATION = "Dasbor dibuka pimpinan; data mutakhir, tidak ada panel yang gagal."


# --- words on screen -------------------------------------------------------------------------


def said(key: str, **params: object) -> str:
    """What the app says for ``key`` in Bahasa Indonesia, the users' first language."""
    return t(key, "id", **params)


def said_pattern(key: str, **known: object) -> re.Pattern:
    """``said(key)`` as a pattern: the values given as they are, each other one a group."""
    pieces = re.split(r"\{(\w+)\}", t(key, "id"))
    return re.compile("".join(
        re.escape(piece) if index % 2 == 0
        else re.escape(str(known[piece])) if piece in known
        else "(.+?)"  # unnamed: the browser reads the pattern too, and names groups otherwise
        for index, piece in enumerate(pieces)
    ))


def read_said(page, key: str, **known: object) -> dict[str, str]:  # noqa: ANN001 - Page
    """Wait for the page to say ``key`` and return the values it filled in (e.g. a number)."""
    pattern = said_pattern(key, **known)
    shown = page.get_by_text(pattern).first
    shown.wait_for()
    names = [name for index, name in enumerate(re.split(r"\{(\w+)\}", t(key, "id")))
             if index % 2 and name not in known]
    return dict(zip(names, pattern.search(shown.inner_text()).groups(), strict=True))


def box(page, label: str):  # noqa: ANN001, ANN201 - playwright Page and Locator
    """The select box or multiselect labelled ``label``."""
    return page.locator("[data-testid=stSelectbox], [data-testid=stMultiSelect]").filter(
        has=page.get_by_text(label, exact=True))


def pick(page, label: str, option: str) -> None:  # noqa: ANN001 - playwright Page
    """Pick ``option`` in the select box ``label`` outside a form, and wait for the page's run."""
    field = box(page, label)
    field.wait_for()
    if option in selected(field):
        return  # already chosen: choosing it again starts no run
    with one_more_run(page):
        choose(page, field, option)


def attach(page, path: Path) -> None:  # noqa: ANN001 - playwright Page
    """Put ``path`` in the page's file uploader and wait until it is uploaded."""
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(path)
    page.locator("[data-testid=stFileChip]").wait_for()
    page.locator("[data-testid=stFileChipIconSpinner]").wait_for(state="detached")
    assert page.locator("[data-testid=stFileChipIconError]").count() == 0


def selected(field) -> str:  # noqa: ANN001 - playwright Locator
    """What a select box shows as chosen."""
    return field.locator("input").input_value()


def figure(page) -> int:  # noqa: ANN001 - playwright Page
    """The first figure tile's number, as shown ("8.920" is 8920)."""
    return int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(".", ""))


def options_of(page, field) -> list[str]:  # noqa: ANN001 - playwright Page and Locator
    """The options of a select box, as its list shows them."""
    open_list(field)
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


# --- the people, each in a browser window of their own ----------------------------------------


@dataclass
class Walk:
    """The server, the screenshot folder, and one browser page per person taking part."""

    server: str
    shots: Path
    pages: dict

    def visit(self, username: str, page_key: str, ready):  # noqa: ANN001, ANN201 - Page, Locator
        """Open ``page_key`` as ``username`` and wait for ``ready`` and the end of the run."""
        page = self.pages[username]
        page.goto(f"{self.server}/{page_key}")
        (ready(page) if callable(ready) else page.get_by_text(ready).first).wait_for()
        settle(page)
        return page

    def beranda_shows(self, username: str, label: str, status: str) -> None:
        """Beranda lists the request ``label`` at ``status`` (its step and progress bar)."""
        # Beranda is the default page: its address is the app's own.
        page = self.visit(username, "", lambda p: p.get_by_role("heading", name=said("page.beranda")))
        card = page.locator("[data-testid=stVerticalBlock]").filter(
            has=page.locator("[data-testid=stProgress]")).filter(has_text=label).last
        card.wait_for()
        assert said(f"status.{status}") in card.inner_text(), card.inner_text()

    def snap(self, username: str, name: str, anchor=None) -> None:  # noqa: ANN001 - Locator
        """Screenshots of what ``username`` sees now, at a laptop's size and at 1920x1080."""
        page = self.pages[username]
        for size in (LAPTOP, FULL_HD):
            page.set_viewport_size(size)
            # Charts redraw for the new width in the next frames; nothing reruns on the server.
            page.evaluate("() => document.fonts.ready.then(() => new Promise(done =>"
                          " requestAnimationFrame(() => requestAnimationFrame(done))))")
            if anchor is not None:
                anchor.scroll_into_view_if_needed()
            page.screenshot(path=str(self.shots / f"{name}-{size['width']}x{size['height']}.png"))
        page.set_viewport_size(LAPTOP)


@pytest.fixture
def walk(demo_home: Path, tmp_path: Path) -> Iterator[Walk]:
    """The app served on a private copy of the demo, and the five people of the walk logged in,
    each in a browser context of their own (their own cookie, their own session)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("OCENTER_SCREENSHOTS") or ARTIFACTS / "procedure")
    shots.mkdir(parents=True, exist_ok=True)
    with serve(demo_home, tmp_path / "streamlit.log") as server, sync_playwright() as playwright:
        browser = launch(playwright)
        pages = {}
        for username in ("unit", "verifikator", "analis", "kepala", "kabalai"):
            context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
            context.add_init_script(RUN_COUNTER)
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(server)
            submit_login(page, username)
            pages[username] = page
        for page in pages.values():  # five people log in at once, as in an office
            await_login(page)
        try:
            yield Walk(server=server, shots=shots, pages=pages)
        finally:
            for username, page in pages.items():  # where each person was, should a step fail
                page.screenshot(path=str(tmp_path / f"last-{username}.png"))
            browser.close()


def _data_files(folder: Path) -> tuple[Path, Path]:
    """A CSV of one UPT's latest 150 samples as the contract wants them, and the same file with
    one broken cell (row 6 of the sheet: "dua" where a whole number belongs)."""
    frame = demo_sampling_frame(SYSTEM_CLOCK.today(), months=12)
    region = frame[frame["kode_upt"] == demo_upt_code()].tail(150).reset_index(drop=True)
    broken = region.copy()
    broken.loc[4, "jumlah_sampel"] = "dua"
    good_file, broken_file = folder / "perbaikan.csv", folder / "bulanan.csv"
    region.to_csv(good_file, index=False)
    broken.to_csv(broken_file, index=False)
    return broken_file, good_file


# --- the test ----------------------------------------------------------------------------------


def test_the_whole_procedure_through_the_pages(walk, tmp_path):
    """Steps 1 to 10 for one new request, by the unit, Pusdatin's verifier and analyst, and the
    head of BPOM, each on their own pages; what each relies on is checked after each step."""
    from playwright.sync_api import expect

    broken_file, good_file = _data_files(tmp_path)

    # The form: the unit asks for a dashboard of one dataset, for Kepala BPOM and Eselon II.
    unit = walk.visit("unit", "permintaan", lambda p: p.get_by_label(said("request.title")))
    unit.get_by_label(said("request.title")).fill(TITLE)
    unit.get_by_label(said("request.purpose")).fill(PURPOSE)
    choose(unit, box(unit, said("request.datasets")), "(sampling-pengujian)")
    for tier in ("kepala_bpom", "eselon_2"):
        choose(unit, box(unit, said("request.audience")), said(f"tier.{tier}"))
    unit.get_by_role("button", name=said("request.submit")).click()
    number = int(read_said(unit, "request.filed")["request"])
    settle(unit)
    label = f"#{number} · {TITLE}"  # how every picker names the request
    walk.snap("unit", "01-permintaan", unit.get_by_text(said("request.filed", request=number)))
    walk.beranda_shows("unit", label, "requested")

    # Step 1: the unit sends the data for its request; one cell is broken.
    unit = walk.visit("unit", "kirim-data", lambda p: p.get_by_label(said("submit.dataset")))
    choose(unit, box(unit, said("submit.request")), label)
    attach(unit, broken_file)
    unit.get_by_role("button", name=said("submit.send")).click()
    first = int(read_said(unit, "submit.sent", rows=150)["submission"])
    settle(unit)
    unit.get_by_text(f"#{first} · {broken_file.name} · {said('submission.sent')}").wait_for()

    # Step 2: Pusdatin's verifier receives it.
    verifier = walk.visit("verifikator", "terima-data", lambda p: p.locator(f".st-key-receive-{first}"))
    verifier.locator(f".st-key-receive-{first}").get_by_role("button").click()
    read_said(verifier, "inbox.received", submission=first)
    settle(verifier)

    # Step 3: the contract checks find the broken cell; the file cannot be accepted, so it goes
    # back to the unit with the reasons.
    verifier = walk.visit("verifikator", "verifikasi-data", said("verif.choose"))
    assert f"#{first} · sampling-pengujian" in selected(box(verifier, said("verif.choose")))
    verifier.get_by_role("button", name=said("verif.run")).click()
    found = read_said(verifier, "verif.invalid", rows=150)
    assert found["cells"] == "1"
    settle(verifier)
    assert verifier.get_by_role("button", name=said("verif.accept")).is_disabled()
    walk.snap("verifikator", "03-verifikasi-data-dikembalikan",
              verifier.get_by_text(said("verif.invalid", rows=150, cells=1)))
    verifier.get_by_label(said("verif.note")).fill(RETURN_NOTE)
    verifier.get_by_role("button", name=said("verif.return")).click()
    verifier.get_by_text(said("verif.returned")).wait_for()
    settle(verifier)

    # The unit reads why, takes exactly the failing row, and sends the fix.
    unit = walk.visit("unit", "kirim-data", said("submit.returned_reason", note=RETURN_NOTE))
    with unit.expect_download() as download, one_more_run(unit):  # a download reruns the page
        unit.get_by_role("button", name=said("submit.download_csv")).click()
    failing = Path(download.value.path()).read_text(encoding="utf-8-sig").strip().splitlines()
    assert len(failing) == 2 and "dua" in failing[1], failing
    walk.snap("unit", "02-kirim-data-dikembalikan",
              unit.get_by_text(said("submit.returned_reason", note=RETURN_NOTE)))
    choose(unit, box(unit, said("submit.fixes")), f"#{first} · sampling-pengujian · {broken_file.name}")
    attach(unit, good_file)
    unit.get_by_role("button", name=said("submit.send")).click()
    fix = int(read_said(unit, "submit.sent", rows=150)["submission"])
    settle(unit)

    # Steps 2 and 3 again: the fix is received, passes every check and is accepted.
    verifier = walk.visit("verifikator", "terima-data", lambda p: p.locator(f".st-key-receive-{fix}"))
    verifier.locator(f".st-key-receive-{fix}").get_by_role("button").click()
    read_said(verifier, "inbox.received", submission=fix)
    settle(verifier)
    verifier = walk.visit("verifikator", "verifikasi-data", said("verif.fixes", submission=first))
    verifier.get_by_role("button", name=said("verif.run")).click()
    verifier.get_by_text(said("verif.valid", rows=150)).wait_for()
    settle(verifier)
    verifier.get_by_label(said("verif.note")).fill("Sesuai kontrak.")
    verifier.get_by_role("button", name=said("verif.accept")).click()
    verifier.get_by_text(said("verif.accepted")).wait_for()
    settle(verifier)
    # The unit's returned file is closed by its accepted fix (folded away, nothing left to do).
    unit = walk.visit("unit", "kirim-data", said("submit.mine"))
    unit.get_by_text(said("submit.fixed_by", submission=fix, status=said("submission.verified"))
                     ).wait_for(state="attached")
    assert unit.get_by_text(said("submit.returned_reason", note=RETURN_NOTE)).count() == 0

    # Step 4: the analyst starts the mock-up from the request and sends it to the unit as it is.
    analyst = walk.visit("analis", "mockup", lambda p: p.get_by_role("button", name=said("mockup.start")))
    assert label in selected(box(analyst, said("mockup.choose")))
    analyst.get_by_role("button", name=said("mockup.start")).click()
    analyst.get_by_text(said("mockup.started", request=number)).wait_for()
    settle(analyst)
    assert f"title: {TITLE}" in analyst.get_by_label("YAML").input_value()
    analyst.locator(".vega-embed").first.wait_for()  # the live preview is drawn
    analyst.get_by_role("button", name=said("mockup.send")).click()
    analyst.get_by_text(said("mockup.sent", request=number)).wait_for()
    settle(analyst)

    # Step 5: the unit reviews it and asks for a change.
    unit = walk.visit("unit", "tinjau-mockup", said("review.tab_side"))
    pick(unit, said("review.choose"), label)
    unit.get_by_role("tab", name=said("review.tab_diff")).click()
    unit.locator("[data-testid=stCode]").filter(has_text=f"+title: {TITLE}").first.wait_for()
    unit.get_by_label(said("review.comment")).fill(CHANGE_REQUEST)
    unit.get_by_role("button", name=said("review.ask_changes")).click()
    unit.get_by_text(said("review.changes_sent")).wait_for()
    settle(unit)
    walk.beranda_shows("unit", label, "changes_requested")

    # Step 4 again: the analyst reads the unit's comment, revises the spec and sends it back.
    analyst = walk.visit("analis", "mockup", said_pattern("mockup.comment", text=CHANGE_REQUEST))
    editor = analyst.get_by_label("YAML")
    editor.fill(editor.input_value().replace(f"title: {TITLE}", f"title: {REVISED_TITLE}"))
    analyst.get_by_label(said("mockup.message")).fill("Judul sesuai permintaan unit")
    save = analyst.get_by_role("button", name=said("mockup.save"))
    expect(save).to_be_enabled()  # the edited text reached the server
    settle(analyst)
    save.click()
    analyst.get_by_text(said("mockup.saved")).wait_for()
    settle(analyst)
    assert f"title: {REVISED_TITLE}" in analyst.get_by_label("YAML").input_value()
    analyst.locator(".vega-embed").first.wait_for()
    walk.snap("analis", "04-buat-mockup", analyst.get_by_text(said("mockup.saved")))
    analyst.get_by_role("button", name=said("mockup.send")).click()
    analyst.get_by_text(said("mockup.sent", request=number)).wait_for()
    settle(analyst)

    # Step 5 again: the unit sees exactly what changed, and approves (a merge into main).
    unit = walk.visit("unit", "tinjau-mockup", said("review.tab_side"))
    pick(unit, said("review.choose"), label)
    unit.locator(".vega-embed").first.wait_for()
    walk.snap("unit", "05-tinjau-mockup")
    unit.get_by_role("tab", name=said("review.tab_diff")).click()
    unit.locator("[data-testid=stCode]").filter(has_text=f"+title: {REVISED_TITLE}").first.wait_for()
    unit.get_by_role("button", name=said("review.approve")).click()
    read_said(unit, "review.approved")
    settle(unit)
    walk.beranda_shows("unit", label, "approved")

    # Step 6: the analyst builds the approved dashboard.
    analyst = walk.visit("analis", "bangun", lambda p: p.get_by_role("button", name=said("build.publish")))
    assert label in selected(box(analyst, said("build.choose")))
    analyst.get_by_role("button", name=said("build.publish")).click()
    read_said(analyst, "build.done")
    settle(analyst)

    # Step 7: default data per stakeholder tier: a year for Kepala BPOM; a year of cosmetics
    # for Eselon II.
    analyst = walk.visit("analis", "klasifikasi",
                         lambda p: p.get_by_role("button", name=said("classify.save")))
    assert label in selected(box(analyst, said("classify.choose")))
    analyst.locator("[class*='-months-kepala_bpom'] input").fill("12")
    analyst.locator("[class*='-months-eselon_2'] input").fill("12")
    choose(analyst, analyst.locator("[class*='-filter-eselon_2-kategori_produk']"), "Kosmetik")
    analyst.get_by_role("button", name=said("classify.save")).click()
    read_said(analyst, "classify.done")
    settle(analyst)
    analyst.get_by_text(said("classify.current")).wait_for()
    walk.snap("analis", "06-klasifikasi")

    # Step 8: the preview per tier shows each what it will receive; then the dashboard goes on
    # display.
    analyst = walk.visit("analis", "tayangkan", lambda p: p.get_by_role("button", name=said("show.go")))
    analyst.locator("[data-testid=stMetricValue]").first.wait_for()
    for_kepala = figure(analyst)
    with one_more_run(analyst):
        analyst.get_by_text(said("tier.eselon_2"), exact=True).click()
    analyst.locator(".vega-embed").first.wait_for()
    assert 0 < figure(analyst) < for_kepala  # cosmetics only
    walk.snap("analis", "07-tayangkan")
    analyst.get_by_role("button", name=said("show.go")).click()
    read_said(analyst, "show.done")
    settle(analyst)

    # The head of BPOM opens it on the display page and gets what the preview promised; the head
    # of a UPT, outside its audience, is not offered it.
    kepala = walk.visit("kepala", "tampilan", said("display.choose"))
    pick(kepala, said("display.choose"), REVISED_TITLE)
    kepala.get_by_role("heading", name=REVISED_TITLE).wait_for()
    kepala.locator(".vega-embed").first.wait_for()
    assert figure(kepala) == for_kepala
    walk.snap("kepala", "08-tampilan-kepala")
    kabalai = walk.visit("kabalai", "tampilan", said("display.choose"))
    offered = options_of(kabalai, box(kabalai, said("display.choose")))
    assert offered and REVISED_TITLE not in offered, offered
    walk.beranda_shows("unit", label, "displayed")

    # Step 9: monitoring shows who opened it (the head of BPOM, one of the two people it is
    # meant for); the evaluation sends the letter.
    analyst = walk.visit("analis", "evaluasi", lambda p: p.get_by_label(said("evaluate.notes")))
    pick(analyst, said("evaluate.choose"), label)
    analyst.get_by_text(said("monitoring.never_opened", missing=1, audience=2)).wait_for()
    analyst.get_by_label(said("evaluate.notes")).fill(EVALUATION)
    walk.snap("analis", "09-evaluasi")
    analyst.get_by_role("button", name=said("evaluate.send")).click()
    letter = read_said(analyst, "evaluate.done")["number"]
    settle(analyst)

    # Step 10: the unit downloads the letter and confirms receipt; the request is complete.
    unit = walk.visit("unit", "penerimaan", f"{label} — {letter}")
    with unit.expect_download() as download, one_more_run(unit):
        unit.get_by_role("button", name=said("letter.download", number=letter)).click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    unit.get_by_label(said("receipt.note")).fill("Terima kasih.")
    unit.get_by_role("button", name=said("receipt.confirm")).click()
    unit.get_by_text(said("receipt.thanks")).wait_for()
    settle(unit)
    read_said(unit, "receipt.done", who="unit")
    walk.snap("unit", "10-penerimaan")
    walk.beranda_shows("unit", label, "received")
    walk.snap("unit", "11-beranda", walk.pages["unit"].get_by_text(label).last)
