"""What the real-browser tests share: the app served on a free port, Debian's chromium, the login
form, and waiting for Streamlit's runs to end instead of sleeping."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from benchmarks import load_client
from ocenter.bootstrap import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where the browser tests keep their screenshots for people to look at (CI keeps the folder).
ARTIFACTS = Path(os.environ.get("OCENTER_TEST_ARTIFACTS", PROJECT_ROOT / "test-artifacts"))
#: Flags for a container with no GPU, no sandbox and no network beyond the app.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Counts the app's script runs: each time the app's root element leaves the "notRunning" state
#: (a widget changed, a button was pressed, ``st.rerun``), the counter goes up. A test reads it
#: before an action and waits for it to grow, so it never mistakes the end of the previous run
#: for the end of the one its action started.
RUN_COUNTER = """
window.__ocenterRuns = 0;
new MutationObserver((changes) => {
  for (const change of changes) {
    const state = change.target.getAttribute('data-test-script-state');
    if (change.oldValue === 'notRunning' && state !== 'notRunning') window.__ocenterRuns += 1;
  }
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""


def require_chromium() -> None:
    """Skip the test without Debian's chromium; fail it instead where CI demands the browser."""
    if not CHROMIUM.exists():
        if os.environ.get("OCENTER_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is missing (apt-get install chromium)")
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")


@contextlib.contextmanager
def serve(home: Path, log_path: Path) -> Iterator[str]:
    """``streamlit run Home.py`` on a free local port, serving the demo installation in ``home``;
    yields its address and stops it afterwards."""
    env = {**os.environ, "OCENTER_HOME": str(home), "OCENTER_MODE": "demo"}
    env.pop("DATABASE_URL", None)
    with log_path.open("w") as log:
        process, url = start_app(env, log)
    try:
        wait_until_healthy(url, process, log_path, seconds=60)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def start_app(env: dict[str, str], log: IO[str]) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run Home.py`` on a free local port for the installation ``env`` names,
    its output to ``log``; the process and its address (not answering yet: see
    :func:`wait_until_healthy`)."""
    port = load_client.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    return process, f"http://127.0.0.1:{port}"


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path, seconds: float) -> None:
    """Wait until the app at ``url`` answers its health check; fail the test with its log when
    the process ends first or ``seconds`` pass."""
    try:
        load_client.wait_until_healthy(url, process, seconds)
    except RuntimeError as problem:
        pytest.fail(f"the app did not start ({problem}): " + log_path.read_text())


def launch(playwright):  # noqa: ANN001, ANN201 - playwright objects
    """Debian's chromium, headless."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def login(page, username: str) -> None:  # noqa: ANN001 - playwright Page
    """Log in as a demo user on the login form the page shows, and wait for the login cookie."""
    submit_login(page, username)
    await_login(page)


def submit_login(page, username: str) -> None:  # noqa: ANN001 - playwright Page
    """Fill in the login form as a demo user and send it (``await_login`` waits for the answer)."""
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()


def await_login(page) -> None:  # noqa: ANN001 - playwright Page
    """Wait for the page after login, and for the login cookie."""
    page.get_by_role("heading", name="Beranda").first.wait_for()
    # The login cookie is set by a component after the page appears; a person would not type a
    # URL faster than that, so wait for it before opening pages by address.
    for _ in range(100):
        if any(c["name"] == "ocenter_login" for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the login cookie was never set")


def settle(page) -> None:  # noqa: ANN001 - playwright Page
    """Wait until the app's script run has ended (stale elements gone, the page as it stays)."""
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for()


def runs(page) -> int:  # noqa: ANN001 - playwright Page
    """How many script runs this page has started so far (``RUN_COUNTER``, which must be an
    init script of the page's context)."""
    return page.evaluate("window.__ocenterRuns")


@contextlib.contextmanager
def one_more_run(page) -> Iterator[None]:  # noqa: ANN001 - playwright Page
    """Wait, after the block's action, for the run it started to begin and then to end."""
    before = runs(page)
    yield
    page.wait_for_function("n => window.__ocenterRuns > n", arg=before)
    settle(page)


def open_list(box) -> None:  # noqa: ANN001 - playwright Locator
    """Open the list of a select box or multiselect ``box`` (Streamlit's react-aria combo box).

    A press on its button may come while another widget is still losing the focus and be
    taken by that; so it is pressed again until the box says its list is open.
    """
    from playwright.sync_api import TimeoutError as NotYet

    opened = box.locator("input[aria-expanded=true]")
    for _ in range(5):
        box.locator("button[aria-haspopup=listbox]").click()
        try:
            opened.wait_for(timeout=3_000)
            return
        except NotYet:
            continue
    raise AssertionError("the list of options never opened")


def choose(page, box, option: str) -> None:  # noqa: ANN001 - playwright Page and Locator
    """Pick ``option`` (its text, or a unique part of it) in a select box or multiselect, and
    close the list."""
    open_list(box)
    page.get_by_role("option", name=option).click()
    page.keyboard.press("Escape")  # a multiselect keeps its list open
