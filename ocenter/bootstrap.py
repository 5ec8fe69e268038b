"""First start of an installation: folders, database (with the working-day calendar's seed), store,
and (in demo mode) the demo content.

Every part is idempotent, so ``python -m ocenter init --demo`` and the app's own first start can
run any number of times without duplicating or changing what is already there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.authority import Authority
from ocenter.accounts.grants import record_grant
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.accounts.login import hash_password
from ocenter.clock import SYSTEM_CLOCK, Clock
from ocenter.config import Settings
from ocenter.context import AppContext, open_context
from ocenter.display.spec import spec_from_yaml
from ocenter.errors import Conflict, UserError
from ocenter.events import record
from ocenter.models import (
    DashboardGrant,
    DashboardRequest,
    DatasetVersion,
    RequestStatus,
    Unit,
    UnitKind,
    User,
)
from ocenter.reference import reference_rows
from ocenter.store.models import Author
from ocenter.store.names import load_folder

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "ocenter-demo"  # noqa: S105 - demo mode only; production refuses demo users
DEMO_DATASET = "sampling-pengujian"
DEMO_DASHBOARD = "pantauan-sampling-pengujian"
#: UPT of the demo that have not sent the newest month yet (the completeness view shows them).
DEMO_LATE_SENDERS = 3
DEMO_MOCKUP_FILE = Path(__file__).with_name("demo_mockup.yaml")
SYSTEM_AUTHOR = Author(username="pusdatin", name="Pusdatin Operational Center")


def demo_upt_code() -> str:
    """The UPT the demo's regional users belong to: the Balai Besar POM in West Java (Bandung)."""
    rows = reference_rows("upt")
    return next((r["code"] for r in rows if r["province_code"] == "32" and r["kind"] == "bbpom"),
                rows[0]["code"])


def demo_users() -> list[dict]:
    """One demo user per role, as the README lists them."""
    upt = demo_upt_code()
    L, S = Level, ScopeKind  # noqa: N806 - short aliases keep the table readable
    return [
        dict(username="kepala", name="Kepala BPOM", role=Role.KEPALA, unit_code=None,
             clearance=L.SANGAT_RAHASIA, scope=S.BPOM),
        dict(username="deputi", name="Deputi Bidang Pengawasan Pangan Olahan", role=Role.DEPUTI,
             unit_code=None, clearance=L.RAHASIA, scope=S.BPOM),
        dict(username="direktur", name="Direktur Pengawasan Peredaran Pangan Olahan",
             role=Role.DIREKTUR, unit_code="DIT-WAS-EDAR-PANGAN", clearance=L.RAHASIA,
             scope=S.UNIT),
        dict(username="kabalai", name="Kepala Balai Besar POM di Bandung", role=Role.KABALAI,
             unit_code=upt, clearance=L.RAHASIA, scope=S.UPT),
        dict(username="tamu", name="Tamu Berwenang (Mitra)", role=Role.TAMU, unit_code=None,
             clearance=L.TERBATAS, scope=S.GRANT),
        dict(username="analis", name="Analis Data Pusdatin", role=Role.ANALIS,
             unit_code="PUSDATIN", clearance=L.RAHASIA, scope=S.BPOM),
        dict(username="verifikator", name="Verifikator Data Pusdatin", role=Role.VERIFIKATOR,
             unit_code="PUSDATIN", clearance=L.RAHASIA, scope=S.BPOM),
        dict(username="unit", name="Staf Direktorat Pengawasan Kosmetik", role=Role.UNIT,
             unit_code="DIT-WAS-KOSMETIK", clearance=L.TERBATAS, scope=S.UNIT),
        dict(username="pppomn", name="Pengelola Data PPPOMN", role=Role.UNIT, unit_code="PPPOMN",
             clearance=L.RAHASIA, scope=S.UNIT),
        dict(username="upt", name="Staf Balai Besar POM di Bandung", role=Role.UPT, unit_code=upt,
             clearance=L.TERBATAS, scope=S.UPT),
        dict(username="mitra", name="Petugas Data BPS", role=Role.MITRA, unit_code="BPS",
             clearance=L.TERBUKA, scope=S.GRANT),
        dict(username="admin", name="Administrator OCenter", role=Role.ADMIN, unit_code="PUSDATIN",
             clearance=L.TERBATAS, scope=S.BPOM),
        dict(username="layar", name="Layar Operational Center", role=Role.LAYAR, unit_code=None,
             clearance=L.RAHASIA, scope=S.BPOM),
    ]


