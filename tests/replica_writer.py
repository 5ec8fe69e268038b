"""One replica's share of concurrent work, run as a process of its own by tests/test_replicas.py.

It opens its own context from the environment (its own OCENTER_HOME; the database, store and
bucket shared), waits for the start signal, sends its uploads, approves the demo mock-up, then
verifies and accepts the uploads the other replica sent, and prints what happened as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import demo_sampling_frame, demo_upt_code
from ocenter.config import load_settings
from ocenter.context import open_context
from ocenter.errors import UserError

DATASET = "sampling-pengujian"
UPLOADS_EACH = 3
ROWS_EACH = 5


def _wait_for(path: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.05)


def main(index: int, meeting: Path) -> None:
    ctx = open_context(load_settings())
    who = {name: authority_of(ctx.engine, name, production=False)
           for name in ("upt", "unit", "verifikator")}
    frame = demo_sampling_frame(date(2026, 11, 30), months=2)
    frame = frame[frame["kode_upt"] == demo_upt_code()].reset_index(drop=True)
    _wait_for(meeting / "start")
    sent = []
    for n in range(UPLOADS_EACH):
        start = (index * UPLOADS_EACH + n) * ROWS_EACH
        content = frame.iloc[start:start + ROWS_EACH].to_csv(index=False).encode()
        sent.append(procedure.submit_data(ctx, who["upt"], dataset_id=DATASET, level=Level.TERBATAS,
                                          filename=f"replika-{index}-{n}.csv", content=content).id)
    (meeting / f"sent-{index}.json").write_text(json.dumps(sent))
    try:
        reviewed = ctx.store.head(ctx.store.mockup_branch(2))
        approval = {"merge": procedure.approve_mockup(ctx, who["unit"], 2, reviewed)}
    except UserError as refused:
        approval = {"refused": refused.key}
    other = meeting / f"sent-{1 - index}.json"
    _wait_for(other)
    decided = {}
    for submission_id in json.loads(other.read_text()):
        procedure.receive_submission(ctx, who["verifikator"], submission_id)
        report = procedure.check_submission(ctx, who["verifikator"], submission_id)
        status = procedure.decide_submission(ctx, who["verifikator"], submission_id,
                                             accept=report.valid, note="Sesuai.").status.value
        decided[submission_id] = status
    print(json.dumps({"sent": sent, "approval": approval, "decided": decided}))
    ctx.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
