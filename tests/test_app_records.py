"""The records page through AppTest: a unit reads its own request's history, newest first, in its
language, and downloads the archive; another unit does not see the request at all."""

from __future__ import annotations

import io
import json
import zipfile

from ocenter import procedure
from ocenter.accounts.login import authority_of
from ocenter.events import action_text
from ocenter.i18n import t
from tests.test_app import _button, _login, _texts

DISPLAYED = 1  # the demo's displayed dashboard, requested by the direktur's unit


def test_the_unit_reads_its_requests_history_and_downloads_its_record(app, demo_ctx):
    analyst = authority_of(demo_ctx.engine, "analis", production=False)
    procedure.evaluate_dashboard(demo_ctx, analyst, DISPLAYED, "Dipakai rapat pimpinan.")
    at = _login(app, "direktur")
    at.switch_page("pages/arsip_permintaan.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="record_request").options[0].startswith(f"#{DISPLAYED} ·")
    [table] = [d.value for d in at.dataframe]
    assert list(table[t("col.action", "id")])[0] == action_text("dashboard.evaluated", "id")
    assert list(table[t("col.action", "id")])[-1] == action_text("request.filed", "id")
    assert list(table[t("col.step", "id")])[:1] == [9]
    assert not at.get("download_button")

    _button(at, "Siapkan arsip").click()
    at.run()
    assert not at.exception, at.exception
    assert any(f"Arsip permintaan #{DISPLAYED} siap" in s.value for s in at.success), _texts(at)
    assert len(at.get("download_button")) == 1
    prepared_for, made_as, data = at.session_state["record_zip"]
    assert (prepared_for, made_as.username) == (DISPLAYED, "direktur")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["request"] == DISPLAYED and manifest["exported_by"] == "direktur"
        assert any(p.startswith("05-evaluasi-dan-surat/surat-") for p in archive.namelist())


def test_another_unit_does_not_see_the_request(app):
    at = _login(app, "unit")
    at.switch_page("pages/arsip_permintaan.py").run()
    assert not at.exception, at.exception
    assert DISPLAYED not in at.selectbox(key="record_request").options
