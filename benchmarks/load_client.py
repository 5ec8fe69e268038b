"""A simulated user of the running app, speaking Streamlit's own WebSocket protocol, and the server
process it talks to (started, watched for memory and CPU, stopped); used by ``load_benchmark.py``
and its test.

A browser tab is one WebSocket to ``/_stcore/stream``: it sends a ``BackMsg`` whose
``rerun_script`` names the page (by its address on the first open, by the script hash the
server's ``navigation`` message gave for it afterwards, as a click in the menu does) and the
server streams ``ForwardMsg`` deltas until ``script_finished``. A page's time is from sending the
rerun to receiving ``script_finished``; what the page drew is read from the deltas, so a run that
showed the login form, an exception or "page not found" instead of its content is an error,
not a fast page. Nothing is drawn: 50 headless browsers on this 2-core machine would measure the
browsers, not the server.

The user logs in the honest way: the real use case (``accounts.authentication.authenticate``,
bcrypt and all) opens a login session in the same database, and the signed cookie that the login
form's component would have stored goes in the WebSocket handshake, where the app reads it from
``st.context.cookies``.

Only 127.0.0.1 is ever connected to: every entry point refuses any other host.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: The only host a load is sent to (README, "Load").
LOOPBACK = "127.0.0.1"
#: The demo users' password (README, "Demo users").
DEMO_PASSWORD = "ocenter-demo"  # noqa: S105 - demo mode only


def require_loopback(host: str) -> str:
    """``host`` if it is 127.0.0.1; anything else is refused before a byte is sent."""
    if host != LOOPBACK:
        raise ValueError(f"load is sent only to {LOOPBACK}, not to {host!r}")
    return host


# --- logging a simulated user in ---------------------------------------------------------------


def login_cookies(environ: Mapping[str, str], usernames: list[str]) -> tuple[str, list[str]]:
    """Open one login session per entry of ``usernames`` in the installation ``environ`` names
    (``OCENTER_HOME``, ``DATABASE_URL``), through the login form's own use case with the demo
    password; returns the cookie's name and each session's signed cookie value."""
    from ocenter.accounts.authentication import authenticate
    from ocenter.accounts.sessions import session_lifetime, session_token
    from ocenter.accounts.throttle import client_key
    from ocenter.config import load_settings
    from ocenter.context import open_context

    ctx = open_context(load_settings(dict(environ)))
    try:
        client = client_key(None, LOOPBACK, "")
        expires = ctx.clock.now() + session_lifetime(ctx)
        tokens = [session_token(authenticate(ctx, name, DEMO_PASSWORD, client),
                                ctx.settings.cookie_key, expires) for name in usernames]
        return ctx.settings.cookie_name, tokens
    finally:
        ctx.engine.dispose()


# --- one page run ------------------------------------------------------------------------------


@dataclass
class PageRun:
    """What one page open took and showed."""

    page: str  # the page's address ("" for the user's default page)
    started: float  # time.monotonic() when the rerun was sent
    ms: float  # until script_finished (or the failure)
    error: str | None = None  # why the run counts as failed; None when it showed its content
    headings: list[str] = field(default_factory=list)  # titles and headers drawn, in order
    elements: dict[str, int] = field(default_factory=dict)  # element kind -> how many
    bytes: int = 0  # ForwardMsg bytes received for the run

    @property
    def charts(self) -> int:
        return self.elements.get("vega_lite_chart", 0) + self.elements.get("arrow_vega_lite_chart", 0)


@dataclass(frozen=True)
class Expectation:
    """What a page must draw to count as shown: its title, and for the display some charts."""

    title: str
    min_charts: int = 0


class StreamlitUser:
    """One browser tab's WebSocket session, logged in by its cookie."""

    def __init__(self, port: int, cookie: tuple[str, str] | None, host: str = LOOPBACK,
                 timeout: float = 60.0) -> None:
        self.host = require_loopback(host)
        self.port = port
        self.cookie = cookie
        self.timeout = timeout
        self._socket = None
        self._page_hashes: dict[str, str] = {}  # address -> script hash, from `navigation`

    async def connect(self) -> None:
        import websockets

        headers = {"Cookie": f"{self.cookie[0]}={self.cookie[1]}"} if self.cookie else {}
        self._socket = await websockets.connect(
            f"ws://{self.host}:{self.port}/_stcore/stream", subprotocols=["streamlit"],
            additional_headers=headers, origin=f"http://{self.host}:{self.port}",
            max_size=None, open_timeout=self.timeout, ping_interval=None)
        self._page_hashes = {}

    async def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close()
            self._socket = None

    def _rerun(self, page: str) -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        state = message.rerun_script
        state.page_name = page
        state.page_script_hash = self._page_hashes.get(page, "")
        info = state.context_info
        info.url = f"http://{self.host}:{self.port}/{page}"
        info.timezone, info.timezone_offset, info.locale = "Asia/Jakarta", -420, "id-ID"
        return message.SerializeToString()

    async def open(self, page: str, expect: Expectation | None = None) -> PageRun:
        """Open ``page`` (its address; "" is the default page) and read the server's answer until
        the script finished; ``expect`` says what must be drawn for the run to count as shown."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.proto.TextInput_pb2 import TextInput

        started = time.monotonic()
        run = PageRun(page=page, started=started, ms=0.0)
        finished = ForwardMsg.ScriptFinishedStatus
        try:
            if self._socket is None:  # a new tab: its first page includes the connection
                await self.connect()
            await self._socket.send(self._rerun(page))
            deadline = started + self.timeout
            while True:
                data = await asyncio.wait_for(self._socket.recv(), max(0.01, deadline - time.monotonic()))
                run.bytes += len(data)
                message = ForwardMsg()
                message.ParseFromString(data)
                kind = message.WhichOneof("type")
                if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                    element = message.delta.new_element
                    what = element.WhichOneof("type")
                    run.elements[what] = run.elements.get(what, 0) + 1
                    if what == "heading":
                        run.headings.append(element.heading.body)
                    elif what == "exception":
                        run.error = run.error or f"exception: {element.exception.type or 'hidden'}"
                    elif what == "text_input" and element.text_input.type == TextInput.PASSWORD:
                        run.error = run.error or "login form"
                elif kind == "page_not_found":
                    run.error = run.error or "page not found"
                elif kind == "navigation":
                    self._page_hashes = {page.url_pathname: page.page_script_hash
                                         for page in message.navigation.app_pages}
                elif kind == "script_finished":
                    status = message.script_finished
                    if status == finished.FINISHED_EARLY_FOR_RERUN:
                        continue  # the page asked for a rerun of itself: the page is not shown yet
                    if status == finished.FINISHED_WITH_COMPILE_ERROR:
                        run.error = run.error or "compile error"
                    break
        except TimeoutError:
            run.error = "timeout"
        except Exception as failure:  # noqa: BLE001 - a dropped connection is a failed run, counted
            run.error = f"connection: {type(failure).__name__}"
        run.ms = (time.monotonic() - started) * 1000
        if run.error == "timeout" or (run.error or "").startswith("connection"):
            await self.close()  # a tab that lost its server reconnects, as a browser would
        elif run.error is None and expect is not None:
            if expect.title not in run.headings:
                run.error = "title missing"
            elif run.charts < expect.min_charts:
                run.error = "charts missing"
        return run


# --- the server ---------------------------------------------------------------------------------


def free_port(host: str = LOOPBACK) -> int:
    """A free port on ``host`` (loopback only): bound and closed again, so nothing listens there
    until a server takes it."""
    with socket.socket() as probe:
        probe.bind((require_loopback(host), 0))
        return probe.getsockname()[1]


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and of the children it waited for (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / _ticks()


def process_memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, resident peak) of ``pid`` in MB, from /proc/PID/status (VmRSS, VmHWM)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def wait_until_healthy(url: str, process: subprocess.Popen, seconds: float) -> None:
    """Wait until the Streamlit server ``process`` at ``url`` answers its health check; a
    ``RuntimeError`` when the process ends first or ``seconds`` pass (the one wait the tests and
    benchmarks that start the app share)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} stopped at start (exit code {process.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:  # noqa: S310 - our own server
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer {url}/_stcore/health in {seconds:.0f} s")


class AppServer:
    """``streamlit run Home.py`` on 127.0.0.1 for the installation ``environ`` names; always
    stopped on leaving the ``with`` block."""

    def __init__(self, environ: Mapping[str, str], log_path: Path, host: str = LOOPBACK,
                 start_timeout: float = 120.0, options: tuple[str, ...] = ()) -> None:
        self.host = require_loopback(host)
        self.options = tuple(f"--{option}" for option in options)  # e.g. runner.postScriptGC=true
        self.port = free_port(host)
        self.environ = dict(environ)
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> AppServer:
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "Home.py", "--server.headless=true",
                 f"--server.port={self.port}", f"--server.address={self.host}",
                 "--server.fileWatcherType=none", "--browser.gatherUsageStats=false", *self.options],
                cwd=REPO, env=self.environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        wait_until_healthy(f"http://{self.host}:{self.port}", self.process, self.start_timeout)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def watched(pid: int, every: float = 0.25) -> Iterator[dict[str, float]]:
    """While the block runs: the process's CPU seconds over the block's wall time, and its
    resident memory sampled every ``every`` seconds; the kernel's own peak (VmHWM) at the end."""
    import threading

    figures: dict[str, float] = {}
    stop = threading.Event()
    rss_start, _ = process_memory_mb(pid)
    samples = [rss_start]

    def sample() -> None:
        while not stop.wait(every):
            with contextlib.suppress(OSError, KeyError):
                samples.append(process_memory_mb(pid)[0])

    sampler = threading.Thread(target=sample, daemon=True)
    cpu_start, wall_start = process_cpu_seconds(pid), time.monotonic()
    sampler.start()
    try:
        yield figures
    finally:
        stop.set()
        sampler.join()
        wall = time.monotonic() - wall_start
        cpu = process_cpu_seconds(pid) - cpu_start
        _, peak = process_memory_mb(pid)
        figures.update(wall_s=wall, cpu_s=cpu, cpu_percent=100 * cpu / wall if wall else 0.0,
                       rss_start_mb=rss_start, rss_peak_sampled_mb=max(samples), rss_peak_mb=peak)
