"""Every step is all-or-nothing, and one decision wins.

A child process runs a use case and is killed with SIGKILL at a point chosen at random (seeded)
among the points it passes: Python's own audit events before each git process it starts and
each file it renames, and the step's checkpoints (``sys.audit("ocenter.checkpoint", ...)``).
Whatever the point, the store and the database are found as before the step, as after it, or
with main ahead of the database, which the next page run or the retry repairs; the retry then
completes or is recognised as already done. Some runs hold SQLite's write lock from another
connection meanwhile. Two people deciding at once, and a disk that is full, end the same way.
Real Git stores, SQLite and PostgreSQL, real processes and signals.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, make_url
from sqlmodel import Session, SQLModel, col, select

from ocenter import procedure
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind, Tier
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import (
    demo_sampling_frame,
    demo_upt_code,
    remove_stale_temporaries,
    seed_demo_users,
    seed_store,
    seed_units,
)
from ocenter.clock import FixedClock
from ocenter.context import AppContext, open_context
from ocenter.display.spec import DefaultView
from ocenter.errors import UserError
from ocenter.i18n import t
from ocenter.models import (
    DashboardRequest,
    DatasetVersion,
    Event,
    IntegratedDataset,
    MainDecision,
    PartitionVersion,
    RequestStatus,
    ReviewComment,
    Submission,
    SubmissionStatus,
    User,
)
from ocenter.procedure.decisions import DECIDED_KEYS
from ocenter.store.validation import validate_store
from ocenter.verification.datasets import load_dataset
from tests.conftest import fresh_postgres_database, settings_for

#: One moment for the whole module, parents and children: every step's clock starts exactly here.
CLOCK = FixedClock(datetime.now(UTC).replace(microsecond=0))
DATASET = "sampling-pengujian"
SQLITE_RUNS = 30
#: As many on PostgreSQL, where the database's lock is a row lock instead of SQLite's one writer.
POSTGRES_RUNS = 30
#: One run in this many holds SQLite's write lock from another connection while the child runs.
HELD_LOCK_ONE_IN = 6
NEVER = ("point", 0)

# --- children that are killed -----------------------------------------------------------------

#: Children fork from a server that has imported the app once (two seconds each otherwise).
CHILDREN = multiprocessing.get_context("forkserver")
CHILDREN.set_forkserver_preload(["tests.test_atomic", "pandas", "pyarrow.dataset", "pyarrow.parquet"])
#: The audit events a child may be stopped at: before a git process starts, before a file is
#: renamed into place or removed, and at the step's own checkpoints.
KILL_POINTS = frozenset({"subprocess.Popen", "os.rename", "os.remove", "ocenter.checkpoint"})


def _as(ctx: AppContext, username: str) -> Authority:
    authority = authority_of(ctx.engine, username, production=False)
    assert authority is not None, username
    return authority


def _approve(ctx: AppContext, request_id: int, reviewed: str, who: str = "direktur") -> str:
    return procedure.approve_mockup(ctx, _as(ctx, who), request_id, reviewed)


def _ask_changes(ctx: AppContext, request_id: int, reviewed: str, who: str = "pengulas") -> str:
    procedure.request_changes(ctx, _as(ctx, who), request_id, reviewed, "Tambahkan tren bulanan.")
    return "changes"


def _decide(ctx: AppContext, submission_id: int, accept: bool = True, who: str = "verifikator") -> str:
    note = "Sesuai kontrak." if accept else "Kolom tanggal tidak sesuai."
    decided = procedure.decide_submission(ctx, _as(ctx, who), submission_id, accept=accept, note=note)
    return decided.status.value


DEFAULTS = [DefaultView(tier=Tier.KEPALA_UPT, months=12)]

#: What a child (and the retry after it) runs, by name: the use case and its arguments.
CALLS: dict[str, Callable[..., str]] = {
    "approve": _approve,
    "request_changes": _ask_changes,
    "build": lambda ctx, rid: procedure.build_dashboard(ctx, _as(ctx, "analis"), rid),
    "classify": lambda ctx, rid: procedure.classify_defaults(ctx, _as(ctx, "analis"), rid, DEFAULTS),
    "display": lambda ctx, rid: procedure.put_on_display(ctx, _as(ctx, "analis"), rid),
    "decide": _decide,
}


def _child(home: str, database_url: str, moment: datetime, call: str, args: tuple,
           stop_at: tuple[str, int | str], notify: frozenset[str],
           conn) -> None:  # noqa: ANN001 - multiprocessing Connection
    """Run ``call`` on the parent's clock and stop (SIGSTOP, for the parent to kill or continue)
    at the n-th kill point, the n-th checkpoint, or the checkpoint named n (``stop_at``:
    ("point", n), ("checkpoint", n) or ("named", n));
    say at each checkpoint named in ``notify`` that it got there. The last report says how many
    points and checkpoints it passed."""
    ctx = open_context(settings_for(Path(home), database_url), FixedClock(moment))
    seen = {"point": 0, "checkpoint": 0}

    def hook(event: str, event_args: tuple) -> None:
        if event not in KILL_POINTS:
            return
        seen["point"] += 1
        if event == "ocenter.checkpoint":
            seen["checkpoint"] += 1
            name = event_args[0]
            if name in notify:
                conn.send(("at", name))
        else:
            name = f"{event} {event_args[1]!s:.60}"
        kind, n = stop_at
        if (seen[kind] == n) if kind in seen else name == n:
            conn.send(("stopped", name, dict(seen)))
            os.kill(os.getpid(), signal.SIGSTOP)

    sys.addaudithook(hook)
    try:
        result = CALLS[call](ctx, *args)
    except UserError as error:
        conn.send(("refused", error.key, error.params))
    except BaseException as error:  # noqa: BLE001 - the parent shows what went wrong
        conn.send(("failed", repr(error)))
    else:
        conn.send(("done", result, dict(seen)))


@dataclass
class Child:
    """A child process running one use case, and the pipe it reports on."""

    process: multiprocessing.process.BaseProcess
    reports: object  # multiprocessing Connection

    @classmethod
    def start(cls, ctx: AppContext, call: str, args: tuple, *,
              stop_at: tuple[str, int | str] = NEVER,
              notify: frozenset[str] = frozenset(), database_url: str | None = None) -> Child:
        reader, writer = CHILDREN.Pipe(duplex=False)
        process = CHILDREN.Process(
            target=_child, daemon=True,
            args=(str(ctx.home), database_url or ctx.settings.database_url, CLOCK.moment, call,
                  args, stop_at, notify, writer),
        )
        # A child prepares by importing the parent's __main__; after AppTest ran the app, that
        # is the app's script, which a child must not run.
        main = sys.modules["__main__"]
        if getattr(main.__spec__, "name", None) is None:
            sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main
        writer.close()
        return cls(process, reader)

    def next_report(self) -> tuple:
        """The child's next report; ("ended",) when it ended without one."""
        try:
            return self.reports.recv()
        except EOFError:
            return ("ended",)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, whatever it is doing (a child that already ended is only reaped)."""
        self.process.kill()
        self.process.join()
        self.reports.close()


def run_child(ctx: AppContext, call: str, args: tuple, stop_at: tuple[str, int],
              database_url: str | None = None) -> tuple:
    """Run ``call`` in a child killed with SIGKILL where ``stop_at`` says (or after it reported
    how it ended); its last report."""
    child = Child.start(ctx, call, args, stop_at=stop_at, database_url=database_url)
    try:
        return child.next_report()
    finally:
        child.kill()


@pytest.fixture(scope="module", autouse=True)
def _child_server() -> Iterator[None]:
    """Start the children's server with one BLAS thread (a spinning thread and fork do not mix)."""
    before = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if before is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = before
    yield


