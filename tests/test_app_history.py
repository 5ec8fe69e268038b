"""The pages of steps 4 and 5 through AppTest: revision history, restore, and merge conflicts."""

from __future__ import annotations

import subprocess

import pytest

from ocenter import procedure
from ocenter.accounts.login import authority_of
from ocenter.context import AppContext
from ocenter.display.spec import spec_to_yaml
from ocenter.i18n import markdown_literal
from tests.test_app import _button, _login, _texts

DASHBOARD = "tren-temuan-kosmetik"  # the demo mock-up of request 2, reviewed by `unit`
PATH = f"specs/{DASHBOARD}.yaml"


@pytest.fixture
def ctx(demo_ctx: AppContext) -> AppContext:
    """The same installation the app runs on, to set the scene and check the store."""
    return demo_ctx


def _as(ctx: AppContext, username: str):  # noqa: ANN202
    return authority_of(ctx.engine, username, production=False)


def _parents(ctx: AppContext, commit: str) -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(ctx.settings.store_path), "log", "-1",
                          "--format=%P", commit], capture_output=True, text=True, check=True)
    return out.stdout.split()


def _reopen(ctx: AppContext) -> str:
    """The unit asks for changes on mock-up 2; returns its head."""
    head = ctx.store.head("mockup/req-2")
    procedure.request_changes(ctx, _as(ctx, "unit"), 2, head, "Ubah judulnya.")
    return head


def _save_title(ctx: AppContext, head: str, title: str) -> str:
    spec = ctx.store.snapshot(head).specs[DASHBOARD].model_copy(update={"title": title})
    return procedure.save_mockup(ctx, _as(ctx, "analis"), 2, spec, head, title)


def _main_gets_its_own_version(ctx: AppContext, title: str) -> str:
    """Meanwhile someone puts another version of the same dashboard on main."""
    spec = ctx.store.snapshot("mockup/req-2").specs[DASHBOARD].model_copy(update={"title": title})
    author = procedure.author_of(ctx, _as(ctx, "verifikator"))
    return ctx.store.commit_to_main({PATH: spec_to_yaml(spec)}, author, ctx.store.head(), title)


def test_the_analyst_sees_the_history_and_restores_an_earlier_version(app, ctx):
    start = _reopen(ctx)
    v2 = _save_title(ctx, start, "Tren Judul Kedua")
    at = _login(app, "analis")
    at.switch_page("pages/mockup.py").run()
    assert not at.exception, at.exception
    assert "Riwayat revisi" in [e.label for e in at.expander]
    [table] = [d.value for d in at.dataframe]
    assert list(table.columns) == ["Revisi", "Oleh", "Waktu", "Perubahan"]
    assert list(table["Revisi"]) == [v2[:8], start[:8]]
    assert table["Perubahan"][0] == "Tren Judul Kedua" and table["Waktu"][0].endswith("WIB")

    picker = at.selectbox(key=f"history-2-{v2}")
    assert picker.options[0].startswith(v2[:8])
    picker.set_value(start).run()
    assert any("-title: Tren Judul Kedua" in c.value for c in at.code)
    _button(at, "Pulihkan versi ini").click()
    at.run()
    assert not at.exception, at.exception
    assert any("dipulihkan" in s.value for s in at.success), _texts(at)
    head = ctx.store.head("mockup/req-2")
    assert _parents(ctx, head) == [v2]  # a new commit on top, nothing rewritten
    assert ctx.store.read_file(head, PATH) == ctx.store.read_file(start, PATH)


def test_the_analyst_is_shown_a_conflict_and_resolves_it(app, ctx):
    start = _reopen(ctx)
    main = _main_gets_its_own_version(ctx, "Versi Main")
    head = _save_title(ctx, start, "Versi Mock-up")  # the same line, differently
    at = _login(app, "analis")
    at.switch_page("pages/mockup.py").run()
    assert not at.exception, at.exception
    [warning] = [w.value for w in at.warning if "bertabrakan" in w.value]
    assert markdown_literal(PATH) in warning  # a path may be named anything: never Markdown
    codes = [c.value for c in at.code]
    assert any("title: Versi Main" in c for c in codes) and any("title: Versi Mock-up" in c for c in codes)
    assert _button(at, "Kirim ke unit untuk ditinjau").disabled

    area = at.text_area(key=f"resolve-2-{head}-{main}-{PATH}")
    assert "title: Versi Mock-up" in area.value  # prefilled with the mock-up's version
    area.set_value(area.value.replace("Versi Mock-up", "Versi Bersama"))
    _button(at, "Simpan penyelesaian").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Konflik diselesaikan" in s.value for s in at.success), _texts(at)
    assert not any("bertabrakan" in w.value for w in at.warning)
    resolved = ctx.store.head("mockup/req-2")
    assert _parents(ctx, resolved) == [head, main] and ctx.store.head() == main

    # The unit's approval is now a normal merge.
    procedure.send_mockup(ctx, _as(ctx, "analis"), 2)
    merge = procedure.approve_mockup(ctx, _as(ctx, "unit"), 2, resolved)
    assert _parents(ctx, merge) == [main, resolved]
    assert ctx.store.snapshot("main").specs[DASHBOARD].title == "Versi Bersama"


def test_a_clean_change_on_main_is_offered_as_an_update(app, ctx):
    start = _reopen(ctx)
    spec = ctx.store.snapshot("main").specs["pantauan-sampling-pengujian"]
    main = ctx.store.commit_to_main(
        {"specs/pantauan-sampling-pengujian.yaml": spec_to_yaml(spec.model_copy(update={"title": "Baru"}))},
        procedure.author_of(ctx, _as(ctx, "analis")), ctx.store.head(), "Judul baru",
    )
    at = _login(app, "analis")
    at.switch_page("pages/mockup.py").run()
    assert not at.exception, at.exception
    assert any(main[:8] in i.value for i in at.info)
    _button(at, "Perbarui dari main").click()
    at.run()
    assert not at.exception, at.exception
    assert any("perubahan terbaru dari main" in s.value for s in at.success), _texts(at)
    assert _parents(ctx, ctx.store.head("mockup/req-2")) == [start, main]


def test_the_reviewer_sees_the_history_and_cannot_approve_a_conflict(app, ctx):
    _main_gets_its_own_version(ctx, "Versi Main")  # request 2 stays in review
    at = _login(app, "unit")
    at.switch_page("pages/tinjau_mockup.py").run()
    assert not at.exception, at.exception
    assert any("bertabrakan" in w.value and markdown_literal(PATH) in w.value for w in at.warning)
    assert _button(at, "Setujui mock-up (merge)").disabled
    assert "Riwayat" in [tab.label for tab in at.tabs]
    [table] = [d.value for d in at.dataframe]
    assert list(table["Oleh"]) == [procedure.author_of(ctx, _as(ctx, "analis")).name]