def seed_units(ctx: AppContext) -> None:
    """Central units, Pusdatin, the UPT and external agencies, from the shipped reference lists."""
    import csv

    with (Path(__file__).with_name("reference") / "unit_pusat.csv").open(encoding="utf-8") as fh:
        central = list(csv.DictReader(fh))
    with Session(ctx.engine) as session:
        known = set(session.exec(select(Unit.code)).all())
        for row in central:
            if row["code"] not in known:
                session.add(Unit(code=row["code"], name=row["name"], kind=UnitKind(row["kind"])))
        for row in reference_rows("upt"):
            if row["code"] not in known:
                session.add(Unit(code=row["code"], name=row["name"], kind=UnitKind.UPT,
                                 province_code=row["province_code"]))
        session.commit()


def seed_demo_users(ctx: AppContext) -> None:
    """The demo users, each with the demo password, marked as demo (refused in production)."""
    password_hash = hash_password(DEMO_PASSWORD)
    with Session(ctx.engine) as session:
        known = set(session.exec(select(User.username)).all())
        for data in demo_users():
            if data["username"] not in known:
                session.add(User(password_hash=password_hash, is_demo=True,
                                 email=f"{data['username']}@demo.pom.go.id", **data))
        session.commit()


#: The demo's authorised party: ``tamu`` sees the national summary, for a year from the first start.
DEMO_GRANT = dict(
    username="tamu", dashboard_id="ringkasan-pengawasan-nasional",
    reason="Mitra pengawasan memantau ringkasan nasional sampling dan pengujian untuk koordinasi "
           "lintas sektor (contoh demo).",
)
DEMO_GRANT_DAYS = 365


def seed_demo_grants(ctx: AppContext) -> None:
    """Grant ``tamu`` the national summary until about a year after the clock's today, once: a
    grant of it that exists in any state (also revoked or ended) is left as it is."""
    with Session(ctx.engine) as session:
        present = session.exec(
            select(DashboardGrant.id).where(DashboardGrant.username == DEMO_GRANT["username"],
                                            DashboardGrant.dashboard_id == DEMO_GRANT["dashboard_id"])
        ).first()
        if present is not None or session.get(User, DEMO_GRANT["username"]) is None:
            return
        grant = DashboardGrant(**DEMO_GRANT, granted_by="system", granted_at=ctx.clock.now(),
                               expires_on=ctx.clock.today() + timedelta(days=DEMO_GRANT_DAYS))
        session.add(grant)
        record_grant(session, grant)
        session.commit()


def seed_store(ctx: AppContext, *, demo: bool) -> None:
    """Start main the first time only: with the project's specs/, data_contracts/ and
    lifecycle/ in demo mode, with only a README (the layout) in production, where units bring
    their own contracts."""
    if ctx.store.head("main") is not None:
        return
    files = {"README.md": STORE_README}
    if demo:
        files |= load_folder(PROJECT_ROOT)
    ctx.store.seed(SYSTEM_AUTHOR, files, "Isi awal Operational Center")


def move_lifecycle_out_of_specs(ctx: AppContext) -> str | None:
    """Stores begun before steps 6-8 had records of their own kept that state in the specs on
    main (``published``, ``on_display``, ``defaults``), where specs may no longer hold it: move
    it into ``lifecycle/<id>.yaml`` in one commit on main, so that what was on display stays
    on display. Idempotent; returns the commit, or None when there was nothing to move (or
    another process moved it first). A spec that does not read even without those keys is
    left as it is, for ``validate-store`` to name."""
    import yaml
    from pydantic import ValidationError

    from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_to_yaml
    from ocenter.display.spec import LIFECYCLE_KEYS, DashboardSpec, spec_to_yaml
    from ocenter.store.names import lifecycle_path
    from ocenter.yamlfiles import load_yaml

    if ctx.store.head("main") is None:
        return None
    main = ctx.store.snapshot("main")
    files: dict[str, str | None] = {}
    for path in main.problems:
        folder, _, name = path.partition("/")
        if folder != "specs" or main.specs.get(name.removesuffix(".yaml")) is not None:
            continue
        try:
            data = load_yaml(ctx.store.read_file(main.commit, path) or "")
            state = {key: data.pop(key) for key in LIFECYCLE_KEYS if key in data}
            if not state:
                continue
            spec = DashboardSpec.model_validate(data)
            on_display = bool(state.get("on_display"))
            defaults = state.get("defaults") or []
            classified = bool(state.get("classified")) or on_display or bool(defaults)
            lifecycle = DashboardLifecycle(
                id=spec.id, built=bool(state.get("built") or state.get("published")) or classified,
                classified=classified, defaults=defaults, on_display=on_display,
            )
        except (yaml.YAMLError, ValidationError, UserError, ValueError, TypeError, AttributeError):
            continue
        if path != f"specs/{spec.id}.yaml":
            continue
        files[path] = spec_to_yaml(spec)
        files[lifecycle_path(spec.id)] = lifecycle_to_yaml(lifecycle)
    if not files:
        return None
    try:
        commit = ctx.store.commit_to_main(
            files, SYSTEM_AUTHOR, main.commit,
            "Pindahkan langkah 6-8 dari spesifikasi dasbor ke lifecycle/",
        )
    except Conflict:
        return None  # main moved meanwhile: the next start looks again
    with Session(ctx.engine) as session:
        record(session, "system", "store.lifecycle_moved", outcome="ok",
               detail=f"{commit}: {', '.join(sorted(p for p in files if p.startswith('specs/')))}"[:500])
        session.commit()
    return commit


