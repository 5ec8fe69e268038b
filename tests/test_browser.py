"""The running app in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.i18n import t
from tests.browser_helpers import ARTIFACTS, launch, require_chromium, serve, settle
from tests.browser_helpers import login as _login

pytestmark = pytest.mark.browser


@pytest.fixture
def server(demo_home: Path, tmp_path: Path) -> Iterator[str]:
    """``streamlit run Home.py`` on a free local port, serving a private demo installation."""
    require_chromium()
    with serve(demo_home, tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def blank_page(server: str):  # noqa: ANN201 - playwright Page
    """A browser tab that has not opened the app yet (the server has run no page so far)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


@pytest.fixture
def page(blank_page, server: str):  # noqa: ANN001, ANN201 - playwright Page
    """A browser tab at the app's login page."""
    blank_page.goto(server)
    return blank_page


def test_kepala_logs_in_and_sees_the_dashboard_drawn(page, server, tmp_path):
    _login(page, "kepala")
    page.goto(f"{server}/tampilan")
    page.get_by_text("Pantauan Hasil Sampling dan Pengujian").first.wait_for()
    page.locator(".vega-embed").first.wait_for()
    settle(page)  # the first chart is drawn while the run still draws the others
    assert page.locator(".vega-embed").count() >= 3
    page.screenshot(path=str(tmp_path / "tampilan-kepala.png"), full_page=True)
    # Reloading a sub-page keeps the login (the cookie) and the page.
    page.reload()
    page.get_by_text("Pantauan Hasil Sampling dan Pengujian").first.wait_for()
    assert page.get_by_label("Kata sandi").count() == 0


def test_a_forbidden_page_cannot_be_reached_by_url(page, server):
    _login(page, "kabalai")
    page.goto(f"{server}/mockup")
    page.get_by_text("Page not found").first.wait_for()
    assert page.get_by_role("heading", name="Buat Mock-up").count() == 0
    assert page.get_by_text("YAML").count() == 0


def test_the_first_page_opened_after_a_start_carries_the_demo_label(blank_page, server):
    """The first run after a server start may run a page file straight from pages/ (Streamlit's
    older multipage mode) without the router; the page draws the label itself."""
    from playwright.sync_api import expect

    blank_page.goto(f"{server}/log")
    blank_page.get_by_label("Nama pengguna").fill("analis")
    blank_page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    blank_page.get_by_role("button", name="Masuk").click()
    blank_page.get_by_role("heading", name="Catatan Kegiatan").first.wait_for()
    # Until the login cookie's rerun ends, the run of the login form may still be on screen.
    expect(blank_page.get_by_text(t("app.demo_banner", "id"))).to_have_count(1, timeout=60_000)
    expect(blank_page.get_by_role("heading", name="Catatan Kegiatan")).to_have_count(1, timeout=60_000)


def _cookie(page, name: str = "ocenter_login") -> dict | None:  # noqa: ANN001
    return next((c for c in page.context.cookies() if c["name"] == name), None)


def test_before_login_the_sidebar_lists_no_pages_and_the_language_can_be_switched(blank_page, server):
    """Until a session calls st.navigation, Streamlit would list every file of pages/ in the
    sidebar (its older multipage mode): the login page calls it with the login page alone."""
    blank_page.goto(f"{server}/pengguna")  # the first page run after the server started
    blank_page.get_by_label("Nama pengguna").wait_for()
    blank_page.wait_for_timeout(1000)  # anything the first run still sends has arrived
    assert blank_page.locator("[data-testid=stSidebarNav]").count() == 0
    assert blank_page.get_by_text("pengguna", exact=True).count() == 0
    blank_page.get_by_text("English", exact=True).click()
    blank_page.get_by_label("Username").wait_for()
    assert blank_page.locator("[data-testid=stSidebarNav]").count() == 0


def test_the_language_switched_in_the_sidebar_stays_with_the_user_on_another_device(
        page, server, blank_page):
    _login(page, "kepala")
    page.locator("[data-testid=stSidebar]").get_by_text("English", exact=True).click()
    page.get_by_role("heading", name=t("page.beranda", "en")).first.wait_for()
    # Another browser (no cookie, no session): the login page is Indonesian, the app English.
    other = page.context.browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    other.goto(server)
    other.get_by_label("Nama pengguna").fill("kepala")
    other.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    other.get_by_role("button", name="Masuk").click()
    other.get_by_role("heading", name=t("page.beranda", "en")).first.wait_for()
    other.get_by_text(t("beranda.intro", "en")).first.wait_for()


