"""The points an operator's audit hook sees in each use case that writes in several places (the
file store, Git, the database): the crash tests of ``test_atomic.py`` stop a process at these
names, so a renamed or missing mark would leave a crash window untested."""

from __future__ import annotations

import sys
from collections.abc import Callable

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.bootstrap import demo_sampling_frame, demo_upt_code

_MARKS: list[str] | None = None
_LISTENING = False


def _listen(event: str, args: tuple) -> None:
    if event == "ocenter.checkpoint" and _MARKS is not None:
        _MARKS.append(args[0])


def marks_of(run: Callable[[], object], prefix: str) -> list[str]:
    """The checkpoints ``run`` passes whose names start with ``prefix``, in order."""
    global _MARKS, _LISTENING
    if not _LISTENING:  # audit hooks stay for the process: add this one once, idle outside here
        sys.addaudithook(_listen)
        _LISTENING = True
    _MARKS = []
    try:
        run()
        return [m for m in _MARKS if m.startswith(prefix)]
    finally:
        _MARKS = None


def test_accepting_data_marks_each_place_it_writes_in_order(demo_ctx, as_user):
    verifier = as_user("verifikator")
    frame = demo_sampling_frame(demo_ctx.clock.today(), months=2)
    rows = frame[frame["kode_upt"] == demo_upt_code()].head(20).to_csv(index=False).encode()
    sent = procedure.submit_data(demo_ctx, as_user("upt"), dataset_id="sampling-pengujian",
                                 level=Level.TERBATAS, filename="kiriman.csv", content=rows)
    procedure.receive_submission(demo_ctx, verifier, sent.id)
    procedure.check_submission(demo_ctx, verifier, sent.id)
    assert marks_of(lambda: procedure.decide_submission(demo_ctx, verifier, sent.id, accept=True,
                                                        note="Sesuai."), "decide.") == [
        "decide.deciding", "decide.held", "decide.files_kept", "decide.recorded"]


def test_starting_a_mock_up_marks_the_branch_made_before_the_database_moves(demo_ctx, as_user):
    analyst = as_user("analis")
    request = procedure.file_request(
        demo_ctx, as_user("unit"), title="Tanda", purpose="Rapat.", level=Level.TERBATAS,
        datasets_wanted=["sampling-pengujian"], audience=[])
    procedure.state_no_new_data(demo_ctx, analyst, request.id, "Data sampling sudah diterima.")
    assert marks_of(lambda: procedure.start_mockup(demo_ctx, analyst, request.id), "mockup.") == [
        "mockup.branch_made"]