STORE_README = """# Operational Center spec store

- `specs/<dashboard-id>.yaml`: approved dashboard specs (main is the approved state).
- `data_contracts/<dataset-id>.yaml`: approved data contracts.
- `lifecycle/<dashboard-id>.yaml`: steps 6-8 of each dashboard (built, default data, on display),
  written only by those steps on main.
- `mockup/req-<request-id>` branches: mock-ups under review; a merge into main is an approval,
  and may change only the request's own `specs/<dashboard-id>.yaml`.
- `contract/<dataset-id>-<n>` branches: proposed changes to a data contract, merged after the
  owner unit and Pusdatin both approved.

Check any revision with `python -m ocenter validate-store PATH [--rev REV]`.
"""


def _authority(ctx: AppContext, username: str) -> Authority:
    from ocenter.accounts.login import authority_of

    authority = authority_of(ctx.engine, username, production=False)
    assert authority is not None, username
    return authority


def seed_demo_data(ctx: AppContext, progress: Callable[[str], None] = print) -> None:
    """Build the demo dataset the way the Operational Center receives it: one file per UPT for
    its region, sent, received, verified and accepted through the real steps 1-3 and integrated
    partition by partition. The UPT in Bandung sends its own file; PPPOMN sends the others'. A
    few UPT have not sent the newest month yet, so the completeness view shows who is missing."""
    with Session(ctx.engine) as session:
        done = session.exec(
            select(DatasetVersion).where(DatasetVersion.dataset_id == DEMO_DATASET)
        ).first()
    if done is not None:
        return
    progress("demo: generating the sampling and testing dataset")
    frame = demo_sampling_frame(ctx.clock.today())
    newest_month = frame["tanggal_sampling"].str[:7].max()
    upt_code = demo_upt_code()
    late = set(sorted(set(frame["kode_upt"]) - {upt_code})[-DEMO_LATE_SENDERS:])
    national, regional = _authority(ctx, "pppomn"), _authority(ctx, "upt")
    verifier = _authority(ctx, "verifikator")
    rows = 0
    for code, part in frame.groupby("kode_upt", sort=True):
        if code in late:
            part = part[part["tanggal_sampling"].str[:7] < newest_month]
        sender = regional if code == upt_code else national
        content = part.to_csv(index=False).encode("utf-8")
        submission = procedure.submit_data(
            ctx, sender, dataset_id=DEMO_DATASET, level=Level.TERBATAS,
            filename=f"sampling-pengujian-{code}.csv", content=content,
        )
        procedure.receive_submission(ctx, verifier, submission.id)
        report = procedure.check_submission(ctx, verifier, submission.id)
        if not report.valid:
            raise RuntimeError(f"demo data of {code} does not pass its contract: {report.summary[:5]}")
        procedure.decide_submission(ctx, verifier, submission.id, accept=True,
                                    note="Data demo memenuhi kontrak.")
        rows += report.rows
    progress(f"demo: {rows} rows of {frame['kode_upt'].nunique()} UPT verified and integrated")


def demo_sampling_frame(today: date, months: int = 24):  # noqa: ANN201 - pandas.DataFrame
    """The demo dataset for the two years up to ``today``, so that it is always fresh (the
    contract expects monthly delivery) and holds no sample dated in the future."""
    from ocenter.demo_data import generate_sampling_dataset

    first = date(today.year, today.month, 1)
    for _ in range(months - 1):
        first = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    frame = generate_sampling_dataset(start=first, months=months)
    return frame[frame["tanggal_sampling"] <= today.isoformat()].reset_index(drop=True)