# --- installations ----------------------------------------------------------------------------


def _csv(frame) -> bytes:  # noqa: ANN001 - pandas.DataFrame
    return frame.to_csv(index=False).encode("utf-8")


def _region_rows(ctx: AppContext):  # noqa: ANN202 - pandas.DataFrame
    frame = demo_sampling_frame(ctx.clock.today(), months=12)
    return frame[frame["kode_upt"] == demo_upt_code()].reset_index(drop=True)


def _add_people(ctx: AppContext) -> None:
    """A second reviewer of the director's unit and a second verifier, to decide at the same
    time (with the demo's password, already hashed: hashing is the slow part of adding one)."""
    with Session(ctx.engine) as session:
        password_hash = session.get(User, "verifikator").password_hash
        session.add(User(username="pengulas", name="Kasubdit Pengawasan Peredaran Pangan Olahan",
                         role=Role.DIREKTUR, unit_code="DIT-WAS-EDAR-PANGAN",
                         clearance=Level.RAHASIA, scope=ScopeKind.UNIT,
                         password_hash=password_hash))
        session.add(User(username="verifikator2", name="Verifikator Kedua Pusdatin",
                         role=Role.VERIFIKATOR, unit_code="PUSDATIN", clearance=Level.RAHASIA,
                         scope=ScopeKind.BPOM, password_hash=password_hash))
        session.commit()


