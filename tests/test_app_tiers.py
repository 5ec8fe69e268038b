"""Tiers through the pages (AppTest): step 7 opens on what is saved and saving it unchanged
records nothing; the display tells a viewer whose default narrows what they see."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ocenter import procedure
from ocenter.accounts.levels import Tier
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.i18n import t
from tests.conftest import APPTEST_TIMEOUT, PROJECT_ROOT

DASHBOARD = "tren-temuan-kosmetik"  # request 2's
LIFECYCLE = f"lifecycle/{DASHBOARD}.yaml"


def _open(username: str, page: str) -> AppTest:
    """A new session: logged in as ``username``, on ``page``."""
    at = AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=APPTEST_TIMEOUT)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(DEMO_PASSWORD)
    at.button[0].click()
    at.run()
    at.run()  # the cookie component's rerun after login, as in a browser
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _widget(widgets, suffix: str):  # noqa: ANN001, ANN202
    [found] = [w for w in widgets if w.key and w.key.endswith(suffix)]
    return found


def _form_values(at: AppTest) -> dict[str, object]:
    """What step 7's form holds: months and filters of every tier, by the end of each key."""
    values = {w.key.split("-", 3)[3]: w.value for w in at.number_input}
    values |= {w.key.split("-", 3)[3]: list(w.value) for w in at.multiselect}
    return values


@pytest.fixture
def built(app, demo_ctx, as_user) -> int:  # noqa: ARG001 - app: the environment AppTest reads
    procedure.approve_mockup(demo_ctx, as_user("unit"), 2,
                             demo_ctx.store.head(demo_ctx.store.mockup_branch(2)))
    procedure.build_dashboard(demo_ctx, as_user("analis"), 2)
    return 2


def test_step_7_opens_on_the_saved_defaults_and_saving_them_again_changes_nothing(demo_ctx, built):
    store = demo_ctx.store
    at = _open("analis", "pages/klasifikasi.py")
    tiers = _widget(at.multiselect, "-tiers")
    # The list starts from the request form's audience (Eselon I and II) and the approved spec's.
    assert {Tier.ESELON_1, Tier.ESELON_2} <= set(tiers.value)
    _widget(at.number_input, "-months-kepala_bpom").set_value(24)
    _widget(at.number_input, "-months-eselon_1").set_value(12)
    _widget(at.multiselect, "-filter-eselon_1-hasil_uji").set_value(["TMS"])
    _widget(at.multiselect, "-filter-eselon_2-kategori_produk").set_value(["kosmetik", "obat"])
    next(b for b in at.button if b.label == t("classify.save", "id")).click()
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    saved_at = store.head("main")
    saved = store.snapshot("main").lifecycle_of(DASHBOARD)
    assert saved.default_for(Tier.KEPALA_BPOM).months == 24
    assert saved.default_for(Tier.ESELON_1).months == 12
    assert [f.value for f in saved.default_for(Tier.ESELON_1).filters] == [["TMS"]]
    assert [f.value for f in saved.default_for(Tier.ESELON_2).filters] == [["kosmetik", "obat"]]
    before = _form_values(at)

    again = _open("analis", "pages/klasifikasi.py")  # opened again, in a new session
    reopened = _form_values(again)
    assert reopened == before
    assert reopened["months-kepala_bpom"] == 24 and reopened["months-eselon_1"] == 12
    assert reopened["filter-eselon_1-hasil_uji"] == ["TMS"]
    assert reopened["filter-eselon_2-kategori_produk"] == ["kosmetik", "obat"]
    assert reopened["filter-kepala_bpom-hasil_uji"] == []
    text = store.read_file(saved_at, LIFECYCLE)
    next(b for b in again.button if b.label == t("classify.save", "id")).click()
    again.run()
    assert not again.exception, again.exception
    assert not again.error, [e.value for e in again.error]
    assert store.head("main") == saved_at  # nothing new to record
    assert store.read_file(store.head("main"), LIFECYCLE) == text


def test_the_display_tells_a_narrowed_viewer_and_only_them(app):  # noqa: ARG001
    shown = {}
    for username in ("deputi", "kepala", "direktur"):
        at = _open(username, "pages/tampilan.py")
        at.selectbox[0].set_value("pantauan-sampling-pengujian").run()
        assert not at.exception, at.exception
        shown[username] = [e.value for e in at.text if "Tampilan bawaan" in e.value]
    assert shown == {
        "deputi": ["Tampilan bawaan: hanya Kategori produk: Pangan Olahan (24 bulan terakhir)"],
        "kepala": ["Tampilan bawaan: 24 bulan terakhir"],
        "direktur": [],  # Eselon II have no default: they see everything they may
    }


def test_step_8_previews_by_tier(demo_ctx, built, as_user):
    procedure.classify_defaults(demo_ctx, as_user("analis"), built, [
        procedure.default_from_form(Tier.ESELON_1, 12, {}, None, [])])
    at = _open("analis", "pages/tayangkan.py")
    profile = at.radio[0]
    # The tiers step 7 started from: request 2's audience and its approved spec's.
    assert profile.options == [t(f"tier.{tier.value}", "id") for tier in (
        Tier.KEPALA_BPOM, Tier.ESELON_1, Tier.ESELON_2, Tier.UNIT_STAFF, Tier.PUSDATIN, Tier.WALL_SCREEN)]
    profile.set_value(Tier.ESELON_1).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.text if "Tampilan bawaan" in e.value] == [
        "Tampilan bawaan: 12 bulan terakhir"]
