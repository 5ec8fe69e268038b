"""How many runs of the app's script one page open costs, in a real browser: the server runs with
Streamlit's debug log, which writes "Running script" once per run; Chromium logs in as Kepala BPOM,
then opens pages by their address with the login cookie, as a reload or a bookmark does.

Usage: ``python benchmarks/page_runs.py`` (about half a minute). Target (issue 12): one run per
page open (the login cookie's component is drawn only while a cookie is to be set or deleted).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAGES = ("tampilan", "beranda", "tampilan")


def main() -> None:
    from playwright.sync_api import sync_playwright

    from benchmarks.load_client import LOOPBACK, free_port, wait_until_healthy
    from ocenter.bootstrap import DEMO_PASSWORD

    folder = Path(tempfile.mkdtemp(prefix="ocenter-page-runs-"))
    env = {**os.environ, "OCENTER_HOME": str(folder / "home"), "OCENTER_MODE": "demo", "DATABASE_URL": ""}
    subprocess.run([sys.executable, "-m", "ocenter", "init", "--demo"], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port, log_path = free_port(LOOPBACK), folder / "streamlit.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless=true",
             f"--server.port={port}", "--server.address=127.0.0.1", "--logger.level=debug",
             "--browser.gatherUsageStats=false"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, 60)

        def runs() -> int:
            return log_path.read_text(encoding="utf-8", errors="replace").count("Running script")

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.goto(url)
            page.get_by_label("Nama pengguna").fill("kepala")
            page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Masuk").click()
            page.get_by_role("heading", name="Beranda").first.wait_for()
            for _ in range(100):  # the login cookie is set by a component after the page appears
                if any(c["name"] == "ocenter_login" for c in page.context.cookies()):
                    break
                page.wait_for_timeout(100)
            page.wait_for_timeout(3000)
            print(f"login, its first page and the cookie: {runs()} script runs")
            for target in PAGES:
                before = runs()
                page.goto(f"{url}/{target}")
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(4000)
                print(f"open /{target} with the login cookie: {runs() - before} script run(s)")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