def seed_demo_requests(ctx: AppContext) -> None:
    """Request 1: the displayed dashboard on main. Request 2: a mock-up the unit is reviewing."""
    main = ctx.store.snapshot("main")
    approved = main.specs.get(DEMO_DASHBOARD)
    mockup = spec_from_yaml(DEMO_MOCKUP_FILE.read_text(encoding="utf-8"))
    now = ctx.clock.now()
    with Session(ctx.engine) as session:
        if session.get(DashboardRequest, 1) is None and approved is not None:
            session.add(DashboardRequest(
                id=1, title=approved.title, purpose=approved.description or approved.title,
                requesting_unit=approved.owner_unit, requested_by="direktur",
                datasets=approved.datasets, level=approved.level,
                audience=["kepala_bpom", "eselon_1", "eselon_2", "kepala_upt"],
                dashboard_id=approved.id, status=RequestStatus.DISPLAYED,
                created_at=now, step_started_at=now,
            ))
            record(session, "direktur", "request.filed", step=1, request_id=1,
                             detail="demo")
        if session.get(DashboardRequest, 2) is None:
            session.add(DashboardRequest(
                id=2, title=mockup.title, purpose=mockup.description or mockup.title,
                requesting_unit=mockup.owner_unit, requested_by="unit",
                datasets=mockup.datasets, level=mockup.level,
                audience=["eselon_1", "eselon_2"], dashboard_id=mockup.id,
                status=RequestStatus.IN_REVIEW, created_at=now, step_started_at=now,
            ))
            record(session, "unit", "request.filed", step=1, request_id=2,
                             detail="demo")
        session.commit()
    if ctx.store.head(ctx.store.mockup_branch(2)) is None:
        analyst = procedure.author_of(ctx, _authority(ctx, "analis"))
        ctx.store.start_mockup(2, mockup, analyst)
    _sync_id_sequence(ctx)


#: A temporary file untouched this long belongs to a writer that was killed: every file is
#: written in well under a minute, and an hour leaves room for the slowest disk.
STALE_TEMPORARY_SECONDS = 3600


def remove_stale_temporaries(ctx: AppContext, older_than: float = STALE_TEMPORARY_SECONDS) -> list[str]:
    """Remove what killed writers left of files they never renamed into place: the dot-named
    ``.part`` of an upload, a kept table or a dataset file (``.tmp`` in earlier versions), never
    read by anyone, and the temporary objects of the shared bucket, if there is one; returns
    them (bucket keys as ``s3://bucket/prefix/tmp/...``)."""
    import time

    removed = []
    limit = time.time() - older_than
    bucket = ctx.bucket
    if bucket is not None:
        removed += [f"{bucket.describe()}/{key}" for key in bucket.remove_stale_temporaries(older_than)]
    for folder, pattern in ((ctx.uploads_dir, ".*.part"), (ctx.uploads_dir, ".*.tmp"),
                            (ctx.home / "datasets", "*/.*.part"), (ctx.home / "datasets", "*/.*.tmp")):
        for path in folder.glob(pattern):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed.append(str(path.relative_to(ctx.home)))
            except FileNotFoundError:
                continue
    return removed


def _sync_id_sequence(ctx: AppContext) -> None:
    """PostgreSQL keeps its own counter; after inserting fixed ids, move it past them."""
    if ctx.engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    with ctx.engine.begin() as connection:
        connection.execute(text(
            "SELECT setval(pg_get_serial_sequence('dashboardrequest', 'id'), "
            "(SELECT COALESCE(MAX(id), 1) FROM dashboardrequest))"
        ))


def initialise(
    settings: Settings,
    *,
    demo: bool | None = None,
    progress: Callable[[str], None] = print,
    clock: Clock = SYSTEM_CLOCK,
) -> AppContext:
    """Create whatever is missing; with demo content when ``demo`` (default: in demo mode), its
    dates up to ``clock``'s today."""
    demo = settings.is_demo if demo is None else demo
    if demo and not settings.is_demo:

        raise UserError("config.no_demo_in_production")
    ctx = open_context(settings, clock)
    procedure.seal_stored_files(ctx)
    seed_units(ctx)
    procedure.seed_work_calendar(ctx)
    seed_store(ctx, demo=demo)
    move_lifecycle_out_of_specs(ctx)
    if demo:
        seed_demo_users(ctx)
        seed_demo_grants(ctx)
        seed_demo_data(ctx, progress)
        seed_demo_requests(ctx)
    # A database from before step clocks were kept: each request in flight gets its clock.
    procedure.open_missing_clocks(ctx.engine)
    # A use case killed after it moved main left a decision the database lacks: take it in.
    procedure.reconcile_main(ctx)
    remove_stale_temporaries(ctx)
    return ctx
