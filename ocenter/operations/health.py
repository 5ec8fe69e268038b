"""The operator's health check of one installation: is each part it depends on working now?

``check_health`` runs a fixed list of checks (database and its schema revision, spec store, its
mirror, the dataset folders, free disk, data freshness, failed tiles, unsent e-mails) and returns
each as ok, warning or failing with a measured value and a catalogue key. It is read by the
administrator's page (Kesehatan Sistem), by ``python -m ocenter health`` (exit code 0 / 1 / 2, for
cron, a systemd timer or a load balancer's readiness probe) and by nothing else.

Two promises: a check never runs longer than ``CHECK_SECONDS`` as seen by the caller (it runs in
a thread of its own and is reported failing when it has not answered), and a check that fails
never raises out of ``check_health`` and never says more than the class name of its error: an
error's text may hold a connection string with its password.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlmodel import Session, col, func, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.config import Settings
from ocenter.context import AppContext
from ocenter.database import open_engine
from ocenter.display.usage import TileFailure
from ocenter.errors import PermissionDenied, UserError
from ocenter.i18n import t
from ocenter.migrations import HEAD, known_revisions, stored_revision
from ocenter.models import DashboardRequest, DatasetVersion, Notification
from ocenter.procedure.monitoring import FreshnessStatus, freshness_of
from ocenter.store.git import _git_env
from ocenter.store.mirror import PENDING_MARKER
from ocenter.store.names import MAIN_REF
from ocenter.store.spec_store import SpecStore

#: Longest time one check may take before it is reported failing (it runs on in its thread).
CHECK_SECONDS = 10.0
#: A database round trip slower than this is a warning: every page makes dozens of them.
SLOW_DATABASE_MS = 500.0
#: Free space on OCENTER_HOME's file system below either figure is a warning: one accepted upload
#: is kept twice (original and Parquet), up to OCENTER_MAX_UPLOAD_MB each, and PostgreSQL or
#: SQLite, the store and the backups often share the disk.
WARNING_FREE_PERCENT, WARNING_FREE_GB = 10.0, 5.0
#: ... and below either of these it is failing: writes will soon end in "disk full".
FAILING_FREE_PERCENT, FAILING_FREE_GB = 2.0, 1.0
#: A change of the store may wait this long for its push before it is a warning (a push retries
#: with a pause of up to 5 minutes), and this long before the remote copy counts as failed.
MIRROR_WARNING_MINUTES, MIRROR_FAILING_HOURS = 15, 24
#: Failed tiles are looked for on today and the day before (days in Jakarta).
RENDER_DAYS = 2
#: Names listed in one message at most (the rest are counted).
MAX_NAMED = 5

_GB = 1024**3


class CheckStatus(StrEnum):
    """How one check came out, best first."""

    OK = "ok"
    WARNING = "warning"  # works, but someone should look soon
    FAILING = "failing"  # does not work: users are affected now or soon

    @property
    def exit_code(self) -> int:
        """The exit code of ``python -m ocenter health``: 0 ok, 1 warning, 2 failing."""
        return {CheckStatus.OK: 0, CheckStatus.WARNING: 1, CheckStatus.FAILING: 2}[self]


_ORDER = {CheckStatus.OK: 0, CheckStatus.WARNING: 1, CheckStatus.FAILING: 2}


class Check(BaseModel):
    """The result of one check."""

    name: str = Field(description="Stable id of the check; ``health.check.<name>`` is its title.",
                      examples=["database", "disk"])
    status: CheckStatus = Field(description="ok, warning or failing.")
    value: float | int | str | None = Field(
        description="What was measured, in ``unit``: a round trip, free space, a commit id, a "
        "count; None when nothing could be measured.", examples=[1.4, "3f9c2a1b7d0e"])
    unit: str = Field(default="", description="Unit of ``value`` (ms, GB, min; empty for counts "
                      "and ids).", examples=["ms", "GB"])
    message_key: str = Field(description="Catalogue key of what the check says.",
                             examples=["health.database.ok"])
    params: dict[str, str | int | float] = Field(
        default_factory=dict, description="Values the message needs. An error is only its class "
        "name here, never its text.")
    seconds: float = Field(description="How long the check took (at most ``CHECK_SECONDS``).")

    def message(self, lang: str) -> str:
        """What the check says, in ``lang``."""
        return t(self.message_key, lang, **self.params)


class HealthReport(BaseModel):
    """Every check of one installation at one moment."""

    checked_at: datetime = Field(description="When the checks started (UTC).")
    status: CheckStatus = Field(description="The worst status of the checks.")
    checks: list[Check] = Field(description="Each check, in a fixed order.")

    @property
    def exit_code(self) -> int:
        """0 when every check is ok, 1 when the worst is a warning, 2 when one is failing."""
        return self.status.exit_code


class _Outcome(BaseModel):
    """What a check function returns; ``check_health`` adds its name and duration."""

    status: CheckStatus
    key: str
    value: float | int | str | None = None
    unit: str = ""
    params: dict[str, str | int | float] = Field(default_factory=dict)


def _ok(key: str, value: float | int | str | None = None, unit: str = "", **params) -> _Outcome:  # noqa: ANN003
    return _Outcome(status=CheckStatus.OK, key=key, value=value, unit=unit, params=params)


def _warning(key: str, value: float | int | str | None = None, unit: str = "", **params) -> _Outcome:  # noqa: ANN003
    return _Outcome(status=CheckStatus.WARNING, key=key, value=value, unit=unit, params=params)


def _failing(key: str, value: float | int | str | None = None, unit: str = "", **params) -> _Outcome:  # noqa: ANN003
    return _Outcome(status=CheckStatus.FAILING, key=key, value=value, unit=unit, params=params)


# --- the checks -------------------------------------------------------------------------------


def database_location(url: URL) -> str:
    """Where ``url`` points, without user or password: host:port/name, or the SQLite file."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{host}{port}/{url.database or ''}"