def _in_review(ctx: AppContext, count: int) -> list[tuple[int, str]]:
    """``count`` new requests of the director's unit whose mock-ups wait for review: (id, head)."""
    direktur, analyst = _as(ctx, "direktur"), _as(ctx, "analis")
    made = []
    for n in range(count):
        request = procedure.file_request(
            ctx, direktur, title=f"Dasbor uji {n}", purpose="Uji keputusan yang utuh.",
            datasets_wanted=[DATASET], level=Level.RAHASIA, audience=["eselon2"],
        )
        procedure.state_no_new_data(ctx, analyst, request.id, "Data ini sudah diterima sebelumnya.")
        head = procedure.start_mockup(ctx, analyst, request.id)
        procedure.send_mockup(ctx, analyst, request.id)
        made.append((request.id, head))
    return made


def _received(ctx: AppContext, count: int, *, first: int = 20) -> list[int]:
    """``count`` checked submissions of the Bandung UPT waiting for the verifier's decision, each
    with different rows (so each is a version of its own)."""
    rows, upt, verifier = _region_rows(ctx), _as(ctx, "upt"), _as(ctx, "verifikator")
    made = []
    for n in range(count):
        sent = procedure.submit_data(ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                                     filename=f"bandung-{n}.csv", content=_csv(rows.head(first + n)))
        procedure.receive_submission(ctx, verifier, sent.id)
        assert procedure.check_submission(ctx, verifier, sent.id).valid
        made.append(sent.id)
    return made


@pytest.fixture
def sqlite_ctx(demo_home: Path) -> Iterator[AppContext]:
    ctx = open_context(settings_for(demo_home), CLOCK)
    _add_people(ctx)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def postgres_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    """A PostgreSQL installation with the demo's contracts and people and one accepted file (so
    that mock-ups may start): the parts of the demo these tests need, made in seconds. Shared by
    the module's PostgreSQL tests; each works on requests and submissions of its own."""
    with fresh_postgres_database() as url:
        home = tmp_path_factory.mktemp("postgres") / "home"
        ctx = open_context(settings_for(home, url), CLOCK)
        try:
            seed_units(ctx)
            seed_store(ctx, demo=True)
            seed_demo_users(ctx)
            _add_people(ctx)
            (first,) = _received(ctx, 1, first=200)
            procedure.decide_submission(ctx, _as(ctx, "verifikator"), first, accept=True,
                                        note="Awal.")
            yield ctx
        finally:
            ctx.engine.dispose()


# --- what the store and the database say ------------------------------------------------------


def _git(ctx: AppContext, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(ctx.settings.store_path), *args],
                          capture_output=True, text=True, check=True).stdout


def main_commits(ctx: AppContext, request_id: int, step: int) -> list[str]:
    """Commits on main's first-parent line recording ``step`` (5: the approval) for the request,
    read with git itself."""
    fmt = "%H%x1f%(trailers:key=Request,valueonly,separator=)%x1f" \
          "%(trailers:key=Change-kind,valueonly,separator=)%x1f%(trailers:key=Step,valueonly,separator=)"
    found = []
    for line in _git(ctx, "log", "--first-parent", f"--format={fmt}", "main").splitlines():
        sha, request, kind, step_text = line.split("\x1f")
        if request == str(request_id) and (
            (step == 5 and kind == "approval") or (kind == "main" and step_text == str(step))
        ):
            found.append(sha)
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Step:
    """One of the steps decided on main, and how its before and after states read."""

    call: str
    step: int
    before: RequestStatus
    after: RequestStatus
    action: str
    actor: str

    def state(self, ctx: AppContext, request_id: int, reviewed: str | None = None) -> str:
        """"before", "after", or "between" (main has the step, the database not yet); anything
        else fails the test."""
        commits = main_commits(ctx, request_id, self.step)
        with Session(ctx.engine) as session:
            request = session.get(DashboardRequest, request_id)
            events = session.exec(select(Event).where(Event.request_id == request_id,
                                                      Event.action == self.action)).all()
            taken = session.exec(select(MainDecision).where(
                MainDecision.request_id == request_id, MainDecision.step == self.step)).all()
        assert len(commits) <= 1, commits
        if not commits:
            assert (request.status, events, taken) == (self.before, [], [])
            return "before"
        if request.status == self.before:
            assert (events, taken) == ([], [])
            return "between"
        (commit,) = commits
        assert request.status == self.after
        assert _utc(request.step_started_at) == CLOCK.now()
        detail = f"reviewed {reviewed}, merge {commit}" if self.step == 5 else commit
        assert [(e.actor, e.step, e.detail) for e in events] == [(self.actor, self.step, detail)]
        assert [(d.commit, d.decided_by, _utc(d.decided_at)) for d in taken] == [
            (commit, self.actor, CLOCK.now())
        ]
        return "after"


APPROVE = Step("approve", 5, RequestStatus.IN_REVIEW, RequestStatus.APPROVED, "mockup.approved",
               "direktur")
