"""Steps 6-8 on main, after the unit approves the demo's mock-up (request 2): each step is one
commit by the analyst that names its request and step, each is logged with that commit, and
setting the default data again does not restart the display's clock."""

from __future__ import annotations

import subprocess

import pytest
from sqlmodel import Session

from ocenter import procedure
from ocenter.accounts.levels import Tier
from ocenter.display.spec import DefaultView
from ocenter.errors import Conflict, NotFound
from ocenter.models import DashboardRequest, RequestStatus

APPROVED = 2
DASHBOARD = "tren-temuan-kosmetik"


@pytest.fixture
def approved(demo_ctx, as_user) -> int:
    procedure.approve_mockup(demo_ctx, as_user("unit"), APPROVED,
                             demo_ctx.store.head(demo_ctx.store.mockup_branch(APPROVED)))
    return APPROVED


def commit_of(ctx, rev: str, fmt: str) -> str:  # noqa: ANN001
    return subprocess.run(["git", "--git-dir", str(ctx.settings.store_path), "log", "-1",
                           f"--format={fmt}", rev], capture_output=True, text=True,
                          check=True).stdout.strip()


def logged(ctx, action: str):  # noqa: ANN001, ANN201
    [event] = [e for e in procedure.events(ctx, APPROVED) if e.action == action]
    return event


def test_each_step_on_main_is_a_commit_naming_its_request_and_step(demo_ctx, as_user, approved):
    analyst = as_user("analis")
    approved_spec = demo_ctx.store.snapshot("main").specs[DASHBOARD]
    steps = [
        (6, "dashboard.built", "Bangun dasbor",
         lambda: procedure.build_dashboard(demo_ctx, analyst, approved)),
        (7, "dashboard.classified", "Klasifikasi data bawaan",
         lambda: procedure.classify_defaults(demo_ctx, analyst, approved,
                                             [DefaultView(tier=Tier.KEPALA_UPT, months=6)])),
        (8, "dashboard.displayed", "Tayangkan dasbor",
         lambda: procedure.put_on_display(demo_ctx, analyst, approved)),
    ]
    for step, action, subject, run in steps:
        commit = run()
        assert demo_ctx.store.head() == commit
        assert commit_of(demo_ctx, commit, "%s") == f"{subject} {DASHBOARD}"
        assert commit_of(demo_ctx, commit, "%an") == "Analis Data Pusdatin"
        trailers = commit_of(demo_ctx, commit, "%(trailers:only,unfold)").splitlines()
        decided = [t for t in trailers if t.startswith("Decided-at: ")]  # main is the record
        assert len(decided) == 1
        assert [t for t in trailers if t not in decided] == [
            f"Request: {approved}", f"Step: {step}", "Change-kind: main"]
        event = logged(demo_ctx, action)
        assert (event.step, event.actor, event.detail) == (step, "analis", commit)
    main = demo_ctx.store.snapshot("main")
    shown = main.lifecycle_of(DASHBOARD)  # steps 6-8 live in lifecycle/<id>.yaml, not the spec
    assert shown.built and shown.classified and shown.on_display
    assert shown.default_for(Tier.KEPALA_UPT).months == 6
    assert DASHBOARD in main.displayed_specs() and main.specs[DASHBOARD] == approved_spec
    assert procedure.get_request(demo_ctx, approved).status == RequestStatus.DISPLAYED


def test_defaults_may_be_set_again_before_display_without_restarting_the_clock(
    demo_ctx, as_user, approved
):
    analyst = as_user("analis")
    procedure.build_dashboard(demo_ctx, analyst, approved)
    procedure.classify_defaults(demo_ctx, analyst, approved, [DefaultView(tier=Tier.KEPALA_UPT, months=6)])
    with Session(demo_ctx.engine) as session:
        started = session.get(DashboardRequest, approved).step_started_at
    procedure.classify_defaults(demo_ctx, analyst, approved, [DefaultView(tier=Tier.KEPALA_UPT, months=3)])
    with Session(demo_ctx.engine) as session:
        request = session.get(DashboardRequest, approved)
        assert (request.status, request.step_started_at) == (RequestStatus.CLASSIFIED, started)
    assert demo_ctx.store.snapshot("main").lifecycle_of(DASHBOARD).default_for(Tier.KEPALA_UPT).months == 3


def test_steps_on_main_keep_their_order(demo_ctx, as_user, approved):
    analyst = as_user("analis")
    for premature in (procedure.put_on_display,
                      lambda c, a, r: procedure.classify_defaults(c, a, r, [])):
        with pytest.raises(Conflict) as refused:
            premature(demo_ctx, analyst, approved)
        assert refused.value.key == "procedure.wrong_status"
    built = procedure.build_dashboard(demo_ctx, analyst, approved)
    # Pressed again, the step is recognised as done: the same commit, main does not move.
    assert procedure.build_dashboard(demo_ctx, analyst, approved) == built
    assert demo_ctx.store.head() == built


def test_a_step_on_main_needs_the_dashboard_on_main(demo_ctx, as_user, approved):
    main = demo_ctx.store.snapshot("main")
    demo_ctx.store.commit_to_main({f"specs/{DASHBOARD}.yaml": None}, procedure.author_of(
        demo_ctx, as_user("analis")), main.commit, "Hapus dasbor", {})
    with pytest.raises(NotFound) as missing:
        procedure.build_dashboard(demo_ctx, as_user("analis"), approved)
    assert missing.value.key == "procedure.dashboard_missing"
    assert missing.value.params == {"dashboard": DASHBOARD}
    assert procedure.get_request(demo_ctx, approved).status == RequestStatus.APPROVED