def _check_database(ctx: AppContext) -> _Outcome:
    url = ctx.engine.url
    params: dict[str, str | int | float] = {"dialect": url.get_backend_name(),
                                            "where": database_location(url)}
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return _failing("health.database.missing", **params)  # connecting would make it
    started = time.perf_counter()
    try:
        with ctx.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
            ms = round((time.perf_counter() - started) * 1000, 1)
            tables = inspect(connection).has_table(DashboardRequest.__tablename__)
            revision = stored_revision(connection) if tables else None
    except Exception as error:  # noqa: BLE001 - said by its class only: its text has the URL
        return _failing("health.database.unreachable", error=type(error).__name__, **params)
    if not tables:
        return _failing("health.database.no_tables", ms, "ms", **params)
    params["ms"] = ms
    if revision != HEAD:
        # The app's schema and the database's differ: the pages would fail on a missing column,
        # or write rows a newer app does not expect. Said here before a user meets it.
        params.update(revision=revision or "-", head=HEAD)
        if revision is None:  # made before migrations: adopted at the app's next start
            return _warning("health.database.unversioned", revision, **params)
        if revision not in known_revisions():
            return _failing("health.database.newer", revision, **params)
        return _failing("health.database.behind", revision, **params)
    if ms > SLOW_DATABASE_MS:
        return _warning("health.database.slow", ms, "ms", limit=SLOW_DATABASE_MS, **params)
    return _ok("health.database.ok", ms, "ms", **params)


def _git(store_path: Path, args: list[str], timeout: float) -> subprocess.CompletedProcess[bytes]:
    """Read-only git in the store, with a time limit (the store's own ``_run`` has none)."""
    return subprocess.run(
        ["git", f"--git-dir={store_path}", *args], stdin=subprocess.DEVNULL, capture_output=True,
        env=_git_env(None), cwd=store_path, timeout=timeout, check=False)


def _check_store(ctx: AppContext) -> _Outcome:
    path = ctx.settings.store_path
    if not (path / "HEAD").is_file():
        return _failing("health.store.missing")
    listed = _git(path, ["for-each-ref", "--format=%(objectname) %(refname)"], CHECK_SECONDS)
    if listed.returncode != 0:  # a ref naming an object that is gone
        return _failing("health.store.broken_refs")
    refs = dict(line.split(" ", 1)[::-1] for line in listed.stdout.decode().splitlines())
    # Each ref's commit and its root tree must be readable: "git fsck"-light, in one process.
    wanted = "".join(f"{oid}^{{tree}}\n" for oid in refs.values()).encode()
    found = subprocess.run(
        ["git", f"--git-dir={path}", "cat-file", "--batch-check"], input=wanted,
        capture_output=True, env=_git_env(None), cwd=path, timeout=CHECK_SECONDS, check=False)
    answers = found.stdout.decode().splitlines()
    broken = [line for line in answers if line.split(" ")[1:2] != ["tree"]]
    if found.returncode != 0 or broken or len(answers) != len(refs):
        return _failing("health.store.broken_refs")
    main = refs.get(MAIN_REF)
    if main is None:
        return _warning("health.store.no_main", len(refs), refs=len(refs))
    return _ok("health.store.ok", main[:12], commit=main[:12], refs=len(refs))