BUILD = Step("build", 6, RequestStatus.APPROVED, RequestStatus.BUILT, "dashboard.built", "analis")
CLASSIFY = Step("classify", 7, RequestStatus.BUILT, RequestStatus.CLASSIFIED,
                "dashboard.classified", "analis")
DISPLAY = Step("display", 8, RequestStatus.CLASSIFIED, RequestStatus.DISPLAYED,
               "dashboard.displayed", "analis")


def decision_state(ctx: AppContext, submission_id: int, builds_before: int) -> str:
    """"before" or "after" of accepting a submission: its status, dataset version, partitions,
    log entry and the integrated build dashboards read, all or none."""
    with Session(ctx.engine) as session:
        submission = session.get(Submission, submission_id)
        versions = session.exec(select(DatasetVersion).where(
            DatasetVersion.submission_id == submission_id)).all()
        partitions = session.exec(select(PartitionVersion).where(
            PartitionVersion.submission_id == submission_id)).all()
        events = session.exec(select(Event).where(Event.submission_id == submission_id,
                                                  Event.action == "data.verified")).all()
        builds = session.exec(select(func.count()).select_from(IntegratedDataset)).one()
    newest = procedure.latest_versions(ctx)[DATASET]
    assert load_dataset(ctx.home, DATASET, newest.sha256).num_rows == newest.rows  # readable
    if submission.status == SubmissionStatus.RECEIVED:
        assert (versions, partitions, events, builds) == ([], [], [], builds_before)
        assert submission.verified_by is None
        return "before"
    assert submission.status == SubmissionStatus.VERIFIED
    assert (submission.verified_by, _utc(submission.verified_at)) == ("verifikator", CLOCK.now())
    assert len(versions) == 1 and partitions and len(events) == 1
    assert builds == builds_before + 1
    return "after"


def _builds(ctx: AppContext) -> int:
    with Session(ctx.engine) as session:
        return session.exec(select(func.count()).select_from(IntegratedDataset)).one()


def store_is_sound(ctx: AppContext) -> None:
    _git(ctx, "fsck", "--no-dangling")
    assert validate_store(ctx.settings.store_path) == []
    assert not list(ctx.settings.store_path.rglob("*.lock"))


# --- the crash runs ---------------------------------------------------------------------------


@dataclass
class Tally:
    """How the runs of one use case ended, for the figures the test prints."""

    name: str
    counts: Counter = field(default_factory=Counter)
    points: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        passed = f"{self.points.get('point')} points, {self.points.get('checkpoint')} checkpoints"
        return f"{self.name} ({passed}): " + ", ".join(
            f"{k} {v}" for k, v in sorted(self.counts.items())
        )


def _busy_url(ctx: AppContext) -> str:
    """The installation's SQLite URL with a short busy wait: a child meeting a held write lock
    gives up at once instead of after the installation's 30 s (what it does is the same)."""
    return f"{ctx.settings.database_url}?timeout=0.2"