def test_logout_ends_the_session_and_a_copied_cookie_opens_nothing(page, server, blank_page):
    import base64
    import json

    _login(page, "kepala")
    copied = _cookie(page)
    body = copied["value"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert set(claims) == {"sid", "exp"}  # the session id and its expiry, nothing of the user
    assert copied["sameSite"] == "Strict"
    page.reload()
    page.get_by_role("heading", name="Beranda").first.wait_for()  # the cookie logs back in ...

    page.get_by_role("button", name="Keluar").click()
    page.get_by_text(t("login.logged_out", "id")).wait_for()
    for _ in range(100):  # the component deletes the cookie once the logout's run arrives
        if _cookie(page) is None:
            break
        page.wait_for_timeout(100)
    assert _cookie(page) is None
    page.reload()
    page.get_by_label("Kata sandi").wait_for()  # ... but not after logout
    assert page.get_by_role("heading", name="Beranda").count() == 0

    # Whoever kept a copy of the cookie: another browser, the same signed session id.
    other = page.context.browser.new_context()
    other.add_cookies([copied])
    stolen = other.new_page()
    stolen.set_default_timeout(60_000)
    stolen.goto(server)
    stolen.get_by_text(t("login.session_ended", "id")).wait_for()
    stolen.get_by_label("Kata sandi").wait_for()
    assert stolen.get_by_role("heading", name="Beranda").count() == 0
    other.close()


def test_the_wall_screen_of_a_deactivated_account_shows_the_login_form_within_a_minute(
        page, server, demo_home):
    """The wall screen's dashboards rotate in a fragment, whose own runs skip the page's login
    check: the fragment checks the session itself."""
    from ocenter.accounts.admin import toggle_active
    from ocenter.accounts.login import authority_of
    from ocenter.context import open_context
    from tests.conftest import settings_for

    page.get_by_label("Nama pengguna").fill("layar")
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.locator(".vega-embed").first.wait_for()  # the wall: a dashboard, no page title
    ctx = open_context(settings_for(demo_home))
    try:
        toggle_active(ctx, authority_of(ctx.engine, "admin", production=False), "layar")
    finally:
        ctx.engine.dispose()
    # The wall's fragment runs every few seconds; nothing else happens on the page.
    page.get_by_text(t("login.account_deactivated", "id")).wait_for(timeout=120_000)
    page.get_by_label("Kata sandi").wait_for(timeout=30_000)  # the form follows its message
    assert page.get_by_label("Kata sandi").count() == 1
    assert page.locator(".vega-embed").count() == 0


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768)])
def test_the_wall_fits_the_screen_dark_and_without_menus(blank_page, server, demo_home, width, height):
    """On the wall screen's own 1920x1080, each demo dashboard fills the screen without
    scrolling; on a laptop it is the same wall, scrolled if need be. Screenshots are kept as
    test artefacts."""
    from ocenter.accounts.login import authority_of
    from ocenter.context import open_context
    from ocenter.procedure import wall
    from tests.conftest import settings_for

    page = blank_page
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server)
    page.get_by_label("Nama pengguna").fill("layar")
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    page.locator(".vega-embed").first.wait_for()
    ctx = open_context(settings_for(demo_home))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        analyst = authority_of(ctx.engine, "analis", production=False)
        for dashboard in ctx.store.snapshot("main").displayed_specs():
            wall.set_playlist(ctx, analyst, "layar", [wall.PlaylistEntry(dashboard_id=dashboard)])
            page.reload()
            page.locator(".vega-embed").first.wait_for()
            page.wait_for_timeout(3000)  # every tile of the dashboard has been drawn
            assert page.locator("[data-testid=stSidebar]").is_hidden()
            assert page.locator("[data-testid=stHeader]").is_hidden()
            assert page.locator(".ocenter-demo").is_visible()  # demo mode, said small in a corner
            background = page.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
            assert background == "rgb(11, 18, 32)"
            page.screenshot(path=str(ARTIFACTS / f"wall-{dashboard}-{width}x{height}.png"))
            if (width, height) == (1920, 1080):
                scrolled = page.evaluate("""() => {
                    const main = document.querySelector('[data-testid=stMain]') || document.scrollingElement;
                    return Math.max(main.scrollHeight, document.scrollingElement.scrollHeight);
                }""")
                assert scrolled <= height + 4, f"{dashboard} scrolls: {scrolled}px on {height}px"
    finally:
        ctx.engine.dispose()
