"""The load benchmark's simulated user (benchmarks/load_client.py) against the real server: logged
in by a session opened through the login use case, it sees the display's dashboard and a step
page, not the login form; without the cookie it is told it got the login form. And no load is
ever sent anywhere but 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from benchmarks.load_benchmark import expectations
from benchmarks.load_benchmark import main as load_main
from benchmarks.load_client import AppServer, Expectation, StreamlitUser, login_cookies
from ocenter.i18n import t


def test_refuses_every_host_but_loopback(tmp_path: Path) -> None:
    for host in ("10.0.0.5", "192.168.1.10", "localhost", "example.org"):
        with pytest.raises(ValueError, match="127.0.0.1"):
            StreamlitUser(8501, None, host=host)
        with pytest.raises(ValueError, match="127.0.0.1"):
            AppServer({}, tmp_path / "server.log", host=host)
        with pytest.raises(SystemExit) as refused:
            load_main(["--host", host, "--db", "sqlite", "--duration", "1"])
        assert refused.value.code == 2  # argparse's refusal, before anything is installed
    with pytest.raises(SystemExit, match="127.0.0.1"):
        load_main(["--db", "postgres", "--postgres-admin-url", "postgresql+psycopg://postgres@10.1.2.3/test"])


def test_a_logged_in_user_sees_the_display_and_a_step_page_not_the_login_form(
    demo_home: Path, tmp_path: Path,
) -> None:
    environ = {**os.environ, "OCENTER_HOME": str(demo_home), "OCENTER_MODE": "demo"}
    environ.pop("DATABASE_URL", None)
    environ.pop("OCENTER_COOKIE_KEY", None)
    cookie_name, (kepala, verifikator) = login_cookies(environ, ["kepala", "verifikator"])
    wanted = expectations()

    async def visit(port: int) -> dict[str, object]:
        seen = {}
        user = StreamlitUser(port, (cookie_name, kepala), timeout=60)
        try:
            seen["display"] = await user.open("tampilan", wanted["tampilan"])
            seen["home"] = await user.open("", wanted[""])
            seen["display again"] = await user.open("tampilan", wanted["tampilan"])
        finally:
            await user.close()
        step = StreamlitUser(port, (cookie_name, verifikator), timeout=60)
        try:
            seen["step 3"] = await step.open("verifikasi-data", wanted["verifikasi-data"])
            # The same user asking for a page of another role is not shown it.
            seen["forbidden"] = await step.open("mockup", wanted["mockup"])
            # A page that drew itself but not what was expected counts as failed, not as fast.
            seen["no chart"] = await step.open("terima-data", Expectation(
                title=t("page.terima_data", "id"), min_charts=1))
            seen["other title"] = await step.open("terima-data", Expectation(title="Judul lain"))
        finally:
            await step.close()
        stranger = StreamlitUser(port, None, timeout=60)
        try:
            seen["no cookie"] = await stranger.open("tampilan", wanted["tampilan"])
        finally:
            await stranger.close()
        forged = StreamlitUser(port, (cookie_name, kepala[:-4] + "AAAA"), timeout=60)
        try:
            seen["forged cookie"] = await forged.open("tampilan", wanted["tampilan"])
        finally:
            await forged.close()
        return seen

    with AppServer(environ, tmp_path / "server.log") as server:
        seen = asyncio.run(visit(server.port))

    display = seen["display"]
    assert display.error is None, (display.error, display.headings)
    assert t("page.tampilan", "id") in display.headings
    assert "Pantauan Hasil Sampling dan Pengujian" in display.headings  # the demo's dashboard
    assert display.charts >= 1 and "text_input" not in display.elements
    assert seen["home"].error is None and t("page.beranda", "id") in seen["home"].headings
    assert seen["display again"].error is None and seen["display again"].charts == display.charts
    assert seen["step 3"].error is None
    assert t("page.verifikasi_data", "id") in seen["step 3"].headings
    assert seen["forbidden"].error is not None  # "page not found", then Beranda without the title
    assert t("page.mockup", "id") not in seen["forbidden"].headings
    assert seen["no chart"].error == "charts missing"
    assert seen["other title"].error == "title missing"
    for refused in ("no cookie", "forged cookie"):
        run = seen[refused]
        assert run.error == "login form", (refused, run.error, run.headings)
        assert run.charts == 0 and t("page.tampilan", "id") not in run.headings