def _hold_write_lock(ctx: AppContext) -> sqlite3.Connection:
    holder = sqlite3.connect(make_url(ctx.settings.database_url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _kill_point(rng: random.Random, points: dict[str, int]) -> tuple[str, int]:
    """Half the runs stop at any point the step passes, half at one of its checkpoints, so that
    the few points after main moved are met as often as the many reads before; the one past the
    last lets the child complete."""
    kind = rng.choice(["point", "checkpoint"])
    return kind, rng.randint(1, points[kind] + 1)


def crash_runs(ctx: AppContext, step: Step, targets: list[tuple], rng: random.Random,
               tally: Tally, *, reviewed_of: Callable[[tuple], str | None] = lambda _t: None) -> None:
    """Run ``step`` on each target in a child killed at a random point, then check the state,
    let the next page run or the retry repair it, and check that the retry is done or completes.
    The first target measures how many kill points the step passes."""
    sqlite = ctx.settings.database_url.startswith("sqlite")
    report = run_child(ctx, step.call, targets[0], NEVER)
    assert report[0] == "done", report
    points = report[2]
    tally.points = points
    assert step.state(ctx, targets[0][0], reviewed_of(targets[0])) == "after"
    for target in targets[1:]:
        request_id, reviewed = target[0], reviewed_of(target)
        if sqlite and rng.randrange(HELD_LOCK_ONE_IN) == 0:
            holder = _hold_write_lock(ctx)
            try:
                report = run_child(ctx, step.call, target, NEVER, database_url=_busy_url(ctx))
            finally:
                holder.rollback()
                holder.close()
            assert report[:2] == ("refused", "system.database_busy"), report
            assert step.state(ctx, request_id, reviewed) == "before"
            tally.counts["write lock held: refused, nothing changed"] += 1
        else:
            report = run_child(ctx, step.call, target, _kill_point(rng, points))
            assert report[0] in ("stopped", "done"), report
            state = step.state(ctx, request_id, reviewed)
            if state == "between" and rng.random() < 0.5:
                assert procedure.reconcile_main(ctx) == 1  # the next page run
                assert step.state(ctx, request_id, reviewed) == "after"
                state = "between, repaired by the next page run"
            elif state == "between":
                state = "between, repaired by the retry"
            tally.counts[f"killed {state}" if report[0] == "stopped" else "completed"] += 1
        result = CALLS[step.call](ctx, *target)  # the user presses the button again
        assert step.state(ctx, request_id, reviewed) == "after"
        assert main_commits(ctx, request_id, step.step) == [result]


def decide_runs(ctx: AppContext, targets: list[int], rng: random.Random, tally: Tally) -> None:
    """Accepting a submission, killed at random points: all of it or none of it."""
    sqlite = ctx.settings.database_url.startswith("sqlite")
    builds = _builds(ctx)
    report = run_child(ctx, "decide", (targets[0],), NEVER)
    assert report[0] == "done", report
    points = report[2]
    tally.points = points
    assert decision_state(ctx, targets[0], builds) == "after"
    for submission_id in targets[1:]:
        builds = _builds(ctx)
        if sqlite and rng.randrange(HELD_LOCK_ONE_IN) == 0:
            holder = _hold_write_lock(ctx)
            try:
                report = run_child(ctx, "decide", (submission_id,), NEVER,
                                   database_url=_busy_url(ctx))
            finally:
                holder.rollback()
                holder.close()
            assert report[:2] == ("refused", "system.database_busy"), report
            assert decision_state(ctx, submission_id, builds) == "before"
            tally.counts["write lock held: refused, nothing changed"] += 1
        else:
            report = run_child(ctx, "decide", (submission_id,), _kill_point(rng, points))
            assert report[0] in ("stopped", "done"), report
            state = decision_state(ctx, submission_id, builds)
            tally.counts[f"killed {state}" if report[0] == "stopped" else "completed"] += 1
        assert _decide(ctx, submission_id) == "verified"  # the retry
        assert decision_state(ctx, submission_id, builds) == "after"
    # What the killed writers left of files they never renamed into place goes at the next
    # start, once it is stale (made so here by moving its time back).
    left = [*ctx.uploads_dir.glob(".*"), *(ctx.home / "datasets").glob("*/.*")]
    tally.counts["temporary files left, removed at the next start"] = len(left)
    for path in left:
        os.utime(path, (0, 0))
    assert sorted(remove_stale_temporaries(ctx)) == sorted(str(p.relative_to(ctx.home)) for p in left)


def _all_steps(ctx: AppContext, runs: int, seed: str) -> list[Tally]:
    """``runs`` killed runs of each of approve, build, classify and display (the same requests
    going through the four steps) and of accepting data."""
    rng = random.Random(seed)
    requests = _in_review(ctx, runs + 1)
    reviewed = dict(requests)
    tallies = []
    for step in (APPROVE, BUILD, CLASSIFY, DISPLAY):
        tally = Tally(step.call)
        targets = [(rid, head) if step is APPROVE else (rid,) for rid, head in requests]
        crash_runs(ctx, step, targets, rng, tally,
                   reviewed_of=lambda target: reviewed[target[0]])
        tallies.append(tally)
    tally = Tally("decide (accept data)")
    decide_runs(ctx, _received(ctx, runs + 1), rng, tally)
    tallies.append(tally)
    store_is_sound(ctx)
    return tallies


def test_steps_killed_at_random_points_end_whole_on_sqlite(sqlite_ctx: AppContext) -> None:
    tallies = _all_steps(sqlite_ctx, SQLITE_RUNS, "sqlite")
    print("\nSQLite, killed runs per use case:", *tallies, sep="\n  ")
    for tally in tallies:
        assert sum(v for k, v in tally.counts.items() if not k.startswith("temporary")) == SQLITE_RUNS


@pytest.mark.postgres
def test_steps_killed_at_random_points_end_whole_on_postgresql(postgres_ctx: AppContext) -> None:
    tallies = _all_steps(postgres_ctx, POSTGRES_RUNS, "postgresql")
    print("\nPostgreSQL, killed runs per use case:", *tallies, sep="\n  ")
    for tally in tallies:
        assert sum(v for k, v in tally.counts.items() if not k.startswith("temporary")) == POSTGRES_RUNS


# --- two people deciding at once --------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_ctx(request: pytest.FixtureRequest) -> AppContext:
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_ctx")


def _at_once(ctx: AppContext, first: tuple, first_stops_at: str, second: tuple,
             first_then: str) -> tuple[tuple, tuple]:
    """``first`` (call, args) stopped at its checkpoint ``first_stops_at`` holding what it
    decides on; ``second`` started and past its own reading of the state (its checkpoint before
    it takes the row); then ``first`` goes on ("resume") or dies ("kill"). Both final reports."""
    one = Child.start(ctx, *first, stop_at=("named", first_stops_at))
    try:
        assert one.next_report()[:2] == ("stopped", first_stops_at)
        two = Child.start(ctx, *second, notify=frozenset({"request.holding", "decide.deciding"}))
        try:
            assert two.next_report()[0] == "at"
            if first_then == "resume":
                one.resume()
                first_report = one.next_report()
            else:
                one.kill()
                first_report = ("killed",)
            return first_report, two.next_report()
        finally:
            two.kill()
    finally:
        one.kill()


def _said(report: tuple, key: str, username: str, name: str) -> None:
    """The second person was refused with ``key``, naming who decided, in both languages."""
    assert report[:2] == ("refused", key), report
    params = report[2]
    assert (params["username"], params["name"]) == (username, name)
    for lang in ("id", "en"):
        text = t(key, lang, **params)
        assert name in text and username in text and params["when"] in text


def _review_state(ctx: AppContext, request_id: int) -> tuple:
    with Session(ctx.engine) as session:
        request = session.get(DashboardRequest, request_id)
        comments = session.exec(select(ReviewComment).where(
            ReviewComment.request_id == request_id)).all()
    return request.status, request.review_rounds, len(comments), len(main_commits(ctx, request_id, 5))


@pytest.mark.parametrize("first_then", ["resume", "kill"])
def test_approval_and_request_for_changes_at_once_the_approval_first(
    any_ctx: AppContext, first_then: str
) -> None:
    """The director approves; meanwhile a colleague of the same unit asks for changes. The
    approval was merged first, so it wins even when its process dies before the database heard
    of it, and the colleague is told who approved."""
    ctx = any_ctx
    ((request_id, head),) = _in_review(ctx, 1)
    first, second = _at_once(ctx, ("approve", (request_id, head)), "approve.merged",
                             ("request_changes", (request_id, head)), first_then)
    assert first[0] == ("done" if first_then == "resume" else "killed")
    _said(second, "decided.approved", "direktur", "Direktur Pengawasan Peredaran Pangan Olahan")
    assert _review_state(ctx, request_id) == (RequestStatus.APPROVED, 0, 0, 1)
    assert APPROVE.state(ctx, request_id, head) == "after"
    # The director, unsure whether it went through, presses again: it is already done.
    assert _approve(ctx, request_id, head) == main_commits(ctx, request_id, 5)[0]


def test_approval_and_request_for_changes_at_once_the_changes_first(any_ctx: AppContext) -> None:
    """The request for changes is written first: the approval is refused, naming who asked for
    changes, and main does not move."""
    ctx = any_ctx
    ((request_id, head),) = _in_review(ctx, 1)
    main_before = ctx.store.head()
    first, second = _at_once(ctx, ("request_changes", (request_id, head)), "changes.recorded",
                             ("approve", (request_id, head)), "resume")
    assert first[:2] == ("done", "changes")
    _said(second, "decided.changes_requested", "pengulas",
          "Kasubdit Pengawasan Peredaran Pangan Olahan")
    assert _review_state(ctx, request_id) == (RequestStatus.CHANGES_REQUESTED, 1, 1, 0)
    assert ctx.store.head() == main_before


def _decision_rows(ctx: AppContext, submission_id: int) -> tuple:
    with Session(ctx.engine) as session:
        submission = session.get(Submission, submission_id)
        versions = session.exec(select(DatasetVersion).where(
            DatasetVersion.submission_id == submission_id)).all()
        logged = session.exec(select(Event.action).where(
            Event.submission_id == submission_id,
            col(Event.action).in_(["data.verified", "data.returned"]))).all()
    return submission.status, submission.verified_by, len(versions), sorted(logged)


@pytest.mark.parametrize(("accept_first", "first_then"),
                         [(True, "resume"), (False, "resume"), (True, "kill")])
def test_terima_and_kembalikan_at_once_one_decision_wins(
    any_ctx: AppContext, accept_first: bool, first_then: str
) -> None:
    """Two verifiers press Terima and Kembalikan on one submission at the same moment, each
    having read it as received. Exactly one decision stands; the other verifier is told who
    decided what. When the first one's process dies before committing, the second one's stands."""
    ctx = any_ctx
    (submission_id,) = _received(ctx, 1)
    first = ("decide", (submission_id, accept_first, "verifikator"))
    second = ("decide", (submission_id, not accept_first, "verifikator2"))
    one, two = _at_once(ctx, first, "decide.held", second, first_then)
    accepted = (SubmissionStatus.VERIFIED, 1, ["data.verified"])
    returned = (SubmissionStatus.RETURNED, 0, ["data.returned"])
    if first_then == "kill":
        assert two[:2] == ("done", "returned")
        status, by, versions, logged = _decision_rows(ctx, submission_id)
        assert (status, versions, logged) == returned and by == "verifikator2"
        return
    assert one[0] == "done"
    key = "decided.data_accepted" if accept_first else "decided.data_returned"
    _said(two, key, "verifikator", "Verifikator Data Pusdatin")
    status, by, versions, logged = _decision_rows(ctx, submission_id)
    assert by == "verifikator"
    assert (status, versions, logged) == (accepted if accept_first else returned)


def test_receiving_twice_names_who_received_it(sqlite_ctx: AppContext) -> None:
    ctx = sqlite_ctx
    sent = procedure.submit_data(ctx, _as(ctx, "upt"), dataset_id=DATASET, level=Level.TERBATAS,
                                 filename="bandung.csv", content=_csv(_region_rows(ctx).head(30)))
    procedure.receive_submission(ctx, _as(ctx, "verifikator"), sent.id)
    again = procedure.receive_submission(ctx, _as(ctx, "verifikator"), sent.id)
    assert again.received_by == "verifikator"  # the same person again: already done
    with pytest.raises(UserError) as refused:
        procedure.receive_submission(ctx, _as(ctx, "verifikator2"), sent.id)
    assert refused.value.key == "decided.data_received"
    assert refused.value.params["name"] == "Verifikator Data Pusdatin"


def test_every_decision_has_its_words() -> None:
    for key in DECIDED_KEYS:
        for lang in ("id", "en"):
            text = t(key, lang, request=7, submission=7, name="Siti", username="siti", when="w")
            assert "Siti" in text and "siti" in text


# --- a held database, a restart ---------------------------------------------------------------


def _everything(ctx: AppContext) -> tuple:
    with ctx.engine.connect() as connection:
        rows = {table.name: sorted(map(repr, connection.execute(table.select())))
                for table in SQLModel.metadata.sorted_tables}
    return rows, _git(ctx, "for-each-ref", "--format=%(refname) %(objectname)")


def test_a_held_sqlite_write_lock_refuses_with_a_message_and_changes_nothing(
    sqlite_ctx: AppContext,
) -> None:
    ((request_id, head),) = _in_review(sqlite_ctx, 1)
    busy = open_context(settings_for(sqlite_ctx.home, _busy_url(sqlite_ctx)), CLOCK)
    try:
        before = _everything(busy)
        holder = _hold_write_lock(busy)
        try:
            with pytest.raises(UserError) as refused:
                _approve(busy, request_id, head)
            assert refused.value.key == "system.database_busy"
            assert procedure.reconcile_main(busy) == 0  # a page run meanwhile shows, and waits
        finally:
            holder.rollback()
            holder.close()
        assert _everything(busy) == before
        _approve(busy, request_id, head)
        assert APPROVE.state(busy, request_id, head) == "after"
    finally:
        busy.engine.dispose()


def test_a_restart_takes_in_what_main_decided(sqlite_ctx: AppContext) -> None:
    """Killed after the merge and before the database: the app's next start completes it."""
    from ocenter.bootstrap import initialise

    ((request_id, head),) = _in_review(sqlite_ctx, 1)
    report = run_child(sqlite_ctx, "approve", (request_id, head), ("named", "approve.merged"))
    assert report[:2] == ("stopped", "approve.merged")
    assert APPROVE.state(sqlite_ctx, request_id, head) == "between"
    restarted = initialise(settings_for(sqlite_ctx.home), progress=lambda _m: None, clock=CLOCK)
    try:
        assert APPROVE.state(restarted, request_id, head) == "after"
    finally:
        restarted.engine.dispose()


# --- a full disk ------------------------------------------------------------------------------


@dataclass
class SmallDisk:
    """A real file system of a few MB (tmpfs) holding an installation, and a file that fills it."""

    mount: Path
    home: Path

    @property
    def filler(self) -> Path:
        return self.mount / "filler"

    def fill(self, leave: int = 0) -> None:
        """Fill the disk, then give back ``leave`` bytes."""
        block = b"\0" * (1 << 20)
        with self.filler.open("ab", buffering=0) as handle:
            try:
                while True:
                    handle.write(block)
            except OSError as error:
                assert error.errno == errno.ENOSPC
        if leave:
            os.truncate(self.filler, self.filler.stat().st_size - leave)

    def free(self) -> None:
        self.filler.unlink()


@pytest.fixture
def small_disk(demo_template: Path, tmp_path: Path) -> Iterator[SmallDisk]:
    """The demo installation on a 32 MB tmpfs (mounting needs root, as in CI here)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "ocenter-test", str(mount)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"a small file system cannot be mounted here: {mounted.stderr.strip()}")
    try:
        shutil.copytree(demo_template, mount / "home")
        yield SmallDisk(mount, mount / "home")
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _kept_files(ctx: AppContext) -> list[str]:
    return sorted(str(p.relative_to(ctx.home)) for folder in (ctx.uploads_dir, ctx.home / "datasets")
                  for p in folder.rglob("*"))


def test_a_full_disk_refuses_an_upload_with_a_message_and_keeps_no_part_of_it(
    small_disk: SmallDisk,
) -> None:
    ctx = open_context(settings_for(small_disk.home), CLOCK)
    try:
        national = demo_sampling_frame(CLOCK.today(), months=24)
        content = _csv(national)
        assert len(content) > 1 << 20
        before, files = _everything(ctx), _kept_files(ctx)
        small_disk.fill(leave=256 << 10)  # room for a part of it: the write starts, then fails
        with pytest.raises(UserError) as refused:
            procedure.submit_data(ctx, _as(ctx, "pppomn"), dataset_id=DATASET,
                                  level=Level.TERBATAS, filename="nasional.csv", content=content)
        assert refused.value.key == "system.disk_full"
        assert "disk" in refused.value.text("id") and "disk" in refused.value.text("en")
        assert (_everything(ctx), _kept_files(ctx)) == (before, files)
        small_disk.free()
        sent = procedure.submit_data(ctx, _as(ctx, "pppomn"), dataset_id=DATASET,
                                     level=Level.TERBATAS, filename="nasional.csv", content=content)
        assert procedure.upload_path(ctx, sent).read_bytes() == content
    finally:
        ctx.engine.dispose()


@pytest.mark.parametrize("call", ["approve", "build"])
def test_a_full_disk_refuses_a_step_with_a_message_and_changes_nothing(
    small_disk: SmallDisk, call: str
) -> None:
    ctx = open_context(settings_for(small_disk.home), CLOCK)
    try:
        ((request_id, head),) = _in_review(ctx, 1)
        if call == "build":
            _approve(ctx, request_id, head)
        args = (request_id, head) if call == "approve" else (request_id,)
        before = _everything(ctx)
        small_disk.fill()
        with pytest.raises(UserError) as refused:
            CALLS[call](ctx, *args)
        assert refused.value.key == "system.disk_full"  # not "the store is busy"
        assert _everything(ctx) == before
        small_disk.free()
        CALLS[call](ctx, *args)
        step = APPROVE if call == "approve" else BUILD
        assert step.state(ctx, request_id, head) == "after"
        store_is_sound(ctx)
    finally:
        ctx.engine.dispose()


def test_a_disk_filling_up_after_the_merge_is_repaired_once_there_is_room(
    small_disk: SmallDisk,
) -> None:
    """The approval is merged, then the disk is full before the database commits: the reviewer
    is told the disk is full, and once there is room again the next page run completes it."""
    ctx = open_context(settings_for(small_disk.home), CLOCK)
    try:
        ((request_id, head),) = _in_review(ctx, 1)
        with ctx.engine.connect() as connection:  # the database's next commit needs new blocks
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        child = Child.start(ctx, "approve", (request_id, head), stop_at=("named", "approve.merged"))
        try:
            assert child.next_report()[:2] == ("stopped", "approve.merged")
            small_disk.fill()
            child.resume()
            report = child.next_report()
        finally:
            child.kill()
        assert report[:2] == ("refused", "system.disk_full"), report
        assert APPROVE.state(ctx, request_id, head) == "between"
        small_disk.free()
        assert procedure.reconcile_main(ctx) == 1
        assert APPROVE.state(ctx, request_id, head) == "after"
        assert _approve(ctx, request_id, head) == main_commits(ctx, request_id, 5)[0]
    finally:
        ctx.engine.dispose()


def test_the_next_page_run_takes_in_an_approval_that_main_holds(app, demo_home: Path) -> None:  # noqa: ANN001
    """The app is running; an approval dies after its merge. The next page anyone opens brings
    the database up to date, so the analyst finds the request waiting to be built."""
    from tests.test_app import _login

    ctx = open_context(settings_for(demo_home), CLOCK)
    try:
        ((request_id, head),) = _in_review(ctx, 1)
        report = run_child(ctx, "approve", (request_id, head), ("named", "approve.merged"))
        assert report[:2] == ("stopped", "approve.merged")
        assert APPROVE.state(ctx, request_id, head) == "between"
        at = _login(app, "analis")
        assert not at.exception, at.exception
        assert APPROVE.state(ctx, request_id, head) == "after"
        at.switch_page("pages/bangun.py").run()
        assert not at.exception, at.exception
        assert f"#{request_id} · Dasbor uji 0" in at.selectbox[0].options
    finally:
        ctx.engine.dispose()