# --- a step already taken: the same analyst again, a colleague, or a later step --------------


def _second_analyst(ctx) -> None:  # noqa: ANN001
    from ocenter.accounts.admin import add_user
    from ocenter.accounts.levels import Level, Role, ScopeKind

    add_user(ctx, None, username="analis2", name="Analis Kedua", role=Role.ANALIS,
             clearance=Level.RAHASIA, scope=ScopeKind.BPOM, unit_code="PUSDATIN",
             password="kata-sandi-panjang")


def _steps(ctx, analyst, request_id: int) -> dict:  # noqa: ANN001
    return {
        6: lambda: procedure.build_dashboard(ctx, analyst, request_id),
        7: lambda: procedure.classify_defaults(ctx, analyst, request_id,
                                               [DefaultView(tier=Tier.KEPALA_UPT, months=6)]),
        8: lambda: procedure.put_on_display(ctx, analyst, request_id),
    }


@pytest.mark.parametrize("step, key", [(6, "decided.built"), (8, "decided.displayed")])
def test_a_colleague_taking_a_step_already_taken_is_told_who_took_it(
    demo_ctx, as_user, approved, step, key
):
    from dataclasses import replace

    from ocenter.clock import FixedClock

    _second_analyst(demo_ctx)
    ctx = replace(demo_ctx, clock=FixedClock.wib(2026, 12, 3, 10, 20))
    mine = _steps(ctx, as_user("analis"), approved)
    for earlier in range(6, step + 1):
        taken = mine[earlier]()
    head = ctx.store.head()
    with pytest.raises(Conflict) as colleague:
        _steps(ctx, as_user("analis2"), approved)[step]()
    assert colleague.value.key == key
    assert colleague.value.params == {"name": "Analis Data Pusdatin", "username": "analis",
                                      "when": "2026-12-03 10:20 WIB", "request": approved}
    assert ctx.store.head() == head == taken
    # The analyst who took it, pressing again, gets its commit back: nothing is written.
    assert mine[step]() == taken and ctx.store.head() == head


def test_an_earlier_step_pressed_again_after_a_later_one_is_refused(demo_ctx, as_user, approved):
    analyst = as_user("analis")
    steps = _steps(demo_ctx, analyst, approved)
    steps[6]()
    steps[7]()
    head = demo_ctx.store.head()
    with pytest.raises(Conflict) as later:
        steps[6]()
    assert later.value.key == "decided.built"
    assert later.value.params["username"] == "analis"
    assert demo_ctx.store.head() == head
    assert procedure.get_request(demo_ctx, approved).status == RequestStatus.CLASSIFIED


def test_defaults_set_again_unchanged_record_nothing_new(demo_ctx, as_user, approved):
    steps = _steps(demo_ctx, as_user("analis"), approved)
    steps[6]()
    classified = steps[7]()
    events = [e.id for e in procedure.events(demo_ctx, approved)]
    assert steps[7]() == classified  # the same defaults: the step's own commit, main unmoved
    assert demo_ctx.store.head() == classified
    assert [e.id for e in procedure.events(demo_ctx, approved)] == events


def test_a_step_whose_record_already_says_it_is_still_committed(demo_ctx, as_user, approved):
    from ocenter.display.lifecycle import lifecycle_to_yaml
    from ocenter.store.names import lifecycle_path

    main = demo_ctx.store.snapshot("main")
    marked = main.lifecycle_of(DASHBOARD).model_copy(update={"built": True})
    demo_ctx.store.commit_to_main({lifecycle_path(DASHBOARD): lifecycle_to_yaml(marked)},
                                  procedure.author_of(demo_ctx, as_user("analis")), main.commit,
                                  "Catatan dasbor", {})
    before = demo_ctx.store.head()
    built = procedure.build_dashboard(demo_ctx, as_user("analis"), approved)
    assert built != before and commit_of(demo_ctx, built, "%P") == before  # an empty commit
    assert procedure.get_request(demo_ctx, approved).status == RequestStatus.BUILT
    [decided] = [e for e in procedure.events(demo_ctx, approved) if e.action == "dashboard.built"]
    assert decided.detail == built


_CHECKPOINTS: list[str] | None = None
_LISTENING = False  # audit hooks cannot be removed: one per process, even when pytest runs twice


def _listen(event: str, args: tuple) -> None:
    if event == "ocenter.checkpoint" and _CHECKPOINTS is not None:
        _CHECKPOINTS.append(args[0])


def test_each_step_on_main_marks_its_checkpoints_for_an_operators_audit_hook(
    demo_ctx, as_user, approved
):
    import sys

    global _CHECKPOINTS, _LISTENING
    if not _LISTENING:  # audit hooks stay for the process; _listen is idle outside here
        sys.addaudithook(_listen)
        _LISTENING = True
    _CHECKPOINTS = []
    try:
        for step, run in _steps(demo_ctx, as_user("analis"), approved).items():
            _CHECKPOINTS.clear()
            run()
            # The step's own marks, in order (other writes may mark points of their own).
            assert [c for c in _CHECKPOINTS if str(c).startswith(f"step{step}.")] == [
                f"step{step}.checked", f"step{step}.committed", f"step{step}.recorded"]
    finally:
        _CHECKPOINTS = None