def _check_mirror(ctx: AppContext) -> _Outcome:
    remote = ctx.settings.store_remote
    if not remote:
        return _ok("health.mirror.off")
    status = ctx.mirror  # this process's pusher (None in a command: the marker still tells)
    try:
        since = (ctx.settings.store_path / PENDING_MARKER).stat().st_mtime
    except FileNotFoundError:
        since = None
    if since is None and not (status and status.pending):
        return _ok("health.mirror.current", 0, "min")
    minutes = int(max(0.0, time.time() - since) // 60) if since is not None else 0
    failures = status.failures if status is not None else 0
    if minutes >= MIRROR_FAILING_HOURS * 60:
        return _failing("health.mirror.stuck", minutes, "min", minutes=minutes, failures=failures)
    if minutes >= MIRROR_WARNING_MINUTES or failures:
        return _warning("health.mirror.behind", minutes, "min", minutes=minutes, failures=failures)
    return _ok("health.mirror.pending", minutes, "min", minutes=minutes)


def _probe(folder: Path) -> None:
    """List ``folder``, then write, read back and delete a small file in it."""
    os.listdir(folder)
    probe = folder / f".ocenter-health-{uuid.uuid4().hex}.probe"
    try:
        with open(probe, "xb") as handle:
            handle.write(b"ocenter health probe\n")
            handle.flush()
            os.fsync(handle.fileno())
        if probe.read_bytes() != b"ocenter health probe\n":
            raise OSError("the probe read back differs")
    finally:
        probe.unlink(missing_ok=True)


def _check_storage(ctx: AppContext) -> _Outcome:
    folders = {"datasets": ctx.home / "datasets", "uploads": ctx.uploads_dir}
    for name, folder in folders.items():
        if folder.is_dir():
            target = folder
        elif not folder.exists() and folder.parent.is_dir():
            target = folder.parent  # datasets/ is made by the first accepted upload
        else:
            return _failing("health.storage.missing", folder=name)
        try:
            _probe(target)
        except OSError as error:
            return _failing("health.storage.failing", folder=name, error=type(error).__name__)
    bucket = ctx.bucket
    if bucket is not None:  # the folders are a cache; the bucket holds what replicas share
        try:
            bucket.probe()
        except UserError:
            return _failing("storage.bucket_failing", bucket=bucket.describe())
        return _ok("storage.bucket_ok", len(folders) + 1, folders=", ".join(folders),
                   bucket=bucket.describe())
    return _ok("health.storage.ok", len(folders), folders=", ".join(folders))


def disk_status(free: int, total: int) -> CheckStatus:
    """ok, warning or failing for ``free`` of ``total`` bytes (see the limits above)."""
    percent = 100.0 * free / total if total else 0.0
    if percent < FAILING_FREE_PERCENT or free < FAILING_FREE_GB * _GB:
        return CheckStatus.FAILING
    if percent < WARNING_FREE_PERCENT or free < WARNING_FREE_GB * _GB:
        return CheckStatus.WARNING
    return CheckStatus.OK


def _check_disk(ctx: AppContext) -> _Outcome:
    usage = shutil.disk_usage(ctx.home)
    free_gb = round(usage.free / _GB, 1)
    percent = round(100.0 * usage.free / usage.total, 1) if usage.total else 0.0
    status = disk_status(usage.free, usage.total)
    key = {CheckStatus.OK: "health.disk.ok", CheckStatus.WARNING: "health.disk.low",
           CheckStatus.FAILING: "health.disk.full"}[status]
    return _Outcome(status=status, key=key, value=free_gb, unit="GB",
                    params={"free_gb": free_gb, "percent": percent,
                            "total_gb": round(usage.total / _GB, 1)})


def _named(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" (+{len(names) - MAX_NAMED})" if len(names) > MAX_NAMED else "")


def _check_freshness(ctx: AppContext) -> _Outcome:
    if ctx.store.head() is None:
        return _ok("health.freshness.none", 0)
    contracts = ctx.store.snapshot("main").contracts
    with Session(ctx.engine) as session:
        accepted = dict(session.exec(
            select(DatasetVersion.dataset_id, func.max(DatasetVersion.accepted_at))
            .group_by(DatasetVersion.dataset_id)).all())
    today = ctx.clock.today()
    # The same rule as step 9's monitoring of each dashboard (procedure.monitoring).
    found = [freshness_of(dataset_id, contract.cadence_days, accepted.get(dataset_id), today)
             for dataset_id, contract in sorted(contracts.items())]
    watched = [f for f in found if f.cadence_days]
    late = [f for f in watched if f.status == FreshnessStatus.LATE]
    if late:
        names = [f"{f.dataset_id} ({f.age_days - f.cadence_days})" for f in late]
        return _warning("health.freshness.late", len(late), datasets=_named(names),
                        late=len(late), watched=len(watched))
    if not watched:
        return _ok("health.freshness.none", 0)
    waiting = sum(f.status == FreshnessStatus.NO_DATA for f in watched)
    return _ok("health.freshness.ok", 0, watched=len(watched), waiting=waiting)


def _check_renders(ctx: AppContext) -> _Outcome:
    first = ctx.clock.today() - timedelta(days=RENDER_DAYS - 1)
    with Session(ctx.engine) as session:
        rows = session.exec(select(TileFailure).where(TileFailure.day >= first)
                            .order_by(col(TileFailure.dashboard_id), col(TileFailure.panel_id))).all()
    if not rows:
        return _ok("health.renders.ok", 0)
    tiles = sorted({(r.dashboard_id, r.panel_id) for r in rows})
    names = sorted({f"{r.dashboard_id}/{r.panel_id} ({r.kind.value})" for r in rows})
    return _warning("health.renders.failed", len(tiles), tiles=len(tiles), names=_named(names),
                    failures=sum(r.failures for r in rows))


def _check_notifications(ctx: AppContext) -> _Outcome:
    with Session(ctx.engine) as session:
        unsent = session.exec(select(func.count()).select_from(Notification).where(
            col(Notification.emailed_at).is_(None), col(Notification.email_error).is_not(None))).one()
    if unsent:
        return _warning("health.notifications.failed", int(unsent), count=int(unsent))
    return _ok("health.notifications.ok", 0)


#: The checks, in the order they are shown; those after the database need it.
_INDEPENDENT: tuple[tuple[str, Callable[[AppContext], _Outcome]], ...] = (
    ("database", _check_database), ("store", _check_store), ("mirror", _check_mirror),
    ("storage", _check_storage), ("disk", _check_disk),
)
_NEED_DATABASE: tuple[tuple[str, Callable[[AppContext], _Outcome]], ...] = (
    ("freshness", _check_freshness), ("renders", _check_renders),
    ("notifications", _check_notifications),
)
#: Every check's name, in order.
CHECK_NAMES = tuple(name for name, _ in _INDEPENDENT + _NEED_DATABASE)


# --- running them -----------------------------------------------------------------------------


class _Running:
    """One check in a daemon thread of its own: a hung connection cannot hold up the report,
    nor keep a command from exiting."""

    def __init__(self, name: str, run: Callable[[AppContext], _Outcome], ctx: AppContext) -> None:
        self.name = name
        self._run, self._ctx = run, ctx
        self._outcome: _Outcome | None = None
        self._started = time.perf_counter()
        self._thread = threading.Thread(target=self._body, name=f"ocenter-health-{name}", daemon=True)
        self._thread.start()

    def _body(self) -> None:
        try:
            self._outcome = self._run(self._ctx)
        except BaseException as error:  # noqa: BLE001 - any failure is the check's result
            # Only the class: the text of a database error holds the connection string.
            self._outcome = _failing("health.error", error=type(error).__name__)

    def result(self, timeout: float) -> Check:
        self._thread.join(max(0.0, self._started + timeout - time.perf_counter()))
        outcome = self._outcome
        if outcome is None:
            outcome = _failing("health.timeout", seconds=timeout)
        return Check(name=self.name, status=outcome.status, value=outcome.value, unit=outcome.unit,
                     message_key=outcome.key, params=outcome.params,
                     seconds=round(min(time.perf_counter() - self._started, timeout), 3))


def check_health(ctx: AppContext, timeout: float = CHECK_SECONDS) -> HealthReport:
    """Run every check of the installation ``ctx``, each within ``timeout`` seconds; never raises.

    The checks that read the database run only when the database answered: otherwise they are
    failing with ``health.needs_database`` rather than each waiting for it in turn.
    """
    checked_at = ctx.clock.now()
    running = [_Running(name, run, ctx) for name, run in _INDEPENDENT]
    checks = [running[0].result(timeout)]
    if checks[0].status == CheckStatus.FAILING:
        dependent = [None for _ in _NEED_DATABASE]
    else:
        dependent = [_Running(name, run, ctx) for name, run in _NEED_DATABASE]
    checks += [r.result(timeout) for r in running[1:]]
    for (name, _run), waiting in zip(_NEED_DATABASE, dependent, strict=True):
        if waiting is None:
            checks.append(Check(name=name, status=CheckStatus.FAILING, value=None,
                                message_key="health.needs_database", seconds=0.0))
        else:
            checks.append(waiting.result(timeout))
    worst = max((c.status for c in checks), key=_ORDER.__getitem__)
    return HealthReport(checked_at=checked_at, status=worst, checks=checks)


def installation_health(ctx: AppContext, actor: Authority) -> HealthReport:
    """``check_health`` for the administrator's page; other roles are refused."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied("health.forbidden")
    return check_health(ctx)


def health_context(settings: Settings, connect_seconds: int = 5) -> AppContext:
    """The installation of ``settings`` opened for a health check only: nothing is created or
    changed (``context.open_context`` creates tables and folders and starts the mirror), and a
    PostgreSQL server that does not answer is given up after ``connect_seconds``."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(connect_seconds)})
    engine: Engine = open_engine(url.render_as_string(hide_password=False))
    return AppContext(settings=settings, engine=engine, store=SpecStore(settings.store_path))
